-- expand-only
-- Each item and key belongs to the tenant its token named (AUTH_TENANT_CLAIM); '' is none: every row made while
-- tenancy was off, which no tenant reaches. The index keeps a tenant's keyset pages one range scan.
ALTER TABLE items ADD COLUMN tenant text NOT NULL DEFAULT '';
CREATE INDEX items_tenant_id ON items (tenant, id);
ALTER TABLE idempotency_keys ADD COLUMN tenant text NOT NULL DEFAULT '';

-- Beneath every query's own filter, row-level security: a statement sees and writes only the rows of the tenant
-- its transaction named with SET LOCAL app.tenant (app/items/store.py), so a query that forgot its tenant finds
-- nothing of another's. FORCE: the tables' owner, which the service may connect as, is held to it too. Unset, the
-- setting names no tenant: the release before this one, which never sets it, keeps serving the rows it made.
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
ALTER TABLE items FORCE ROW LEVEL SECURITY;
CREATE POLICY items_of_the_tenant ON items
    USING (tenant = coalesce(current_setting('app.tenant', true), ''))
    WITH CHECK (tenant = coalesce(current_setting('app.tenant', true), ''));
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
-- The purge of expired keys, every tenant's, says so with SET LOCAL app.purging.
CREATE POLICY keys_of_the_tenant ON idempotency_keys
    USING (
        tenant = coalesce(current_setting('app.tenant', true), '')
        OR coalesce(current_setting('app.purging', true), '') = 'on'
    )
    WITH CHECK (tenant = coalesce(current_setting('app.tenant', true), ''));
