-- The indexes of each user's tickets (raised, assigned) hold the ticket's priority, so a
-- user's or an agent's list filtered by priority counts its matches and tests each of their
-- tickets without reading it (an agent's `?priority=high` among 3,334 tickets: 3,334 rows
-- read for the count alone). The sweep changes none of these columns.
DROP INDEX tickets_created_by;
CREATE INDEX tickets_created_by ON tickets (created_by, created_at, priority);
DROP INDEX tickets_assigned_to;
CREATE INDEX tickets_assigned_to ON tickets (assigned_to, created_at, priority);
