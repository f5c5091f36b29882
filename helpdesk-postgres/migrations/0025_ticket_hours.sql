-- Everyone's service-level report counted the tickets raised in its window, and those of them
-- answered, from each priority's range of `tickets (priority, created_at)` and
-- `tickets_answered`: 84,000 and 67,000 index entries for the default 30 days at 100,000
-- tickets, 10 to 15 ms of the report. It now sums these counts of tickets per hour of creation,
-- priority and whether staff answered them, and counts from the indexes only the window's first
-- and last partial hours. As with the history's hours, each statement that writes tickets only
-- adds rows of changes, the counts are a view adding them to folded ones, and every 64th such
-- statement folds them, under an advisory lock it only tries to take. The hour is the UTC hour
-- a ticket was created in, as an instant.
LOCK TABLE tickets IN SHARE MODE;

CREATE FUNCTION ticket_hour(created_at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';

CREATE TABLE ticket_hours_folded (
    hour     timestamptz NOT NULL,
    priority smallint    NOT NULL,
    answered boolean     NOT NULL,
    n        bigint      NOT NULL,
    PRIMARY KEY (hour, priority, answered)
);
CREATE TABLE ticket_hour_changes (
    hour timestamptz NOT NULL, priority smallint NOT NULL, answered boolean NOT NULL,
    n bigint NOT NULL
);
CREATE VIEW ticket_hours (hour, priority, answered, n) AS
    SELECT hour, priority, answered, n FROM ticket_hours_folded
    UNION ALL SELECT hour, priority, answered, n FROM ticket_hour_changes;

INSERT INTO ticket_hours_folded (hour, priority, answered, n)
SELECT ticket_hour(created_at), priority, first_response_seconds IS NOT NULL, count(*)
FROM tickets GROUP BY 1, 2, 3;

CREATE SEQUENCE ticket_hour_statements;

-- Moves every committed change into the folded counts.
CREATE FUNCTION ticket_hours_fold() RETURNS void LANGUAGE sql AS $$
    WITH moved AS (DELETE FROM ticket_hour_changes RETURNING hour, priority, answered, n)
    INSERT INTO ticket_hours_folded AS f (hour, priority, answered, n)
    SELECT hour, priority, answered, sum(n) FROM moved GROUP BY hour, priority, answered
    ON CONFLICT (hour, priority, answered) DO UPDATE SET n = f.n + excluded.n;
$$;

-- Adds the changes of one statement: +1 for each ticket it inserted, -1 for each it deleted,
-- and for each it updated -1 for the old hour, priority and answer and +1 for the new where they
-- differ. An update's tickets are paired up by instant of creation first and only those that
-- moved get an hour worked out: the sweep's update of 10,000 tickets, which moves none, adds
-- nothing.
CREATE FUNCTION ticket_hours_counted() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO ticket_hour_changes (hour, priority, answered, n)
        SELECT ticket_hour(created_at), priority, answered, sum(n) FROM (
            SELECT created_at, priority, answered, sum(n) FROM (
                SELECT created_at, priority, first_response_seconds IS NOT NULL, 1
                FROM new_tickets
                UNION ALL
                SELECT created_at, priority, first_response_seconds IS NOT NULL, -1
                FROM old_tickets
            ) AS e (created_at, priority, answered, n)
            GROUP BY 1, 2, 3
            HAVING sum(n) <> 0
        ) AS c (created_at, priority, answered, n)
        GROUP BY 1, 2, 3;
    ELSE
        -- New tickets counted up, deleted ones down: one table to the function.
        INSERT INTO ticket_hour_changes (hour, priority, answered, n)
        SELECT ticket_hour(created_at), priority, first_response_seconds IS NOT NULL,
               CASE TG_OP WHEN 'DELETE' THEN -count(*) ELSE count(*) END
        FROM written_tickets GROUP BY 1, 2, 3;
    END IF;
    IF nextval('ticket_hour_statements') % 64 = 0
       AND pg_try_advisory_xact_lock(hashtext('helpdesk ticket hours'), 0) THEN
        PERFORM ticket_hours_fold();
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER ticket_hours_inserted AFTER INSERT ON tickets
REFERENCING NEW TABLE AS written_tickets
FOR EACH STATEMENT EXECUTE FUNCTION ticket_hours_counted();
CREATE TRIGGER ticket_hours_updated AFTER UPDATE ON tickets
REFERENCING OLD TABLE AS old_tickets NEW TABLE AS new_tickets
FOR EACH STATEMENT EXECUTE FUNCTION ticket_hours_counted();
CREATE TRIGGER ticket_hours_deleted AFTER DELETE ON tickets
REFERENCING OLD TABLE AS written_tickets
FOR EACH STATEMENT EXECUTE FUNCTION ticket_hours_counted();
