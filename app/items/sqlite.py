"""Items in an SQLite file: the embedded default, no server to run.

Writes run on one thread that owns the writing connection, so the event loop never waits for a
disk sync. WAL mode lets readers proceed while one connection writes (other workers' too), and
`synchronous=FULL` makes every acknowledged write survive a power cut.

That durability costs a sync of the disk per transaction, so writes are committed in groups: the
thread takes every write waiting in its queue, runs them in one transaction, commits once, and
only then answers each of them. Under concurrent load many writes share one sync; alone, a write
waits for nobody.

Reads run on the event loop itself, on a second, read-only connection without a busy timeout. In
WAL mode a read never waits for a writer, and reading an item from the page cache takes a few
microseconds: less than handing the read to a thread and back, which costs a thread wake-up, two
GIL hand-offs and a wake-up of the loop (about 25 µs here). The one moment a WAL read can find the
file busy, while another process recovers the log after a crash, it is refused at once (503,
retry after a second) instead of stalling the loop.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast
from uuid import UUID

import msgspec

from app.items.errors import ItemNotFound, SchemaTooNew, StorageUnavailable
from app.items.models import Item, ItemPatch, utc_now
from app.items.retry import retry_until_available
from app.items.store import ItemStore
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
# Rows leave SQLite as JSON objects, which msgspec decodes into Items in C: parsing the id and the
# timestamps in Python took longer than the query itself (a page of 50 items: 85 to 45 µs).
ITEM_JSON = (
    "json_object('id', id, 'name', name, 'description', description, "
    "'created_at', created_at, 'updated_at', updated_at)"
)
# Built once: the statements of every request, as the connection's statement cache keys them.
INSERT_ITEM = f"INSERT INTO items ({COLUMNS}) VALUES (?, ?, ?, ?, ?)"
SELECT_ITEM = f"SELECT {ITEM_JSON} FROM items WHERE id = ?"
SELECT_PAGE = f"SELECT {ITEM_JSON} FROM items WHERE id > ? ORDER BY id LIMIT ?"
UPDATE_ITEM = (
    "UPDATE items SET name = coalesce(?, name), description = coalesce(?, description), updated_at = ? "
    f"WHERE id = ? RETURNING {ITEM_JSON}"
)
JSONRow = tuple[str]
_item_from_json = msgspec.json.Decoder(Item).decode
_items_from_json = msgspec.json.Decoder(list[Item]).decode
# Locked by another process past the lock timeout, disk full, I/O errors, a folder that cannot be
# created: the store cannot serve now and may later. Any other error is a bug and stays a 500.
UNAVAILABLE = (sqlite3.OperationalError, OSError)


@dataclass(slots=True)
class _Job:
    work: Callable[..., Any]
    args: tuple[Any, ...]
    write: bool
    future: asyncio.Future[Any]


class _Worker:
    """The thread that owns the writing connection: writes in committed groups, other work (connecting,
    the readiness check, closing) one job at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.connection: sqlite3.Connection | None = None
        self._thread = threading.Thread(target=self._serve, name="sqlite", daemon=True)
        self._thread.start()

    def submit(self, work: Callable[..., T], *args: Any, write: bool = False) -> asyncio.Future[T]:
        future: asyncio.Future[T] = self._loop.create_future()
        self._jobs.put(_Job(work, args, write, future))
        return future

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join()

    def _serve(self) -> None:
        running = True
        while running:
            batch = [self._jobs.get()]
            while not self._jobs.empty():
                batch.append(self._jobs.get())
            running = None not in batch  # stop() sends None, after the last job
            jobs = [job for job in batch if job is not None]
            outcomes = [self._run(job) for job in jobs if not job.write]
            outcomes += self._write([job for job in jobs if job.write])
            self._loop.call_soon_threadsafe(_settle, outcomes)

    def _run(self, job: _Job) -> tuple[asyncio.Future[Any], Any, BaseException | None]:
        try:
            return job.future, job.work(self.connection, *job.args), None
        except Exception as exc:  # noqa: BLE001 - handed to the waiting coroutine, which raises it
            return job.future, None, exc

    def _write(self, jobs: list[_Job]) -> list[tuple[asyncio.Future[Any], Any, BaseException | None]]:
        if not jobs:
            return []
        # open() sets the connection before the store submits any write.
        connection = cast(sqlite3.Connection, self.connection)
        try:
            connection.execute("BEGIN IMMEDIATE")
            # A failing statement undoes only itself; the others still commit together.
            outcomes = [self._run(job) for job in jobs]
            connection.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - no transaction, or no commit: none of the group is stored
            connection.rollback()  # a no-op when the transaction never began
            return [(job.future, None, exc) for job in jobs]
        return outcomes


