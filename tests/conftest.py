"""Fixtures: isolated apps on each storage backend, driven over ASGI with Litestar's test client."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.observe import RequestObserver
from app.settings import Settings

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
if os.environ.get("REQUIRE_POSTGRES") == "1" and not POSTGRES_URL:
    # CI sets REQUIRE_POSTGRES: there the PostgreSQL tests must run, never be skipped.
    raise pytest.UsageError("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
SKIP_POSTGRES = pytest.mark.skipif(
    not POSTGRES_URL, reason="TEST_DATABASE_URL is not set: no PostgreSQL server to test"
)

Client = AsyncTestClient[RequestObserver]


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'items.db'}"


async def empty_postgres() -> str:
    """The PostgreSQL test database with its items removed, so each test starts from nothing."""
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute("DROP TABLE IF EXISTS items, schema_migrations")
    finally:
        await connection.close()
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=SKIP_POSTGRES)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that uses it runs once per storage backend."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return await empty_postgres()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings.from_environ({"DATABASE_URL": database_url, "ENVIRONMENT": "test"})


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings.from_environ({"DATABASE_URL": sqlite_url(tmp_path), "ENVIRONMENT": "test"})


@pytest.fixture
async def sqlite_client(sqlite_settings: Settings) -> AsyncIterator[Client]:
    """For behaviour that does not depend on the storage backend: runs once."""
    async with AsyncTestClient(app=create_app(sqlite_settings)) as test_client:
        yield test_client
