-- no-transaction
-- Service levels: the `waiting` status, each ticket's deadlines and breaches per target, its
-- pauses, the stored policy, and the target an escalation email is about.
--
-- SQLite cannot widen a CHECK constraint in place, so `tickets` is rebuilt as its documentation
-- prescribes (https://sqlite.org/lang_altertable.html#otheralter): foreign keys off (dropping
-- the old table must not cascade into comments, history and the outbox), one transaction, then
-- its indexes and search triggers again. The search index keeps its rows: ids do not change.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE tickets_new (
    id                  INTEGER PRIMARY KEY,
    title               TEXT    NOT NULL,
    description         TEXT    NOT NULL,
    priority            INTEGER NOT NULL CHECK (priority IN (0, 1, 2)),
    status              TEXT    NOT NULL CHECK (status IN
                            ('open', 'in_progress', 'resolved', 'closed', 'escalated', 'waiting')),
    created_by          INTEGER NOT NULL REFERENCES users (id),
    assigned_to         INTEGER REFERENCES users (id),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    resolved_at         INTEGER,
    escalated_at        INTEGER,
    due_at              INTEGER,
    clock_started_at    INTEGER NOT NULL,
    version             INTEGER NOT NULL DEFAULT 1,
    update_due_at       INTEGER,
    resolve_due_at      INTEGER,
    update_breach_due   INTEGER,
    update_breached_at  INTEGER,
    resolve_breach_due  INTEGER,
    resolve_breached_at INTEGER,
    waiting_since       INTEGER,
    paused_seconds      INTEGER NOT NULL DEFAULT 0,
    -- The policy version that computed the deadlines; 0 for a ticket out of play, which has
    -- none. Tickets so far were computed with the escalation windows, which seed version 1.
    sla_version         INTEGER NOT NULL DEFAULT 1
);
INSERT INTO tickets_new (id, title, description, priority, status, created_by, assigned_to,
                         created_at, updated_at, resolved_at, escalated_at, due_at,
                         clock_started_at, version, update_due_at, sla_version)
SELECT id, title, description, priority, status, created_by, assigned_to, created_at,
       updated_at, resolved_at, escalated_at, due_at, clock_started_at, version,
       CASE WHEN status IN ('open', 'in_progress') THEN due_at END,
       CASE WHEN status IN ('resolved', 'closed') THEN 0 ELSE 1 END
  FROM tickets;
DROP TABLE tickets;
ALTER TABLE tickets_new RENAME TO tickets;

CREATE INDEX tickets_created_by ON tickets (created_by, created_at);
CREATE INDEX tickets_assigned_to ON tickets (assigned_to, created_at);
CREATE INDEX tickets_created_at ON tickets (created_at);
CREATE INDEX tickets_status_priority ON tickets (status, priority, created_at);
CREATE INDEX tickets_status ON tickets (status, created_at);
CREATE INDEX tickets_updated_at ON tickets (updated_at);
CREATE INDEX tickets_priority ON tickets (priority, created_at);
CREATE INDEX tickets_due_at ON tickets (due_at);

CREATE TRIGGER tickets_search_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_search (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
CREATE TRIGGER tickets_search_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_search (tickets_search, rowid, title, description)
    VALUES ('delete', old.id, old.title, old.description);
END;
CREATE TRIGGER tickets_search_update AFTER UPDATE OF title, description ON tickets
WHEN old.title IS NOT new.title OR old.description IS NOT new.description BEGIN
    INSERT INTO tickets_search (tickets_search, rowid, title, description)
    VALUES ('delete', old.id, old.title, old.description);
    INSERT INTO tickets_search (rowid, title, description) VALUES (new.id, new.title, new.description);
END;

-- Tickets by the version of the policy that computed their deadlines (0: none, as a ticket that
-- waits, is resolved or closed has none): after a new policy, and at every sweep, the stale ones
-- are found here in batches, each read in its own order, without reading the others. Not partial on the status: the sweep changes
-- statuses, and would have to rewrite every entry it touched.
CREATE INDEX tickets_policy_version ON tickets (sla_version, id);

-- The stints in which a ticket's clocks stood still: waiting on the customer, resolved, closed.
CREATE TABLE ticket_pauses (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    status     TEXT    NOT NULL CHECK (status IN ('waiting', 'resolved', 'closed')),
    started_at INTEGER NOT NULL,
    started_by INTEGER REFERENCES users (id),
    ended_at   INTEGER,
    ended_by   INTEGER REFERENCES users (id)
);
CREATE INDEX ticket_pauses_ticket ON ticket_pauses (ticket_id, started_at);
INSERT INTO ticket_pauses (ticket_id, status, started_at)
SELECT id, status, coalesce(resolved_at, updated_at) FROM tickets
 WHERE status IN ('resolved', 'closed');

-- One policy per store, shared by every instance: its JSON, and a version for If-Match.
CREATE TABLE sla_policy (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    spec       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

ALTER TABLE outbox ADD COLUMN target TEXT NOT NULL DEFAULT 'update'
    CHECK (target IN ('update', 'resolution'));

COMMIT;
PRAGMA foreign_keys = ON;