def _settle(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in outcomes:
        if future.cancelled():
            continue
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)


class SQLiteItemStore(ItemStore):
    def __init__(self, worker: _Worker, reader: sqlite3.Connection) -> None:
        self._worker = worker
        self._reader = reader

    @classmethod
    async def open(cls, settings: Settings) -> SQLiteItemStore:
        worker = _Worker(asyncio.get_running_loop())
        path = settings.database.sqlite_path
        lock_timeout_ms = round(settings.database_lock_timeout * 1000)

        async def connect() -> sqlite3.Connection:
            return await _unavailable_on_failure(worker.submit(_connect, path, lock_timeout_ms))

        try:
            worker.connection = await retry_until_available(connect, settings.database_connect_timeout)
            reader = await _unavailable_on_failure(worker.submit(_connect_reader, path))
        except BaseException:
            worker.stop()
            raise
        return cls(worker, reader)

    def _read(self, work: Callable[..., T], *args: Any) -> T:
        try:
            return work(self._reader, *args)
        except UNAVAILABLE as exc:
            raise StorageUnavailable from exc

    async def _write(self, work: Callable[..., T], *args: Any) -> T:
        return await _unavailable_on_failure(self._worker.submit(work, *args, write=True))

    async def add(self, item: Item) -> None:
        await self._write(_insert, item)

    async def get(self, item_id: UUID) -> Item:
        row = self._read(_fetch_one, SELECT_ITEM, (str(item_id),))
        if row is None:
            raise ItemNotFound(item_id)
        return _item_from_json(row[0])

    async def list_after(self, after: UUID | None, limit: int) -> list[Item]:
        rows = self._read(
            _fetch_all,
            SELECT_PAGE,
            ("" if after is None else str(after), limit),
        )
        return _items_from_json(f"[{','.join(document for (document,) in rows)}]")

    async def update(self, item_id: UUID, patch: ItemPatch) -> Item:
        # One statement, so concurrent writers (other workers too) cannot interleave a read and a write.
        row = await self._write(
            _fetch_one,
            UPDATE_ITEM,
            (*patch.changes(), utc_now().isoformat(), str(item_id)),
        )
        if row is None:
            raise ItemNotFound(item_id)
        return _item_from_json(row[0])

    async def delete(self, item_id: UUID) -> None:
        if await self._write(_execute, "DELETE FROM items WHERE id = ?", (str(item_id),)) == 0:
            raise ItemNotFound(item_id)

    async def ping(self) -> None:
        await _unavailable_on_failure(self._worker.submit(_check_writable))

    async def close(self) -> None:
        self._reader.close()
        await _unavailable_on_failure(self._worker.submit(sqlite3.Connection.close))
        self._worker.stop()


async def _unavailable_on_failure(future: asyncio.Future[T]) -> T:
    try:
        return await future
    except UNAVAILABLE as exc:
        raise StorageUnavailable from exc


def _connect(_: None, path: str, lock_timeout_ms: int) -> sqlite3.Connection:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout = {lock_timeout_ms}")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    _migrate(connection)
    return connection


def _connect_reader(_: sqlite3.Connection, path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA query_only = ON")
    return connection


def _migrate(connection: sqlite3.Connection) -> None:
    # IMMEDIATE takes the write lock first, so two workers starting at once apply each step once.
    with connection:  # commits at the end, rolls back on any error
        connection.execute("BEGIN IMMEDIATE")
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        if version > len(MIGRATIONS):
            raise SchemaTooNew(version, len(MIGRATIONS))
        for number, statement in enumerate(MIGRATIONS[version:], start=version + 1):
            connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number}")


def _insert(connection: sqlite3.Connection, item: Item) -> None:
    connection.execute(
        INSERT_ITEM,
        (str(item.id), item.name, item.description, item.created_at.isoformat(), item.updated_at.isoformat()),
    )


def _check_writable(connection: sqlite3.Connection) -> None:
    # Reads in WAL mode never wait; what can wedge SQLite is a write lock held elsewhere, so take it.
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("ROLLBACK")


def _fetch_one(connection: sqlite3.Connection, sql: str, parameters: tuple[Any, ...]) -> JSONRow | None:
    return connection.execute(sql, parameters).fetchone()


def _fetch_all(connection: sqlite3.Connection, sql: str, parameters: tuple[Any, ...]) -> list[JSONRow]:
    return connection.execute(sql, parameters).fetchall()


def _execute(connection: sqlite3.Connection, sql: str, parameters: tuple[Any, ...]) -> int:
    return connection.execute(sql, parameters).rowcount
