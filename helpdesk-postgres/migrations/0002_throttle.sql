-- Throttling counts hits per key in a fixed window, one row per key, atomically (an upsert);
-- a row says when its window ends, so keys with windows of different lengths share the table.
-- A key is the SHA-256 of what is counted (an email and a client address, say), so the table
-- holds no email and a row has a fixed size. Rows of windows that are over are deleted by the
-- next hit. It replaces login_failures, which stored every failed email as sent.
DROP TABLE login_failures;
CREATE TABLE throttle (
    key        bytea       PRIMARY KEY,
    ends_at    timestamptz NOT NULL,
    hits       integer     NOT NULL
);
CREATE INDEX throttle_ends ON throttle (ends_at);
