-- The service-level report for a user or an agent: their answered tickets raised in a window,
-- for the median first response, come from these partial indexes, one per side, as their
-- resolutions do (`0016_scope_resolutions.sql`). Tickets not answered yet (every new one)
-- have no entry.
CREATE INDEX tickets_answered_assigned
    ON tickets (assigned_to, created_at, priority, first_response_seconds)
    WHERE first_response_seconds IS NOT NULL;
CREATE INDEX tickets_answered_created
    ON tickets (created_by, created_at, priority, first_response_seconds, assigned_to)
    WHERE first_response_seconds IS NOT NULL;
