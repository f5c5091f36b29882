-- How many tickets each user raised, has assigned, and both at once, kept by triggers, so
-- that an unfiltered list of a user's or an agent's tickets reads its count here instead of
-- stepping through every index entry (an agent's 3,334 tickets: 70 µs a request). Status
-- changes do not touch it: the sweep's thousands of escalations cost nothing more. A rebuild
-- of `tickets` must recreate these triggers, like the search triggers.
CREATE TABLE ticket_tallies (
    user_id INTEGER NOT NULL,
    side    TEXT NOT NULL CHECK (side IN ('raised', 'assigned', 'both')),
    n       INTEGER NOT NULL,
    PRIMARY KEY (user_id, side)
) WITHOUT ROWID;

INSERT INTO ticket_tallies (user_id, side, n)
SELECT created_by, 'raised', count(*) FROM tickets GROUP BY created_by
UNION ALL
SELECT assigned_to, 'assigned', count(*) FROM tickets WHERE assigned_to IS NOT NULL
GROUP BY assigned_to
UNION ALL
SELECT created_by, 'both', count(*) FROM tickets WHERE assigned_to = created_by
GROUP BY created_by;

CREATE TRIGGER ticket_tallies_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_tallies (user_id, side, n)
    SELECT new.created_by, 'raised', 1 WHERE true
    UNION ALL SELECT new.assigned_to, 'assigned', 1 WHERE new.assigned_to IS NOT NULL
    UNION ALL SELECT new.created_by, 'both', 1 WHERE new.assigned_to = new.created_by
    ON CONFLICT (user_id, side) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER ticket_tallies_delete AFTER DELETE ON tickets BEGIN
    UPDATE ticket_tallies SET n = n - 1
    WHERE (user_id = old.created_by AND side = 'raised')
       OR (user_id = old.assigned_to AND side = 'assigned')
       OR (user_id = old.created_by AND side = 'both' AND old.assigned_to = old.created_by);
END;

CREATE TRIGGER ticket_tallies_update AFTER UPDATE OF created_by, assigned_to ON tickets
WHEN old.created_by IS NOT new.created_by OR old.assigned_to IS NOT new.assigned_to BEGIN
    UPDATE ticket_tallies SET n = n - 1
    WHERE (user_id = old.created_by AND side = 'raised')
       OR (user_id = old.assigned_to AND side = 'assigned')
       OR (user_id = old.created_by AND side = 'both' AND old.assigned_to = old.created_by);
    INSERT INTO ticket_tallies (user_id, side, n)
    SELECT new.created_by, 'raised', 1 WHERE true
    UNION ALL SELECT new.assigned_to, 'assigned', 1 WHERE new.assigned_to IS NOT NULL
    UNION ALL SELECT new.created_by, 'both', 1 WHERE new.assigned_to = new.created_by
    ON CONFLICT (user_id, side) DO UPDATE SET n = n + 1;
END;
