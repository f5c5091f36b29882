-- Throttling counts hits per key in a fixed window, one row per key, atomically (an upsert).
-- A key is the SHA-256 of what is counted (an email and a client address, say), so the table
-- holds no email and a row has a fixed size. Rows of windows that are over are deleted by the
-- next hit. It replaces login_failures, which stored every failed email as sent.
DROP TABLE login_failures;
CREATE TABLE throttle (
    key        BLOB    PRIMARY KEY,
    started_at INTEGER NOT NULL,
    hits       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX throttle_started ON throttle (started_at);
