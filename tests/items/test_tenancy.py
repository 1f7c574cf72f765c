"""Tenancy (AUTH_TENANT_CLAIM): each item is its tenant's, on both backends. Another tenant's item answers exactly as
an unknown id, for every method and precondition; a token that names no tenant reaches no item."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar.types import ASGIApp

from app.settings import Settings
from tests.auth.conftest import bearer
from tests.auth.issuer import Issuer
from tests.conftest import Client, started

URL = "/api/v1/items"
CLAIM = "org_id"
ITEM = {"name": "widget", "description": "a thing"}
README = Path(__file__).parents[2] / "README.md"


def tenancy_settings(issuer: Issuer, database_url: str, **environ: str) -> Settings:
    return Settings.from_environ({"DATABASE_URL": database_url, **issuer.environ(AUTH_TENANT_CLAIM=CLAIM, **environ)})


@pytest.fixture
async def tenants(issuer: Issuer, database_url: str, built_apps: dict[Settings, ASGIApp]) -> AsyncIterator[Client]:
    async with started(tenancy_settings(issuer, database_url), built_apps) as client:
        yield client


def of(issuer: Issuer, tenant: object, subject: str = "user-1", *scopes: str) -> dict[str, str]:
    """A token of `tenant` (a claim's value; Ellipsis: no claim at all), for the same subject whatever the tenant."""
    claims: dict[str, Any] = {"sub": subject} | ({} if tenant is ... else {CLAIM: tenant})
    return bearer(issuer.token(*(scopes or ("items:read", "items:write")), claims=claims))


async def create(client: Client, headers: dict[str, str], name: str = "widget") -> dict[str, Any]:
    response = await client.post(URL, json={"name": name, "description": ""}, headers=headers)
    assert response.status_code == 201, response.text
    item: dict[str, Any] = response.json()
    return item


async def listed(client: Client, headers: dict[str, str], limit: int = 500) -> list[dict[str, Any]]:
    """Every item a tenant's list shows, page by page, following each page's Link."""
    items: list[dict[str, Any]] = []
    url: str | None = f"{URL}?limit={limit}"
    while url is not None:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        items += response.json()
        link = re.match(r"<([^>]+)>", response.headers.get("link", ""))
        url = link[1] if link else None
    return items


def answer(response: httpx.Response) -> tuple[int, str | None]:
    problem: dict[str, Any] = response.json() if response.content else {}
    return response.status_code, problem.get("type")


async def test_each_tenant_reads_lists_and_pages_only_its_own_items(tenants: Client, issuer: Issuer) -> None:
    first, second = of(issuer, "org-1"), of(issuer, "org-2")
    mine = [await create(tenants, first, f"org-1 {n}") for n in range(3)]
    theirs = [await create(tenants, second, f"org-2 {n}") for n in range(4)]

    assert await listed(tenants, first) == mine
    assert await listed(tenants, second, limit=1) == theirs  # page by page, cursors included
    for item in mine:
        assert (await tenants.get(f"{URL}/{item['id']}", headers=first)).json() == item
        assert (await tenants.get(f"{URL}/{item['id']}", headers=second)).status_code == 404


async def test_a_cursor_from_another_tenant_pages_the_callers_own_items(tenants: Client, issuer: Issuer) -> None:
    first, second = of(issuer, "org-1"), of(issuer, "org-2")
    ours = [await create(tenants, first) for _ in range(2)]
    theirs = [await create(tenants, second) for _ in range(2)]
    page = await tenants.get(f"{URL}?limit=1", headers=second)
    their_cursor = re.search(r"cursor=([\w-]+)", page.headers["link"])
    assert their_cursor is not None

    seen = await tenants.get(f"{URL}?limit=10&cursor={their_cursor[1]}", headers=first)

    assert [item["id"] for item in seen.json()] == [item["id"] for item in ours if item["id"] > theirs[0]["id"]]


PRECONDITIONS = [{}, {"If-Match": '"1"'}, {"If-Match": "*"}, {"If-None-Match": "*"}, {"If-None-Match": '"1"'}]


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("preconditions", PRECONDITIONS, ids=lambda headers: str(headers) or "none")
async def test_another_tenants_item_answers_exactly_as_an_unknown_id_and_is_left_as_it_was(
    tenants: Client, issuer: Issuer, method: str, preconditions: dict[str, str]
) -> None:
    owner, stranger = of(issuer, "org-1"), of(issuer, "org-2")
    item = await create(tenants, owner)
    body = {"PUT": ITEM, "PATCH": {"name": "taken"}}.get(method)

    async def call(item_id: str) -> tuple[int, str | None]:
        headers = stranger | preconditions
        return answer(await tenants.request(method, f"{URL}/{item_id}", json=body, headers=headers))

    assert await call(item["id"]) == await call(str(uuid.uuid4()))
    kept = await tenants.get(f"{URL}/{item['id']}", headers=owner)
    assert (kept.json(), kept.headers["etag"]) == (item, '"1"')


async def test_the_same_idempotency_key_from_two_tenants_makes_two_items(tenants: Client, issuer: Issuer) -> None:
    # The same client and subject in both tenants: a service account shared by the organizations, say.
    first, second = of(issuer, "org-1"), of(issuer, "org-2")
    keyed = {"Idempotency-Key": "shared-key"}

    made_first = await tenants.post(URL, json=ITEM, headers=first | keyed)
    made_second = await tenants.post(URL, json=ITEM, headers=second | keyed)
    retried_first = await tenants.post(URL, json=ITEM, headers=first | keyed)

    assert (made_first.status_code, made_second.status_code, retried_first.status_code) == (201, 201, 201)
    assert made_first.json()["id"] != made_second.json()["id"]
    assert retried_first.json() == made_first.json()
    assert [item["id"] for item in await listed(tenants, second)] == [made_second.json()["id"]]


@pytest.mark.parametrize("tenant", [..., "", 42, ["org-1"], None, {"id": "org-1"}], ids=repr)
async def test_a_token_that_names_no_tenant_reaches_no_item(tenants: Client, issuer: Issuer, tenant: object) -> None:
    item = await create(tenants, of(issuer, "org-1"))
    nameless = of(issuer, tenant, "user-1", "items:read", "items:write", "calculate")

    answers = [
        await tenants.get(URL, headers=nameless),
        await tenants.post(URL, json=ITEM, headers=nameless),
        await tenants.get(f"{URL}/{item['id']}", headers=nameless),
        await tenants.delete(f"{URL}/{item['id']}", headers=nameless),
    ]

    assert {answer(response) for response in answers} == {(403, "tag:items-service,2026:problems/tenant-unknown")}
    assert answers[0].json()["detail"] == (
        f"The token names no tenant: its {CLAIM} claim is missing, or not a non-empty string."
    )
    calculated = await tenants.post("/api/v1/calculate", json={"a": 1, "b": 2, "operation": "add"}, headers=nameless)
    assert calculated.status_code == 200, "the calculator keeps no tenant's data"
    assert len(await listed(tenants, of(issuer, "org-1"))) == 1


async def test_items_made_before_tenancy_belong_to_no_tenant_until_the_readme_statement_assigns_them(
    issuer: Issuer, database_url: str, built_apps: dict[Settings, ASGIApp]
) -> None:
    shared = Settings.from_environ({"DATABASE_URL": database_url, **issuer.environ()})
    async with started(shared, built_apps) as before:
        made_before = await create(before, of(issuer, "org-1"))
    async with started(tenancy_settings(issuer, database_url), built_apps) as after:
        assert await listed(after, of(issuer, "org-1")) == []

        await run_sql(database_url, readme_assignment())

        assert await listed(after, of(issuer, "org-1")) == [made_before]
        assert await listed(after, of(issuer, "org-2")) == []


async def test_tenants_working_at_once_never_see_each_others_items(tenants: Client, issuer: Issuer) -> None:
    """Several tenants create, list, page, update and delete concurrently: every item any answer carries is named
    after the tenant that asked."""
    names = [f"org-{number}" for number in range(4)]

    async def work(tenant: str) -> list[dict[str, Any]]:
        headers, seen = of(issuer, tenant), list[dict[str, Any]]()
        for round_ in range(6):
            made = await create(tenants, headers, f"{tenant} {round_}")
            changed = await tenants.patch(f"{URL}/{made['id']}", json={"description": tenant}, headers=headers)
            seen += [made, changed.json(), *await listed(tenants, headers, limit=2)]
            if round_ % 2:
                assert (await tenants.delete(f"{URL}/{made['id']}", headers=headers)).status_code == 204
        return seen

    answers = await asyncio.gather(*(work(tenant) for tenant in names))

    for tenant, seen in zip(names, answers, strict=True):
        assert {item["name"].split()[0] for item in seen} == {tenant}
        assert len(await listed(tenants, of(issuer, tenant))) == 3
    # Tenants are unbounded: no metric is labelled by one.
    metrics = (await tenants.get("/metrics")).text
    assert "http_requests_total" in metrics
    assert not any(tenant in metrics for tenant in names)


def readme_assignment() -> str:
    """The statement README.md#tenants gives operators, for the tenant org-1."""
    statement = re.search(r"```sql\n(UPDATE items SET tenant = 'org-1' WHERE tenant = '';)\n```", README.read_text())
    assert statement is not None
    return statement[1]


async def run_sql(database_url: str, statement: str) -> None:
    """As an operator would: SQLite's own client, or PostgreSQL's superuser, whom row-level security does not hold."""
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            connection.execute(statement)
        return
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()
