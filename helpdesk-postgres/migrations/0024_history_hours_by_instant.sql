-- History's counts per hour without arithmetic per event or a scan of every ticket. The trigger
-- worked out each event's hour (`history_hour`, numeric division) and found each event's ticket
-- through a hash of all tickets, read in full: of the 190 ms in which the escalation sweep
-- claimed 10,000 tickets on the load benchmark's database, about 100 went here. Events are now
-- counted by instant first and their hour worked out once per instant (a sweep's events share
-- one), and each ticket is read by its key (`OFFSET 0` keeps the lookup a nested loop whatever
-- the row estimate): 16 ms and 22 ms instead of 16 ms and 80 ms for the two counts. An insert's
-- and a deletion's events are one table to the function (`written_rows`), counted up or down.
CREATE OR REPLACE FUNCTION history_hours_counted() RETURNS trigger
LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    added bigint;
    direction bigint := CASE TG_OP WHEN 'DELETE' THEN -1 ELSE 1 END;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO history_hour_changes (hour, kind, n)
        SELECT history_hour(at), kind, sum(n) FROM (
            SELECT at, history_counted(kind, to_value), sum(n) FROM (
                SELECT at, kind, to_value, 1 FROM new_rows
                UNION ALL
                SELECT at, kind, to_value, -1 FROM old_rows
            ) AS e (at, kind, to_value, n)
            GROUP BY 1, 2
        ) AS c (at, kind, n)
        WHERE kind IS NOT NULL
        GROUP BY 1, 2
        HAVING sum(n) <> 0;
        INSERT INTO history_scope_hour_changes (user_id, side, hour, kind, n)
        SELECT s.user_id, s.side, history_hour(c.at), c.kind, sum(c.n)
        FROM (
            SELECT t.created_by, t.assigned_to, e.at, history_counted(e.kind, e.to_value),
                   sum(e.n)
            FROM (
                SELECT ticket_id, at, kind, to_value, 1 FROM new_rows
                UNION ALL
                SELECT ticket_id, at, kind, to_value, -1 FROM old_rows
            ) AS e (ticket_id, at, kind, to_value, n)
            CROSS JOIN LATERAL (
                SELECT created_by, assigned_to FROM tickets WHERE id = e.ticket_id OFFSET 0
            ) AS t
            WHERE history_counted(e.kind, e.to_value) IS NOT NULL
            GROUP BY 1, 2, 3, 4
        ) AS c (created_by, assigned_to, at, kind, n)
        CROSS JOIN LATERAL ticket_sides(c.created_by, c.assigned_to) AS s
        GROUP BY 1, 2, 3, 4
        HAVING sum(c.n) <> 0;
    ELSE
        INSERT INTO history_hour_changes (hour, kind, n)
        SELECT history_hour(at), kind, direction * sum(n) FROM (
            SELECT at, history_counted(kind, to_value), count(*) FROM written_rows GROUP BY 1, 2
        ) AS c (at, kind, n)
        WHERE kind IS NOT NULL
        GROUP BY 1, 2;
        INSERT INTO history_scope_hour_changes (user_id, side, hour, kind, n)
        SELECT s.user_id, s.side, history_hour(c.at), c.kind, direction * sum(c.n)
        FROM (
            SELECT t.created_by, t.assigned_to, e.at, history_counted(e.kind, e.to_value),
                   count(*)
            FROM written_rows e
            CROSS JOIN LATERAL (
                SELECT created_by, assigned_to FROM tickets WHERE id = e.ticket_id OFFSET 0
            ) AS t
            WHERE history_counted(e.kind, e.to_value) IS NOT NULL
            GROUP BY 1, 2, 3, 4
        ) AS c (created_by, assigned_to, at, kind, n)
        CROSS JOIN LATERAL ticket_sides(c.created_by, c.assigned_to) AS s
        GROUP BY 1, 2, 3, 4;
    END IF;
    GET DIAGNOSTICS added = ROW_COUNT;
    IF (nextval('history_hour_statements') % 64 = 0 OR added > history_scope_hours_many())
       AND pg_try_advisory_xact_lock(hashtext('helpdesk history hours'), 0) THEN
        PERFORM history_hours_fold();
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER history_hours_insert ON history;
DROP TRIGGER history_hours_delete ON history;
CREATE TRIGGER history_hours_insert AFTER INSERT ON history
REFERENCING NEW TABLE AS written_rows
FOR EACH STATEMENT EXECUTE FUNCTION history_hours_counted();
CREATE TRIGGER history_hours_delete AFTER DELETE ON history
REFERENCING OLD TABLE AS written_rows
FOR EACH STATEMENT EXECUTE FUNCTION history_hours_counted();
