-- wrk script of the load benchmark (benches/load.rs). Configured by environment variables:
--   HD_TOKEN        bearer token of the reads
--   HD_PATHS        space-separated paths; each read picks one at random
--   HD_WRITE_TOKEN  bearer token of the writes (POST /api/tickets/)
--   HD_WRITE_SHARE  share of requests that are writes, 0 to 1
--   HD_WRITES       what the writes are: "tickets" (POST /api/tickets/, the default),
--                   "comments" (a comment on one of HD_PATHS, ticket paths, at random) or
--                   "priorities" (a PATCH of one of HD_PATHS' priority, one of three at random)
-- `done` prints one JSON line that the benchmark reads.

local token = os.getenv("HD_TOKEN")
local write_token = os.getenv("HD_WRITE_TOKEN") or token
local write_share = tonumber(os.getenv("HD_WRITE_SHARE") or "0")
local paths = {}
for path in string.gmatch(os.getenv("HD_PATHS") or "", "%S+") do
  paths[#paths + 1] = path
end
local body = '{"title": "Printer on floor 3 jams", '
  .. '"description": "Every print job stops with a paper jam.", "priority": "medium"}'
local writes = os.getenv("HD_WRITES") or "tickets"
local comment = '{"body": "Restarted the print spooler; please try again."}'
local priorities = {
  '{"priority": "low"}', '{"priority": "medium"}', '{"priority": "high"}',
}
local read_headers = { ["Authorization"] = "Bearer " .. token }
local write_headers = {
  ["Authorization"] = "Bearer " .. write_token,
  ["Content-Type"] = "application/json",
}

if #paths == 1 and write_share == 0 then
  -- One fixed request: let wrk build it once.
  wrk.path = paths[1]
  wrk.headers["Authorization"] = read_headers["Authorization"]
else
  function request()
    if write_share > 0 and math.random() < write_share then
      if writes == "comments" then
        local path = paths[math.random(#paths)] .. "comments/"
        return wrk.format("POST", path, write_headers, comment)
      elseif writes == "priorities" then
        local priority = priorities[math.random(#priorities)]
        return wrk.format("PATCH", paths[math.random(#paths)], write_headers, priority)
      end
      return wrk.format("POST", "/api/tickets/", write_headers, body)
    end
    return wrk.format("GET", paths[math.random(#paths)], read_headers)
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "failed": %d, "non_2xx": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
