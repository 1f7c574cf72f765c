-- Each item and key belongs to the tenant its token named (AUTH_TENANT_CLAIM); '' is none: every row made while
-- tenancy was off, which no tenant reaches. The index keeps a tenant's keyset pages one range scan.
ALTER TABLE items ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
CREATE INDEX items_tenant_id ON items (tenant, id);
ALTER TABLE idempotency_keys ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
