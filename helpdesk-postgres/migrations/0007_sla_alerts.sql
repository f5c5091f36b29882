-- Service levels, part 2: warnings before a deadline, reminders while escalated, and the
-- first staff response of each ticket for the service-level report.
--
-- Each ticket keeps when each target's warning goes out, which deadline it last warned of (so
-- no write can set the same warning again), and when its next reminder is due with how many
-- went out in this escalation. History gains two kinds. The outbox says what each email tells,
-- the number of a reminder and the time zone to write instants in.
ALTER TABLE history DROP CONSTRAINT history_kind_check;
ALTER TABLE history ADD CONSTRAINT history_kind_check CHECK (kind IN
    ('created', 'status_changed', 'assigned', 'edited', 'commented', 'escalated',
     'sla_warning', 'escalation_reminder'));
-- The ticket's priority when the sweep recorded the event (escalations, warnings, reminders),
-- so the service-level report counts breaches per priority from an index that holds only
-- escalations.
ALTER TABLE history ADD COLUMN priority smallint;
UPDATE history h SET priority = t.priority FROM tickets t
 WHERE t.id = h.ticket_id AND h.kind = 'escalated';
CREATE INDEX history_breaches ON history (at, priority, to_value) WHERE kind = 'escalated';

ALTER TABLE tickets
    ADD COLUMN update_warn_at     timestamptz,
    ADD COLUMN update_warned_due  timestamptz,
    ADD COLUMN resolve_warn_at    timestamptz,
    ADD COLUMN resolve_warned_due timestamptz,
    ADD COLUMN remind_at          timestamptz,
    ADD COLUMN reminders_sent     integer NOT NULL DEFAULT 0,
    -- When staff first commented or changed the status, and the counted seconds until then.
    ADD COLUMN first_response_at      timestamptz,
    ADD COLUMN first_response_seconds bigint;
-- The service-level report: resolutions, and the median first response, per priority in a
-- window, each from an index that holds every column it reads.
CREATE INDEX tickets_resolved ON tickets (resolved_at, priority, resolve_breached_at)
    WHERE resolved_at IS NOT NULL;
CREATE INDEX tickets_first_response ON tickets (priority, first_response_seconds, created_at)
    WHERE first_response_seconds IS NOT NULL;
-- The sweep reads the warnings and reminders due from these; partial, so tickets without one
-- (every ticket when the policy sets neither) cost nothing.
CREATE INDEX tickets_update_warn ON tickets (update_warn_at) WHERE update_warn_at IS NOT NULL;
CREATE INDEX tickets_resolve_warn ON tickets (resolve_warn_at) WHERE resolve_warn_at IS NOT NULL;
CREATE INDEX tickets_remind ON tickets (remind_at) WHERE remind_at IS NOT NULL;

ALTER TABLE outbox
    ADD COLUMN alert     text    NOT NULL DEFAULT 'escalation'
        CHECK (alert IN ('escalation', 'warning', 'reminder')),
    ADD COLUMN reminder  integer,
    ADD COLUMN time_zone text    NOT NULL DEFAULT 'UTC';

-- The tickets in play get their warning instants at once: a new policy version makes every
-- instance's next sweep recompute their deadlines (and warnings) with the stored policy.
UPDATE sla_policy SET version = version + 1;
