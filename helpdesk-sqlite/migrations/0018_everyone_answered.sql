-- Everyone's service-level report counts the answered tickets of each priority raised in a
-- window as a range each of this index, as it counts the tickets raised from
-- `tickets (priority, created_at)`. Before, the count tested the creation time of every
-- answered ticket while walking `tickets_first_response`. Tickets not answered yet (every new
-- one) have no entry.
CREATE INDEX tickets_answered ON tickets (priority, created_at)
    WHERE first_response_seconds IS NOT NULL;
