-- expand-only
-- A tenant's reads in one round trip (app/items/store.py): each function names the tenant for row-level security,
-- as SET LOCAL does, and then reads, in that order, which no single statement promises. Called as a statement of
-- its own, the setting ends with it; a transaction of its own around set_config and the read would take four round
-- trips (tests/bench/README.md#tenancy). PL/pgSQL keeps each read's plan for the session on every PostgreSQL version,
-- where a SQL function plans again on every call before 18. They run with the caller's rights and row-level
-- security, as its own statements would; SETOF items returns a column added to the table without a change here.
CREATE FUNCTION item_of_tenant(p_tenant text, p_id uuid) RETURNS SETOF items
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('app.tenant', p_tenant, true);
    RETURN QUERY SELECT * FROM items WHERE id = p_id AND tenant = p_tenant;
END
$$;

CREATE FUNCTION items_page_of_tenant(p_tenant text, p_after uuid, p_limit bigint) RETURNS SETOF items
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('app.tenant', p_tenant, true);
    RETURN QUERY SELECT * FROM items WHERE tenant = p_tenant AND id > p_after ORDER BY id LIMIT p_limit;
END
$$;
