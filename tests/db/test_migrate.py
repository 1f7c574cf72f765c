"""`python -m app migrate`: the schema brought up to date as a step of its own, bounded by its timeouts."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app.db.postgres import MIGRATION_LOCK
from app.db.postgres import MIGRATIONS as POSTGRES_MIGRATIONS
from tests.service import launch, running_service


def migrate(environment: dict[str, str]) -> tuple[int, list[dict[str, Any]], float]:
    """Run `python -m app migrate`: its exit code, its log records, and how long it took."""
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, "-m", "app", "migrate"],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    records = [json.loads(line) for line in (finished.stdout + finished.stderr).splitlines()]
    return finished.returncode, records, time.monotonic() - started


async def schema_version(database_url: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        return int(await connection.fetchval("SELECT max(version) FROM schema_migrations"))
    finally:
        await connection.close()


@pytest.fixture
async def migration_lock_held(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    """Another session holding the migration lock, as another release's migration does while it runs."""
    holder = await asyncpg.connect(postgres_url)
    await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    yield holder
    await holder.close()


def test_migrate_brings_an_empty_database_up_to_date_and_exits(database_url: str, tmp_path: Path) -> None:
    code, records, _ = migrate({"DATABASE_URL": database_url})

    assert code == 0, records
    assert [record["event"] for record in records] == ["schema migrated"]
    assert "password" not in json.dumps(records)
    again, _, _ = migrate({"DATABASE_URL": database_url})  # nothing left to do: still 0
    assert again == 0


async def test_a_migration_waiting_on_a_lock_gives_up_after_its_timeout_and_succeeds_on_the_retry(
    postgres_url: str, migration_lock_held: asyncpg.Connection
) -> None:
    code, records, took = migrate({"DATABASE_URL": postgres_url, "MIGRATION_LOCK_TIMEOUT": "0.5"})

    assert code == 1
    (record,) = records
    assert (record["event"], record["level"]) == ("schema not migrated", "critical")
    assert "a lock was held elsewhere for longer than 0.5 s" in record["reason"]
    assert took < 10

    await migration_lock_held.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    retried, _, _ = migrate({"DATABASE_URL": postgres_url, "MIGRATION_LOCK_TIMEOUT": "0.5"})
    assert retried == 0
    assert await schema_version(postgres_url) == len(POSTGRES_MIGRATIONS)


@pytest.mark.measure_subprocesses
async def test_a_migration_statement_that_runs_too_long_is_cancelled(
    postgres_url: str, migration_lock_held: asyncpg.Connection
) -> None:
    # The lock wait is a statement too: with the lock timeout far off, the statement timeout ends it.
    environment = {"DATABASE_URL": postgres_url, "MIGRATION_LOCK_TIMEOUT": "600", "MIGRATION_STATEMENT_TIMEOUT": "1"}
    code, records, _ = migrate(environment)

    assert code == 1
    assert "a statement ran for longer than 1 s" in records[0]["reason"]


@pytest.mark.measure_subprocesses
async def test_start_up_gives_up_on_a_migration_lock_held_too_long(
    tmp_path: Path, postgres_url: str, migration_lock_held: asyncpg.Connection
) -> None:
    process = launch({"DATABASE_URL": postgres_url, "MIGRATION_LOCK_TIMEOUT": "0.5"}, tmp_path / "log")

    assert process.wait(30) != 0
    events = [json.loads(line)["event"] for line in (tmp_path / "log").read_text().splitlines()]
    assert "schema migration blocked, giving up" in events


@pytest.mark.measure_subprocesses
def test_migrate_refuses_a_schema_a_newer_release_changed(tmp_path: Path) -> None:
    database = tmp_path / "items.db"
    url = f"sqlite:///{database}"
    assert migrate({"DATABASE_URL": url})[0] == 0
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA user_version = 99")

    code, records, _ = migrate({"DATABASE_URL": url})

    assert code == 1
    assert "newer than the" in records[0]["reason"]


def test_migrate_reports_an_unreachable_database(tmp_path: Path) -> None:
    url = "postgresql://items:secret-password@127.0.0.1:1/items"
    code, records, _ = migrate({"DATABASE_URL": url, "DATABASE_CONNECT_TIMEOUT": "0.5"})

    assert code == 1
    assert records[-1]["event"] == "schema not migrated"
    assert "secret-password" not in json.dumps(records)


@pytest.mark.measure_subprocesses
def test_a_replica_that_may_not_migrate_waits_for_the_migration_step(tmp_path: Path, postgres_url: str) -> None:
    serving = {"DATABASE_URL": postgres_url, "DATABASE_MIGRATE": "false", "DATABASE_CONNECT_TIMEOUT": "1"}
    process = launch(serving, tmp_path / "before.log")
    assert process.wait(30) != 0  # nothing migrated it: it gives up after DATABASE_CONNECT_TIMEOUT
    refusal = (tmp_path / "before.log").read_text()
    assert "run `python -m app migrate`" in refusal

    assert migrate({"DATABASE_URL": postgres_url})[0] == 0
    with running_service(serving, tmp_path / "after.log") as service:
        assert httpx.get(f"{service.url}/health/ready").status_code == 200
