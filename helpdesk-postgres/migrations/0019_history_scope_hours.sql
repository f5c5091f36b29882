-- A user's or an agent's last-7-days report counted every event of the window among the
-- scope's tickets (an agent's 3,334 tickets probed one by one: 6.7 ms a request, 329 requests
-- a second under load). It now sums counts per user, side and hour, as everyone's report sums
-- `history_hours`: the events each user's raised tickets, assigned tickets and tickets both
-- raised and held (the sides of `ticket_tallies`) had in each hour, and counts only the events
-- of the window's first hour.
--
-- An event's scope is its ticket's creator and assignee now, not when it was written, so
-- besides the statements that write history, a change of a ticket's creator or assignee moves
-- its events from the old sides to the new (in the tickets' tally trigger, which already finds
-- those tickets), and a ticket's deletion takes its events away before they go (a row trigger
-- before it: the events are deleted after the ticket, when neither is there to read). The
-- writes that add counted events update or insert their ticket first in the same transaction,
-- so the ticket row they read is the one their transaction holds locked.
LOCK TABLE tickets, history IN SHARE MODE;

-- The sides a ticket raised by `created_by` and held by `assigned_to` counts on.
CREATE FUNCTION ticket_sides(created_by bigint, assigned_to bigint)
RETURNS TABLE (user_id bigint, side text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT s.user_id, s.side FROM (VALUES
        (created_by, 'raised'),
        (assigned_to, 'assigned'),
        (CASE WHEN assigned_to = created_by THEN created_by END, 'both')
    ) AS s (user_id, side)
    WHERE s.user_id IS NOT NULL
$$;

CREATE TABLE history_scope_hours_folded (
    user_id bigint NOT NULL,
    side    text   NOT NULL CHECK (side IN ('raised', 'assigned', 'both')),
    hour    bigint NOT NULL,
    kind    text   NOT NULL CHECK (kind IN ('created', 'resolved', 'escalated')),
    n       bigint NOT NULL,
    PRIMARY KEY (user_id, side, hour, kind) INCLUDE (n)
);
CREATE TABLE history_scope_hour_changes (
    user_id bigint NOT NULL, side text NOT NULL, hour bigint NOT NULL, kind text NOT NULL,
    n bigint NOT NULL
);
CREATE INDEX history_scope_hour_changes_user ON history_scope_hour_changes (user_id);
CREATE VIEW history_scope_hours (user_id, side, hour, kind, n) AS
    SELECT user_id, side, hour, kind, n FROM history_scope_hours_folded
    UNION ALL SELECT user_id, side, hour, kind, n FROM history_scope_hour_changes;

INSERT INTO history_scope_hours_folded (user_id, side, hour, kind, n)
SELECT s.user_id, s.side, history_hour(h.at), history_counted(h.kind, h.to_value), count(*)
FROM history h
JOIN tickets t ON t.id = h.ticket_id
CROSS JOIN LATERAL ticket_sides(t.created_by, t.assigned_to) AS s
WHERE history_counted(h.kind, h.to_value) IS NOT NULL
GROUP BY 1, 2, 3, 4;

-- Moves every committed change into the folded counts, everyone's and each scope's.
CREATE OR REPLACE FUNCTION history_hours_fold() RETURNS void LANGUAGE sql AS $$
    WITH moved AS (DELETE FROM history_hour_changes RETURNING hour, kind, n)
    INSERT INTO history_hours_folded AS f (hour, kind, n)
    SELECT hour, kind, sum(n) FROM moved GROUP BY hour, kind
    ON CONFLICT (hour, kind) DO UPDATE SET n = f.n + excluded.n;
    WITH moved AS (
        DELETE FROM history_scope_hour_changes RETURNING user_id, side, hour, kind, n
    )
    INSERT INTO history_scope_hours_folded AS f (user_id, side, hour, kind, n)
    SELECT user_id, side, hour, kind, sum(n) FROM moved GROUP BY user_id, side, hour, kind
    ON CONFLICT (user_id, side, hour, kind) DO UPDATE SET n = f.n + excluded.n;
$$;

-- Adds the changes of one statement that writes history, for everyone and for the sides of
-- each event's ticket: +1 an event it inserted, -1 an event it deleted (with its ticket, the
-- ticket is gone and the scopes lose nothing here: see `history_scope_hours_deleted`), both
-- for an event it changed; then folds every 64th time, or at once after a statement that
-- added more than `history_scope_hours_many()` rows of changes (a bulk import left 100,000
-- for the next writer's fold, which took 2 s, and the reports read them all meanwhile).
CREATE FUNCTION history_scope_hours_many() RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 256;

CREATE OR REPLACE FUNCTION history_hours_counted() RETURNS trigger
LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    added bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO history_hour_changes (hour, kind, n)
        SELECT history_hour(at), history_counted(kind, to_value), count(*) FROM new_rows
        WHERE history_counted(kind, to_value) IS NOT NULL GROUP BY 1, 2;
        INSERT INTO history_scope_hour_changes (user_id, side, hour, kind, n)
        SELECT s.user_id, s.side, history_hour(e.at), history_counted(e.kind, e.to_value),
               count(*)
        FROM new_rows e
        JOIN tickets t ON t.id = e.ticket_id
        CROSS JOIN LATERAL ticket_sides(t.created_by, t.assigned_to) AS s
        WHERE history_counted(e.kind, e.to_value) IS NOT NULL
        GROUP BY 1, 2, 3, 4;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO history_hour_changes (hour, kind, n)
        SELECT history_hour(at), history_counted(kind, to_value), -count(*) FROM old_rows
        WHERE history_counted(kind, to_value) IS NOT NULL GROUP BY 1, 2;
        INSERT INTO history_scope_hour_changes (user_id, side, hour, kind, n)
        SELECT s.user_id, s.side, history_hour(e.at), history_counted(e.kind, e.to_value),
               -count(*)
        FROM old_rows e
        JOIN tickets t ON t.id = e.ticket_id
        CROSS JOIN LATERAL ticket_sides(t.created_by, t.assigned_to) AS s
        WHERE history_counted(e.kind, e.to_value) IS NOT NULL
        GROUP BY 1, 2, 3, 4;
    ELSE
        INSERT INTO history_hour_changes (hour, kind, n)
        SELECT hour, kind, sum(n) FROM (
            SELECT history_hour(at), history_counted(kind, to_value), 1 FROM new_rows
            UNION ALL
            SELECT history_hour(at), history_counted(kind, to_value), -1 FROM old_rows
        ) AS c (hour, kind, n)
        WHERE kind IS NOT NULL
        GROUP BY hour, kind
        HAVING sum(n) <> 0;
        INSERT INTO history_scope_hour_changes (user_id, side, hour, kind, n)
        SELECT s.user_id, s.side, history_hour(e.at), history_counted(e.kind, e.to_value),
               sum(e.n)
        FROM (
            SELECT ticket_id, at, kind, to_value, 1 FROM new_rows
            UNION ALL
            SELECT ticket_id, at, kind, to_value, -1 FROM old_rows
        ) AS e (ticket_id, at, kind, to_value, n)
        JOIN tickets t ON t.id = e.ticket_id
        CROSS JOIN LATERAL ticket_sides(t.created_by, t.assigned_to) AS s
        WHERE history_counted(e.kind, e.to_value) IS NOT NULL
        GROUP BY 1, 2, 3, 4
        HAVING sum(e.n) <> 0;
    END IF;
    GET DIAGNOSTICS added = ROW_COUNT;
    IF (nextval('history_hour_statements') % 64 = 0 OR added > history_scope_hours_many())
       AND pg_try_advisory_xact_lock(hashtext('helpdesk history hours'), 0) THEN
        PERFORM history_hours_fold();
    END IF;
    RETURN NULL;
END
$$;

-- A ticket about to be deleted takes its events from its sides.
CREATE FUNCTION history_scope_hours_deleted() RETURNS trigger
LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    INSERT INTO history_scope_hour_changes (user_id, side, hour, kind, n)
    SELECT s.user_id, s.side, history_hour(h.at), history_counted(h.kind, h.to_value),
           -count(*)
    FROM history h
    CROSS JOIN LATERAL ticket_sides(OLD.created_by, OLD.assigned_to) AS s
    WHERE h.ticket_id = OLD.id AND history_counted(h.kind, h.to_value) IS NOT NULL
    GROUP BY 1, 2, 3, 4;
    RETURN OLD;
END
$$;

CREATE TRIGGER history_scope_hours_delete BEFORE DELETE ON tickets
FOR EACH ROW EXECUTE FUNCTION history_scope_hours_deleted();

-- The tickets' tallies as before (0012); a statement that changes tickets' creators or
-- assignees also moves those tickets' events from their old sides to their new ones (folded at
-- once when they are many). The changed tickets are found once for both.
CREATE OR REPLACE FUNCTION tickets_tallied() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    changed bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ticket_tally_changes (user_id, side, n)
        SELECT created_by, 'raised', count(*) FROM new_rows GROUP BY created_by
        UNION ALL SELECT assigned_to, 'assigned', count(*) FROM new_rows
        WHERE assigned_to IS NOT NULL GROUP BY assigned_to
        UNION ALL SELECT created_by, 'both', count(*) FROM new_rows
        WHERE assigned_to = created_by GROUP BY created_by;
        INSERT INTO ticket_status_changes (status, priority, n)
        SELECT status, priority, count(*) FROM new_rows GROUP BY status, priority;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO ticket_tally_changes (user_id, side, n)
        SELECT created_by, 'raised', -count(*) FROM old_rows GROUP BY created_by
        UNION ALL SELECT assigned_to, 'assigned', -count(*) FROM old_rows
        WHERE assigned_to IS NOT NULL GROUP BY assigned_to
        UNION ALL SELECT created_by, 'both', -count(*) FROM old_rows
        WHERE assigned_to = created_by GROUP BY created_by;
        INSERT INTO ticket_status_changes (status, priority, n)
        SELECT status, priority, -count(*) FROM old_rows GROUP BY status, priority;
    ELSE
        WITH moved AS MATERIALIZED (
            SELECT r.id, s.user_id, s.side, s.n
            FROM old_rows AS o JOIN new_rows AS r ON r.id = o.id
            CROSS JOIN LATERAL (
                SELECT user_id, side, -1 FROM ticket_sides(o.created_by, o.assigned_to)
                UNION ALL
                SELECT user_id, side, 1 FROM ticket_sides(r.created_by, r.assigned_to)
            ) AS s (user_id, side, n)
            WHERE o.created_by <> r.created_by OR o.assigned_to IS DISTINCT FROM r.assigned_to
        ), tallied AS (
            INSERT INTO ticket_tally_changes (user_id, side, n)
            SELECT user_id, side, sum(n) FROM moved
            GROUP BY user_id, side
            HAVING sum(n) <> 0
        )
        INSERT INTO history_scope_hour_changes (user_id, side, hour, kind, n)
        SELECT m.user_id, m.side, history_hour(h.at), history_counted(h.kind, h.to_value),
               sum(m.n)
        FROM moved m
        JOIN history h ON h.ticket_id = m.id
        WHERE history_counted(h.kind, h.to_value) IS NOT NULL
        GROUP BY 1, 2, 3, 4
        HAVING sum(m.n) <> 0;
        GET DIAGNOSTICS changed = ROW_COUNT;
        IF changed > history_scope_hours_many()
           AND pg_try_advisory_xact_lock(hashtext('helpdesk history hours'), 0) THEN
            PERFORM history_hours_fold();
        END IF;
        INSERT INTO ticket_status_changes (status, priority, n)
        SELECT status, priority, sum(n) FROM (
            SELECT status, priority, count(*) FROM new_rows GROUP BY status, priority
            UNION ALL
            SELECT status, priority, -count(*) FROM old_rows GROUP BY status, priority
        ) AS c (status, priority, n)
        GROUP BY status, priority
        HAVING sum(n) <> 0;
    END IF;
    IF nextval('ticket_tally_statements') % 64 = 0
       AND pg_try_advisory_xact_lock(hashtext('helpdesk ticket tallies'), 0) THEN
        PERFORM ticket_tallies_fold();
    END IF;
    RETURN NULL;
END
$$;
