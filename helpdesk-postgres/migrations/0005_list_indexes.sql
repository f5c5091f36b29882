-- Every list ordering and the status filter read their page from an index, stopping after it,
-- instead of sorting every matching ticket.
CREATE INDEX tickets_status ON tickets (status, created_at, id);
CREATE INDEX tickets_updated_at ON tickets (updated_at, id);
-- Serves both `?priority=` (newest first) and `ordering=priority`.
CREATE INDEX tickets_priority ON tickets (priority, created_at, id);
-- `due_at` orders put tickets without a due time last in both directions; the ascending index
-- also serves the escalation sweep (the tickets due by now) and replaces its partial index.
DROP INDEX tickets_sweep;
CREATE INDEX tickets_due_at ON tickets (due_at, id);
CREATE INDEX tickets_due_at_desc ON tickets (due_at DESC NULLS LAST, id DESC);
-- Scoped reports (an agent's, a user's) read the events of the tickets in scope from this
-- index alone, without a lookup per event.
DROP INDEX history_ticket;
CREATE INDEX history_ticket ON history (ticket_id, at, kind, to_value);
