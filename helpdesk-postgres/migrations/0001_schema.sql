-- helpdesk schema for PostgreSQL. Priority is its rank (0 low, 1 medium, 2 high).

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE TABLE users (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text        NOT NULL UNIQUE,
    password_hash text        NOT NULL,
    first_name    text        NOT NULL DEFAULT '',
    last_name     text        NOT NULL DEFAULT '',
    role          text        NOT NULL CHECK (role IN ('user', 'agent', 'admin')),
    is_active     boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    deleted_at    timestamptz,
    -- The computed "FirstName LastName - email" of the spec (helpdesk_core::User::name_email).
    name_email    text GENERATED ALWAYS AS (
        CASE WHEN btrim(first_name || ' ' || last_name) = '' THEN email
             ELSE btrim(first_name || ' ' || last_name) || ' - ' || email END
    ) STORED
);
CREATE INDEX users_active_role ON users (role) WHERE is_active;
-- `search` matches anywhere in name_email, case-insensitively (ILIKE '%...%'): a trigram index.
CREATE INDEX users_name_email_trgm ON users USING gin (name_email public.gin_trgm_ops);

CREATE TABLE sessions (
    token_hash bytea       PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_failures (
    id    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text        NOT NULL,
    at    timestamptz NOT NULL
);
CREATE INDEX login_failures_email_at ON login_failures (email, at);

CREATE TABLE tickets (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title            text        NOT NULL,
    description      text        NOT NULL,
    priority         smallint    NOT NULL CHECK (priority IN (0, 1, 2)),
    status           text        NOT NULL
                     CHECK (status IN ('open', 'in_progress', 'resolved', 'closed', 'escalated')),
    created_by       bigint      NOT NULL REFERENCES users (id),
    assigned_to      bigint      REFERENCES users (id),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    resolved_at      timestamptz,
    escalated_at     timestamptz,
    due_at           timestamptz,
    clock_started_at timestamptz NOT NULL,
    version          bigint      NOT NULL DEFAULT 1
);
CREATE INDEX tickets_sweep ON tickets (due_at) WHERE status IN ('open', 'in_progress');
CREATE INDEX tickets_created_by ON tickets (created_by, created_at, id);
CREATE INDEX tickets_assigned_to ON tickets (assigned_to, created_at, id);
CREATE INDEX tickets_created_at ON tickets (created_at, id);
CREATE INDEX tickets_status_priority ON tickets (status, priority, created_at, id);

CREATE TABLE comments (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id  bigint      NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author_id  bigint      NOT NULL REFERENCES users (id),
    body       text        NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX comments_ticket ON comments (ticket_id, id);

CREATE TABLE history (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id  bigint      NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    actor_id   bigint      REFERENCES users (id),
    kind       text        NOT NULL CHECK (kind IN
                   ('created', 'status_changed', 'assigned', 'edited', 'commented', 'escalated')),
    from_value text,
    to_value   text,
    at         timestamptz NOT NULL
);
CREATE INDEX history_ticket ON history (ticket_id, id);
CREATE INDEX history_at ON history (at, kind);

CREATE TABLE outbox (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id       bigint      NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    user_id         bigint      NOT NULL REFERENCES users (id),
    recipient       text        NOT NULL,
    due_at          timestamptz NOT NULL,
    escalated_at    timestamptz NOT NULL,
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    sent_at         timestamptz
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_state ON outbox (state, id);
