"""Keyset pagination: a bare array per page, the next page in an RFC 8288 Link header."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from app.db import database_for
from app.items.store import BEFORE_EVERY_ID, SELECT_PAGE, SELECT_PAGE_OF_TENANT
from app.settings import Settings
from tests.conftest import Client
from tests.postgres import OwnedDatabase

URL = "/api/v1/items"
NEXT_LINK = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


async def create_many(client: Client, count: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for number in range(count):
        response = await client.post(URL, json={"name": f"item {number:03}", "description": ""})
        items.append(response.json())
    return items


def next_url(response: httpx.Response) -> str | None:
    link = response.headers.get("link")
    if link is None:
        return None
    match = NEXT_LINK.match(link)
    assert match is not None, link
    return match["url"]


async def walk(client: Client, first_url: str) -> tuple[list[dict[str, Any]], int]:
    seen: list[dict[str, Any]] = []
    pages = 0
    url: str | None = first_url
    while url is not None:
        response = await client.get(url)
        assert response.status_code == 200
        page: list[dict[str, Any]] = response.json()
        assert isinstance(page, list)
        seen.extend(page)
        pages += 1
        url = next_url(response)
    return seen, pages


async def test_the_default_page_holds_50_items(client: Client) -> None:
    items = await create_many(client, 51)

    response = await client.get(URL)

    assert response.json() == items[:50]
    assert next_url(response) is not None


async def test_walking_the_pages_lists_every_item_once_in_order(client: Client) -> None:
    items = await create_many(client, 23)

    seen, pages = await walk(client, f"{URL}?limit=5")

    assert seen == items
    assert pages == 5


async def test_the_next_link_is_relative_to_the_request_and_keeps_the_limit(client: Client) -> None:
    await create_many(client, 3)

    # A client's Host (or a proxy's X-Forwarded-Host) must not steer where other clients go next.
    response = await client.get(f"{URL}?limit=2", headers={"Host": "attacker.example", "X-Forwarded-Proto": "https"})

    url = next_url(response)
    assert url is not None
    assert url.startswith("/api/v1/items?")
    assert "limit=2" in url


async def test_items_created_during_a_walk_do_not_repeat_or_hide_existing_ones(client: Client) -> None:
    items = await create_many(client, 10)
    seen: list[dict[str, Any]] = []
    url: str | None = f"{URL}?limit=3"
    while url is not None:
        response = await client.get(url)
        seen.extend(response.json())
        await create_many(client, 1)
        url = next_url(response)

    ids = [item["id"] for item in seen]
    assert len(ids) == len(set(ids))
    assert ids[: len(items)] == [item["id"] for item in items]


async def test_a_deleted_cursor_item_does_not_break_the_walk(client: Client) -> None:
    items = await create_many(client, 6)
    first = await client.get(f"{URL}?limit=3")
    await client.delete(f"{URL}/{items[2]['id']}")

    url = next_url(first)
    assert url is not None
    assert (await client.get(url)).json() == items[3:]


@pytest.mark.parametrize("limit", ["0", "501", "-1", "ten", "1.5"])
async def test_a_limit_outside_1_to_500_is_a_422(sqlite_client: Client, limit: str) -> None:
    client = sqlite_client  # refused before any store call: a defect here fails on either backend
    response = await client.get(URL, params={"limit": limit})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"


async def test_a_limit_of_500_is_accepted(client: Client) -> None:
    assert (await client.get(URL, params={"limit": "500"})).status_code == 200


@pytest.mark.parametrize("cursor", ["nonsense!", "AAAA", "é", "", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
async def test_a_malformed_cursor_is_a_422(sqlite_client: Client, cursor: str) -> None:
    client = sqlite_client  # refused before any store call: a defect here fails on either backend
    response = await client.get(URL, params={"cursor": cursor})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


async def test_sqlite_reads_a_shared_page_in_key_order_and_a_tenants_from_its_index(sqlite_path: Path) -> None:
    database = database_for(Settings.from_environ({"DATABASE_URL": f"sqlite:///{sqlite_path}", "ENVIRONMENT": "test"}))
    await database.open()
    await database.close()  # the table now exists
    page = {"tenant": "org-1", "after": str(BEFORE_EVERY_ID), "limit": 50}
    with closing(sqlite3.connect(sqlite_path)) as connection:
        shared, tenants = (
            " ".join(str(step) for step in connection.execute(f"EXPLAIN QUERY PLAN {statement.sql}", page))
            for statement in (SELECT_PAGE, SELECT_PAGE_OF_TENANT)
        )

    # Neither sorts: each reads its rows in id order, from the key or from the tenant's range of the index.
    assert "USING PRIMARY KEY (id>?)" in shared, shared
    assert "USING INDEX items_tenant_id (tenant=? AND id>?)" in tenants, tenants
    assert "TEMP B-TREE" not in shared + tenants


async def test_postgresql_seeks_to_the_cursor_whatever_plan_it_caches(owned_postgres: OwnedDatabase) -> None:
    """Planned as the service's role, whom row-level security holds, so that the policy is in the plan too."""
    database = database_for(Settings.from_environ({"DATABASE_URL": owned_postgres.url, "ENVIRONMENT": "test"}))
    await database.open()
    await database.close()  # the table now exists
    role = urlsplit(owned_postgres.url).username
    connection = await asyncpg.connect(owned_postgres.admin_url)
    plans: list[str] = []
    try:
        # A tenant's page is read inside a function: auto_explain (which only a superuser may load) shows the plan of
        # the read it runs. asyncpg prepares statements once per connection, and PL/pgSQL its functions' reads once
        # per session; after a few runs PostgreSQL may plan either generically.
        connection.add_log_listener(lambda _, message: plans.append(message.message))
        await connection.execute(
            "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_level = notice; "
            f'SET auto_explain.log_nested_statements = on; SET plan_cache_mode = force_generic_plan; SET ROLE "{role}"'
        )
        await connection.execute(f"PREPARE page (text, uuid, integer) AS {SELECT_PAGE.positional_sql}")
        await connection.execute("EXECUTE page ('', gen_random_uuid(), 50)")
        page_of_tenant = {"tenant": "org-1", "after": BEFORE_EVERY_ID, "limit": 50}
        await connection.fetch(SELECT_PAGE_OF_TENANT.positional_sql, *SELECT_PAGE_OF_TENANT.arguments(page_of_tenant))
    finally:
        await connection.close()

    shared, tenants = (
        next(plan for plan in plans if f"\n{query}" in plan)
        for query in ("Query Text: PREPARE page", "Query Text: SELECT * FROM items WHERE")
    )
    for plan in (shared, tenants):
        # The tenant's own range of the (tenant, id) index, from the cursor on: no row before it read, nor another's.
        # The policy's condition (the same tenant, by the setting) is checked once, not against each row.
        assert "Index Cond: ((tenant = $1) AND (id > $2))" in plan, plan
        assert not [line for line in plan.splitlines() if "Filter" in line and "One-Time Filter" not in line], plan
