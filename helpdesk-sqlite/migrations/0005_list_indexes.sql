-- Every list ordering and the status filter read their page from an index, stopping after it,
-- instead of sorting every matching ticket. Rowids break ties, as `id` does in ORDER BY.
CREATE INDEX tickets_status ON tickets (status, created_at);
CREATE INDEX tickets_updated_at ON tickets (updated_at);
-- Serves both `?priority=` (newest first) and `ordering=priority`.
CREATE INDEX tickets_priority ON tickets (priority, created_at);
-- One index on `due_at` serves the escalation sweep (the tickets due by now) and both `due_at`
-- orders, tickets without a due time last (SQLite reads `NULLS LAST` from it in either
-- direction); it replaces the sweep's partial index, so an escalation updates one entry.
DROP INDEX tickets_sweep;
CREATE INDEX tickets_due_at ON tickets (due_at);
-- Scoped reports (an agent's, a user's) read the events of the tickets in scope from this
-- index alone, without a lookup per event.
DROP INDEX history_ticket;
CREATE INDEX history_ticket ON history (ticket_id, at, kind, to_value);
