-- Service levels: the `waiting` status, each ticket's deadlines and breaches per target, its
-- pauses, the stored policy, and the target an escalation email is about.
ALTER TABLE tickets DROP CONSTRAINT tickets_status_check;
ALTER TABLE tickets ADD CONSTRAINT tickets_status_check CHECK (status IN
    ('open', 'in_progress', 'resolved', 'closed', 'escalated', 'waiting'));
ALTER TABLE tickets
    ADD COLUMN update_due_at       timestamptz,
    ADD COLUMN resolve_due_at      timestamptz,
    ADD COLUMN update_breach_due   timestamptz,
    ADD COLUMN update_breached_at  timestamptz,
    ADD COLUMN resolve_breach_due  timestamptz,
    ADD COLUMN resolve_breached_at timestamptz,
    ADD COLUMN waiting_since       timestamptz,
    ADD COLUMN paused_seconds      bigint NOT NULL DEFAULT 0,
    -- The policy version that computed the deadlines; 0 for a ticket out of play, which has
    -- none. Tickets so far were computed with the escalation windows, which seed version 1.
    ADD COLUMN sla_version         bigint NOT NULL DEFAULT 1;
UPDATE tickets SET update_due_at = due_at WHERE status IN ('open', 'in_progress');
-- A ticket out of play has no deadlines under any policy version.
UPDATE tickets SET sla_version = 0 WHERE status IN ('resolved', 'closed');

-- Tickets by the version of the policy that computed their deadlines (0: none, as a ticket that
-- waits, is resolved or closed has none): after a new policy, and at every sweep, the stale ones
-- are found here in batches, each read in its own order, without reading the others. Not partial on the status: the sweep changes
-- statuses, and would have to rewrite every entry it touched.
CREATE INDEX tickets_policy_version ON tickets (sla_version, id);

-- The stints in which a ticket's clocks stood still: waiting on the customer, resolved, closed.
CREATE TABLE ticket_pauses (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id  bigint      NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    status     text        NOT NULL CHECK (status IN ('waiting', 'resolved', 'closed')),
    started_at timestamptz NOT NULL,
    started_by bigint      REFERENCES users (id),
    ended_at   timestamptz,
    ended_by   bigint      REFERENCES users (id)
);
CREATE INDEX ticket_pauses_ticket ON ticket_pauses (ticket_id, started_at);
INSERT INTO ticket_pauses (ticket_id, status, started_at)
SELECT id, status, coalesce(resolved_at, updated_at) FROM tickets
 WHERE status IN ('resolved', 'closed');

-- One policy per store, shared by every instance: its JSON, and a version for If-Match.
CREATE TABLE sla_policy (
    id         smallint    PRIMARY KEY CHECK (id = 1),
    spec       text        NOT NULL,
    version    bigint      NOT NULL,
    updated_at timestamptz NOT NULL
);

ALTER TABLE outbox ADD COLUMN target text NOT NULL DEFAULT 'update'
    CHECK (target IN ('update', 'resolution'));
