-- helpdesk schema for SQLite. Times are Unix milliseconds (UTC); priority is its rank
-- (0 low, 1 medium, 2 high) so that ordering by priority is ordering by a number.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    first_name    TEXT    NOT NULL DEFAULT '',
    last_name     TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('user', 'agent', 'admin')),
    is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER,
    -- The computed "FirstName LastName - email" of the spec (helpdesk_core::User::name_email).
    name_email    TEXT GENERATED ALWAYS AS (
        CASE WHEN trim(first_name || ' ' || last_name) = '' THEN email
             ELSE trim(first_name || ' ' || last_name) || ' - ' || email END
    ) VIRTUAL
);
-- Escalation recipients: the active admins.
CREATE INDEX users_active_role ON users (role) WHERE is_active = 1;

-- User search matches anywhere in name_email, case-insensitively: a trigram full-text index
-- answers `LIKE '%...%'` without scanning every account. Triggers keep it in step.
CREATE VIRTUAL TABLE users_search USING fts5 (
    name_email, content = 'users', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, name_email) VALUES (new.id, new.name_email);
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, name_email) VALUES ('delete', old.id, old.name_email);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF first_name, last_name, email ON users BEGIN
    INSERT INTO users_search (users_search, rowid, name_email) VALUES ('delete', old.id, old.name_email);
    INSERT INTO users_search (rowid, name_email) VALUES (new.id, new.name_email);
END;

CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_failures (
    id    INTEGER PRIMARY KEY,
    email TEXT    NOT NULL,
    at    INTEGER NOT NULL
);
CREATE INDEX login_failures_email_at ON login_failures (email, at);

CREATE TABLE tickets (
    id               INTEGER PRIMARY KEY,
    title            TEXT    NOT NULL,
    description      TEXT    NOT NULL,
    priority         INTEGER NOT NULL CHECK (priority IN (0, 1, 2)),
    status           TEXT    NOT NULL
                     CHECK (status IN ('open', 'in_progress', 'resolved', 'closed', 'escalated')),
    created_by       INTEGER NOT NULL REFERENCES users (id),
    assigned_to      INTEGER REFERENCES users (id),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    resolved_at      INTEGER,
    escalated_at     INTEGER,
    due_at           INTEGER,
    clock_started_at INTEGER NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1
);
-- The escalation sweep: only active tickets, by deadline.
CREATE INDEX tickets_sweep ON tickets (due_at) WHERE status IN ('open', 'in_progress');
-- List pages per scope, newest first (the rowid tie-breaker is implied).
CREATE INDEX tickets_created_by ON tickets (created_by, created_at);
CREATE INDEX tickets_assigned_to ON tickets (assigned_to, created_at);
CREATE INDEX tickets_created_at ON tickets (created_at);
CREATE INDEX tickets_status_priority ON tickets (status, priority, created_at);

CREATE TABLE comments (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author_id  INTEGER NOT NULL REFERENCES users (id),
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX comments_ticket ON comments (ticket_id, id);

CREATE TABLE history (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    actor_id   INTEGER REFERENCES users (id),
    kind       TEXT    NOT NULL CHECK (kind IN
                   ('created', 'status_changed', 'assigned', 'edited', 'commented', 'escalated')),
    from_value TEXT,
    to_value   TEXT,
    at         INTEGER NOT NULL
);
CREATE INDEX history_ticket ON history (ticket_id, id);
-- The last-7-days report.
CREATE INDEX history_at ON history (at, kind);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    ticket_id       INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users (id),
    recipient       TEXT    NOT NULL,
    due_at          INTEGER NOT NULL,
    escalated_at    INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_state ON outbox (state, id);
