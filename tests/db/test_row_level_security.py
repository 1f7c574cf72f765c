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
from app.items.store import ItemStore
from app.settings import Settings
from tests.auth.issuer import Issuer
from tests.conftest import started
from tests.items.test_tenancy import create, listed, of, tenancy_settings
from tests.postgres import OwnedDatabase, owned_database

NAMES = Statement("SELECT name FROM items ORDER BY name")
KEY_TENANTS = Statement("SELECT tenant FROM idempotency_keys ORDER BY tenant")


@pytest.fixture
async def owned(postgres_url: str, worker_id: str) -> OwnedDatabase:
    return await owned_database(postgres_url, f"items_rls_{worker_id}")


@pytest.fixture
async def database(owned: OwnedDatabase) -> AsyncIterator[Database]:
    opened = database_for(Settings.from_environ({"DATABASE_URL": owned.url, "ENVIRONMENT": "test"}))
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


async def test_an_app_whose_queries_lost_their_tenant_filter_still_leaks_nothing(
    owned: OwnedDatabase, issuer: Issuer, built_apps: dict[Settings, ASGIApp]
) -> None:
    """The defect planted: a tenant's reads of an item and of a page (the functions of the migration) without
    `tenant = p_tenant`. As the service connects, row-level security still answers another tenant's item as unknown;
    as a superuser, whom it never holds, the plant leaks."""
    owner, stranger = of(issuer, "org-1"), of(issuer, "org-2")

    async with started(tenancy_settings(issuer, owned.url), built_apps) as held:
        await plant_reads_without_their_tenant_filter(owned.url)
        item = await create(held, owner)
        assert (await held.get(f"/api/v1/items/{item['id']}", headers=stranger)).status_code == 404
        assert await listed(held, stranger) == []
        assert await listed(held, owner) == [item]

    async with started(tenancy_settings(issuer, owned.admin_url), built_apps) as unheld:
        assert (await unheld.get(f"/api/v1/items/{item['id']}", headers=stranger)).status_code == 200
        assert await listed(unheld, stranger) == [item]


async def plant_reads_without_their_tenant_filter(url: str) -> None:
    (tenant_reads,) = (migration for migration in MIGRATIONS if migration.name == "0005_tenant_reads")
    script = tenant_reads.script.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
    for tenant_filter in (" AND tenant = p_tenant", "tenant = p_tenant AND "):
        assert tenant_filter in script
        script = script.replace(tenant_filter, "")
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(script)
    finally:
        await connection.close()
