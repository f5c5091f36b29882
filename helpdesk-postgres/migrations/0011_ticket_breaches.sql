-- Tickets with a breached target, in creation order: `?breached=true` read every ticket to
-- count them and again for its page (96 ms at 153,000 tickets, 10,000 of them breached; 3 to
-- 5 ms from this index). The sweep adds an entry for each ticket it escalates.
CREATE INDEX tickets_breached ON tickets (created_at, id)
WHERE update_breached_at IS NOT NULL OR resolve_breached_at IS NOT NULL;
