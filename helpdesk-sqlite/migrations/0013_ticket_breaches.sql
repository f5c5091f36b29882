-- Tickets with a breached target, in creation order: `?breached=true` walked every ticket
-- from the newest until it had a page, and counted by reading every row (50 ms at 134,000
-- tickets, 30,000 of them breached; 0.2 ms from this index). The sweep adds an entry for each
-- ticket it escalates, within the noise of its `UPDATE`.
CREATE INDEX tickets_breached ON tickets (created_at)
WHERE update_breached_at IS NOT NULL OR resolve_breached_at IS NOT NULL;
