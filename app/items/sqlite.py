"""Items in an SQLite file: the embedded default, no server to run.

SQLite calls block, so every call runs on one dedicated thread that owns the connection; the event
loop never waits on the disk. WAL mode lets readers in other processes (WORKERS > 1) proceed while
one writes, and `synchronous=FULL` makes every acknowledged write survive a power cut.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from app.errors import ItemNotFound, StorageUnavailable
from app.items.models import Item, ItemPatch, utc_now
from app.items.retry import retry_until_available
from app.settings import Settings

T = TypeVar("T")

# Each entry upgrades the schema by one version; PRAGMA user_version records how far a file is.
MIGRATIONS = (
    """
    CREATE TABLE items (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        description TEXT NOT NULL CHECK (length(description) <= 2000),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) WITHOUT ROWID
    """,
)
COLUMNS = "id, name, description, created_at, updated_at"
Row = tuple[str, str, str, str, str]


class SQLiteItemStore:
    def __init__(self, connection: sqlite3.Connection, executor: ThreadPoolExecutor) -> None:
        self._connection = connection
        self._executor = executor

    @classmethod
    async def open(cls, settings: Settings) -> SQLiteItemStore:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        path = settings.database.sqlite_path
        lock_timeout_ms = round(settings.database_lock_timeout * 1000)

        async def connect() -> sqlite3.Connection:
            return await _in_thread(executor, _connect, path, lock_timeout_ms)

        try:
            connection = await retry_until_available(connect, settings.database_connect_timeout)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(connection, executor)

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        return await _in_thread(self._executor, work, self._connection, *args)

    async def add(self, item: Item) -> None:
        await self._run(_insert, item)

    async def get(self, item_id: UUID) -> Item:
        row = await self._run(_fetch_one, f"SELECT {COLUMNS} FROM items WHERE id = ?", (str(item_id),))
        if row is None:
            raise ItemNotFound(item_id)
        return _item(row)

    async def list_after(self, after: UUID | None, limit: int) -> list[Item]:
        rows = await self._run(
            _fetch_all,
            f"SELECT {COLUMNS} FROM items WHERE id > ? ORDER BY id LIMIT ?",
            ("" if after is None else str(after), limit),
        )
        return [_item(row) for row in rows]

    async def update(self, item_id: UUID, patch: ItemPatch) -> Item:
        # One statement, so concurrent writers (other workers too) cannot interleave a read and a write.
        row = await self._run(
            _fetch_one,
            f"UPDATE items SET name = coalesce(?, name), description = coalesce(?, description), updated_at = ? "
            f"WHERE id = ? RETURNING {COLUMNS}",
            (*patch.changes(), utc_now().isoformat(), str(item_id)),
        )
        if row is None:
            raise ItemNotFound(item_id)
        return _item(row)

    async def delete(self, item_id: UUID) -> None:
        if await self._run(_execute, "DELETE FROM items WHERE id = ?", (str(item_id),)) == 0:
            raise ItemNotFound(item_id)

    async def ping(self) -> None:
        await self._run(_check_writable)

    async def close(self) -> None:
        await self._run(sqlite3.Connection.close)
        self._executor.shutdown(wait=True)


async def _in_thread(executor: ThreadPoolExecutor, work: Callable[..., T], *args: Any) -> T:
    try:
        return await asyncio.get_running_loop().run_in_executor(executor, work, *args)
    except (sqlite3.OperationalError, OSError) as exc:
        # Locked by another process past the lock timeout, disk full, I/O errors, a folder that cannot
        # be created: the store cannot serve now and may later. Other errors are bugs and stay 500s.
        raise StorageUnavailable from exc


def _connect(path: str, lock_timeout_ms: int) -> sqlite3.Connection:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout = {lock_timeout_ms}")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    _migrate(connection)
    return connection


def _migrate(connection: sqlite3.Connection) -> None:
    # IMMEDIATE takes the write lock first, so two workers starting at once apply each step once.
    with connection:  # commits at the end, rolls back on any error
        connection.execute("BEGIN IMMEDIATE")
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        for number, statement in enumerate(MIGRATIONS[version:], start=version + 1):
            connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number}")


def _insert(connection: sqlite3.Connection, item: Item) -> None:
    connection.execute(
        f"INSERT INTO items ({COLUMNS}) VALUES (?, ?, ?, ?, ?)",
        (str(item.id), item.name, item.description, item.created_at.isoformat(), item.updated_at.isoformat()),
    )


def _check_writable(connection: sqlite3.Connection) -> None:
    # Reads in WAL mode never wait; what can wedge SQLite is a write lock held elsewhere, so take it.
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("ROLLBACK")


def _fetch_one(connection: sqlite3.Connection, sql: str, parameters: tuple[Any, ...]) -> Row | None:
    return connection.execute(sql, parameters).fetchone()


def _fetch_all(connection: sqlite3.Connection, sql: str, parameters: tuple[Any, ...]) -> list[Row]:
    return connection.execute(sql, parameters).fetchall()


def _execute(connection: sqlite3.Connection, sql: str, parameters: tuple[Any, ...]) -> int:
    return connection.execute(sql, parameters).rowcount


def _item(row: Row) -> Item:
    return Item(
        id=UUID(row[0]),
        name=row[1],
        description=row[2],
        created_at=datetime.fromisoformat(row[3]),
        updated_at=datetime.fromisoformat(row[4]),
    )
