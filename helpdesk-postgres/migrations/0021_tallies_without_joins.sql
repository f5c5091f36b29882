-- The tallies' trigger without a join of its transition tables. PL/pgSQL plans a statement
-- without parameters once per connection, with the row counts of its first run, and keeps the
-- plan: on a connection whose first update of tickets changed one row, the old rows were
-- joined to the new ones by a nested loop from then on, and an update of 10,000 tickets (the
-- escalation sweep) compared every old row with every new one: 7.0 s instead of 0.96 in psql
-- at 100,000 tickets, 7.5 to 9.4 s for the load benchmark's sweep after a run of single
-- changes. Tickets whose creator or assignee changed are now the (ticket, creator, assignee)
-- rows that appear on one side only, found by grouping both sides, which no plan makes
-- quadratic; their history is read ticket by ticket from its index whatever the plan
-- expected (`OFFSET 0` keeps the subquery a nested loop), so a connection whose first update
-- moved many tickets does not read the whole history for each later one.
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
            SELECT c.id, s.user_id, s.side, c.n
            FROM (
                SELECT id, created_by, assigned_to, sum(n)::integer
                FROM (
                    SELECT id, created_by, assigned_to, -1 FROM old_rows
                    UNION ALL
                    SELECT id, created_by, assigned_to, 1 FROM new_rows
                ) AS e (id, created_by, assigned_to, n)
                GROUP BY id, created_by, assigned_to
                HAVING sum(n) <> 0
            ) AS c (id, created_by, assigned_to, n)
            CROSS JOIN LATERAL ticket_sides(c.created_by, c.assigned_to) AS s
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
        CROSS JOIN LATERAL (
            SELECT at, kind, to_value FROM history WHERE ticket_id = m.id OFFSET 0
        ) AS h
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
