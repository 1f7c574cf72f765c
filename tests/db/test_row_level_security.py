"""Row-level security on PostgreSQL: beneath each query's own tenant filter, a statement sees and changes only the
rows of the tenant its transaction names, so one that forgot its filter leaks nothing. Run as the service connects:
a role that owns its tables and is neither superuser nor BYPASSRLS (a superuser, as the other tests connect, is never
held by row-level security)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from litestar.types import ASGIApp

from app.db import database_for
from app.db.database import NO_LOCAL, NO_TENANT, Database, tenant_local
from app.db.postgres import MIGRATIONS
from app.db.statements import Statement
from app.items.idempotency import KeyedCreate
from app.items.models import ItemCreate, new_item, utc_now
from app.items.store import BEFORE_EVERY_ID, SELECT_ITEM_OF_TENANT, SELECT_PAGE_OF_TENANT, ItemStore
from app.settings import Settings
from tests.auth.issuer import Issuer
from tests.conftest import started
from tests.items.test_tenancy import create, listed, of, tenancy_settings
from tests.postgres import OwnedDatabase, run_statements

NAMES = Statement("SELECT name FROM items ORDER BY name")
KEY_TENANTS = Statement("SELECT tenant FROM idempotency_keys ORDER BY tenant")


@pytest.fixture
async def database(owned_postgres: OwnedDatabase) -> AsyncIterator[Database]:
    opened = database_for(Settings.from_environ({"DATABASE_URL": owned_postgres.url, "ENVIRONMENT": "test"}))
    await opened.open()
    yield opened
    await opened.close()


async def names(database: Database, tenant: str | None) -> list[str]:
    """Every item name a statement without any filter finds, in a transaction of `tenant` (None: of none)."""
    local = NO_LOCAL if tenant is None else tenant_local(tenant)
    return [name for (name,) in (await database.fetch(NAMES, {}, local)).records]


def keyed(name: str) -> KeyedCreate:
    return KeyedCreate(owner=name, key="k", fingerprint=b"f", expires_at=utc_now() - timedelta(seconds=1))


async def test_a_statement_without_its_tenant_filter_finds_and_changes_only_its_tenants_rows(
    database: Database,
) -> None:
    store = ItemStore(database)
    for tenant in ("org-1", "org-2", NO_TENANT):
        await store.add(new_item(ItemCreate(name=tenant or "nobody's", description="")), tenant)
        await store.add_once(new_item(ItemCreate(name="keyed", description="")), keyed(tenant), tenant)

    assert await names(database, "org-1") == ["keyed", "org-1"]
    assert await names(database, None) == ["keyed", "nobody's"], "no tenant named: only the rows of none"
    found = await database.fetch(KEY_TENANTS, {}, tenant_local("org-2"))
    assert found.records == [("org-2",)]
    renamed = await database.fetch(Statement("UPDATE items SET name = 'taken' RETURNING id"), {}, tenant_local("org-1"))
    assert len(renamed.records) == 2
    assert await names(database, "org-2") == ["keyed", "org-2"]
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="row-level security"):
        await database.fetch(Statement("UPDATE items SET tenant = 'org-2'"), {}, tenant_local("org-1"))
    # The purge alone sees every tenant's keys: all three have expired.
    assert await store.purge_expired_keys(utc_now(), 10) == 3


async def test_a_tenants_read_names_its_tenant_for_its_own_statement_alone(
    owned_postgres: OwnedDatabase, database: Database
) -> None:
    """What a transaction-mode pooler hands the next client is the server connection as the read left it: the read's
    tenant must be gone. Asked on one connection of the service's role, outside the pool (whose reset would hide it)."""
    store = ItemStore(database)
    item = new_item(ItemCreate(name="org-1", description=""))
    await store.add(item, "org-1")
    await store.add(new_item(ItemCreate(name="nobody's", description="")), NO_TENANT)
    reads = (
        (SELECT_ITEM_OF_TENANT, {"tenant": "org-1", "id": item.id}),
        (SELECT_PAGE_OF_TENANT, {"tenant": "org-1", "after": BEFORE_EVERY_ID, "limit": 10}),
    )
    connection = await asyncpg.connect(owned_postgres.url)
    try:
        for statement, parameters in reads:
            found = await connection.fetch(statement.positional_sql, *statement.arguments(parameters))
            assert [row["name"] for row in found] == ["org-1"]
            assert await connection.fetchval("SELECT coalesce(current_setting('app.tenant', true), '')") == ""
            assert [name for (name,) in await connection.fetch(NAMES.sql)] == ["nobody's"]
    finally:
        await connection.close()


async def test_an_app_whose_queries_lost_their_tenant_filter_still_leaks_nothing(
    owned_postgres: OwnedDatabase, issuer: Issuer, built_apps: dict[Settings, ASGIApp]
) -> None:
    """The defect planted: a tenant's reads of an item and of a page (the functions of the migration) without
    `tenant = p_tenant`. As the service connects, row-level security still answers another tenant's item as unknown;
    as a superuser, whom it never holds, the plant leaks."""
    owner, stranger = of(issuer, "org-1"), of(issuer, "org-2")

    async with started(tenancy_settings(issuer, owned_postgres.url), built_apps) as held:
        await plant_reads_without_their_tenant_filter(owned_postgres.url)
        item = await create(held, owner)
        assert (await held.get(f"/api/v1/items/{item['id']}", headers=stranger)).status_code == 404
        assert await listed(held, stranger) == []
        assert await listed(held, owner) == [item]

    async with started(tenancy_settings(issuer, owned_postgres.admin_url), built_apps) as unheld:
        assert (await unheld.get(f"/api/v1/items/{item['id']}", headers=stranger)).status_code == 200
        assert await listed(unheld, stranger) == [item]


async def plant_reads_without_their_tenant_filter(url: str) -> None:
    (tenant_reads,) = (migration for migration in MIGRATIONS if migration.name == "0005_tenant_reads")
    script = tenant_reads.script.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
    for tenant_filter in (" AND tenant = p_tenant", "tenant = p_tenant AND "):
        assert tenant_filter in script
        script = script.replace(tenant_filter, "")
    await run_statements(url, script)
