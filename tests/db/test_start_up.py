"""Opening the store: bounded retries, then a clear failure that stops start-up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.db.errors import StorageUnavailable
from tests.conftest import start_and_stop


async def start(database_url: str) -> None:
    await start_and_stop(database_url, DATABASE_CONNECT_TIMEOUT="0.3")


async def test_an_sqlite_path_that_cannot_be_created_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")

    # The test client's task group wraps what the app's start-up raised.
    with pytest.raises(ExceptionGroup) as raised:
        await start(f"sqlite:///{tmp_path / 'file' / 'items.db'}")

    assert raised.group_contains(StorageUnavailable)


async def test_an_sqlite_file_whose_schema_cannot_be_upgraded_stops_start_up_unchanged(tmp_path: Path) -> None:
    database = tmp_path / "items.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE items (something_else TEXT)")

    with pytest.raises(ExceptionGroup) as raised:
        await start(f"sqlite:///{database}")

    assert raised.group_contains(StorageUnavailable)

    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (0,)
        assert connection.execute("SELECT name FROM pragma_table_info('items')").fetchall() == [("something_else",)]
