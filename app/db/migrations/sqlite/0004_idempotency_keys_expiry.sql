-- The background purge finds expired keys by it.
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
