-- Creates under an Idempotency-Key (app/items/idempotency.py). Times as ISO 8601 text with microseconds always,
-- which sorts as the times do.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    item_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
