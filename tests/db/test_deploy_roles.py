"""The two PostgreSQL roles of ci/deploy/README.md, set up by the guide's own SQL: the migrating role changes the
schema, and the serving role reads and writes a tenant's items through what the migrations made, and no more."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from litestar.types import ASGIApp

from app.db import postgres
from app.settings import Settings
from tests.auth.issuer import Issuer
from tests.conftest import started
from tests.items.test_tenancy import create, listed, of, tenancy_settings
from tests.postgres import run_statements

GUIDE = Path(__file__).parents[2] / "ci" / "deploy" / "README.md"
SETUP = re.compile(r"Once per database, as an administrator:\n\n```sql\n(?P<sql>.*?)```", re.DOTALL)
CONNECT = re.compile(r"^\\c (?P<database>\w+)$", re.MULTILINE)


def url_of(server_url: str, database: str, role: str | None = None, password: str | None = None) -> str:
    parts = urlsplit(server_url)
    netloc = parts.netloc if role is None else f"{role}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{database}"))


@pytest.fixture
async def guide_roles(postgres_url: str, worker_id: str) -> tuple[str, str]:
    """The URLs of the migrating role and the serving role, made by the guide's SQL, named for this worker (roles
    are the server's, shared by every worker's database)."""
    match = SETUP.search(GUIDE.read_text())
    assert match is not None, "ci/deploy/README.md no longer sets the roles up in one SQL block"
    password = secrets.token_hex(16)
    names = {name: f"{name}_{worker_id}" for name in ("items_migrate", "items_app")}
    database = f"items_guide_{worker_id}"
    script = match["sql"].replace("'...'", f"'{password}'")  # hex: nothing to quote
    for name, ours in names.items():
        script = re.sub(rf"\b{name}\b", ours, script)
    script = re.sub(r"\bDATABASE items\b", f"DATABASE {database}", script)
    # The statements before `\c items`, on the server; the rest in the database made.
    on_server, connect, in_database = CONNECT.split(script, maxsplit=1)
    assert connect == "items", "the guide connects to the database it made"

    drops = [
        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
        *(f'DROP ROLE IF EXISTS "{role}"' for role in names.values()),
    ]
    await run_statements(postgres_url, *drops)
    await run_statements(postgres_url, *(statement for statement in on_server.split(";\n") if statement.strip()))
    await run_statements(url_of(postgres_url, database), in_database)
    migrate, serve = (url_of(postgres_url, database, names[name], password) for name in ("items_migrate", "items_app"))
    return migrate, serve


async def test_the_guides_serving_role_serves_tenants_on_the_schema_its_migrating_role_made(
    guide_roles: tuple[str, str], issuer: Issuer, built_apps: dict[Settings, ASGIApp]
) -> None:
    migrate_url, serve_url = guide_roles
    await postgres.migrate(Settings.from_environ({"DATABASE_URL": migrate_url}))  # `python -m app migrate`
    owner, stranger = of(issuer, "org-1"), of(issuer, "org-2")

    async with started(tenancy_settings(issuer, serve_url, DATABASE_MIGRATE="false"), built_apps) as client:
        item = await create(client, owner)
        assert (await client.get(f"/api/v1/items/{item['id']}", headers=owner)).json() == item
        assert await listed(client, owner) == [item]
        assert (await client.get(f"/api/v1/items/{item['id']}", headers=stranger)).status_code == 404
        # A change fires the trigger that raises the version: a function too, which a trigger runs without a grant.
        replaced = await client.put(
            f"/api/v1/items/{item['id']}", json={"name": "renamed", "description": ""}, headers=owner
        )
        assert (replaced.status_code, replaced.headers["etag"]) == (200, '"2"')
        assert (await client.delete(f"/api/v1/items/{item['id']}", headers=owner)).status_code == 204

    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
        await run_statements(serve_url, "ALTER TABLE items ADD COLUMN colour text")
