-- expand-only
-- A tenant's reads in one round trip (app/items/store.py): each function names the tenant for row-level security,
-- as SET LOCAL does, and then reads, in that order, which no single statement promises. The setting lasts as long as
-- the transaction the call runs in: the store calls each as a statement of its own, never within a transaction of
-- several, so that it ends with the call. Wrapping set_config and the read in a transaction of their own would take
-- four round trips (tests/bench/README.md#tenancy). PL/pgSQL keeps each read's plan for the session on every
-- PostgreSQL version, where a SQL function plans again on every call before 18. SECURITY INVOKER, and never DEFINER:
-- they run with the caller's rights and row-level security, as its own statements would. SETOF items returns a
-- column added to the table without a change here. Each read is the store's statement of the same name, for a tenant.
CREATE FUNCTION item_of_tenant(p_tenant text, p_id uuid) RETURNS SETOF items
LANGUAGE plpgsql SECURITY INVOKER AS $$
BEGIN
    PERFORM set_config('app.tenant', p_tenant, true);
    RETURN QUERY SELECT * FROM items WHERE id = p_id AND tenant = p_tenant;
END
$$;

CREATE FUNCTION items_page_of_tenant(p_tenant text, p_after uuid, p_limit bigint) RETURNS SETOF items
LANGUAGE plpgsql SECURITY INVOKER AS $$
BEGIN
    PERFORM set_config('app.tenant', p_tenant, true);
    RETURN QUERY SELECT * FROM items WHERE tenant = p_tenant AND id > p_after ORDER BY id LIMIT p_limit;
END
$$;
