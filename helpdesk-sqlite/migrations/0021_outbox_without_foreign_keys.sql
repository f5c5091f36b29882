-- The outbox without foreign keys. Each email the sweep queued checked that its ticket and its
-- recipient's account exist: in the `sqlite3` shell, 20,000 outbox rows took 36 to 40 ms to
-- insert with the checks and 27 to 28 without. Nothing but the sweep writes the outbox, and it
-- reads both from the tickets it escalates and from accounts, which are never deleted (an
-- account is erased in place). A deleted ticket's emails are deleted by a trigger, as the
-- cascade did. Nothing refers to the outbox, so it is rebuilt in the migration's transaction
-- (SQLite cannot drop a constraint in place); ids and rows are kept.
CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    ticket_id       INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    recipient       TEXT    NOT NULL,
    due_at          INTEGER NOT NULL,
    escalated_at    INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER,
    target          TEXT    NOT NULL DEFAULT 'update' CHECK (target IN ('update', 'resolution')),
    alert           TEXT    NOT NULL DEFAULT 'escalation'
                        CHECK (alert IN ('escalation', 'warning', 'reminder')),
    reminder        INTEGER,
    time_zone       TEXT    NOT NULL DEFAULT 'UTC'
);
INSERT INTO outbox_new (id, ticket_id, user_id, recipient, due_at, escalated_at, state, attempts,
                        next_attempt_at, last_error, sent_at, target, alert, reminder, time_zone)
SELECT id, ticket_id, user_id, recipient, due_at, escalated_at, state, attempts,
       next_attempt_at, last_error, sent_at, target, alert, reminder, time_zone
  FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_state ON outbox (state, id);

CREATE TRIGGER outbox_tickets_deleted AFTER DELETE ON tickets
BEGIN
    DELETE FROM outbox WHERE ticket_id = OLD.id;
END;
