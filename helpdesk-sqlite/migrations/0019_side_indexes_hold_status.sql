-- The indexes of each user's tickets (raised, assigned) hold the ticket's status too, so a
-- user's or an agent's list filtered by status, and everyone's filtered by an assignee (or
-- nobody) and a status, count their matches and test each ticket without reading it (an
-- agent's `?status=open` among 3,334 tickets read all 3,334 rows for its count; `?status=open&
-- assigned_to=none` read the 20,000 open tickets). The sweep's escalations now change an entry
-- of each index besides those of the status and time indexes.
DROP INDEX tickets_created_by;
CREATE INDEX tickets_created_by ON tickets (created_by, created_at, priority, status);
DROP INDEX tickets_assigned_to;
CREATE INDEX tickets_assigned_to ON tickets (assigned_to, created_at, priority, status);
