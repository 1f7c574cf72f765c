"""Items in an SQLite file: the embedded default, no server to run.

Writes run on one thread (a single-thread executor) that owns the writing connection, so the event
loop never waits for a disk sync or for the write lock. WAL mode lets readers proceed while one
connection writes (other workers' too), and `synchronous=FULL` makes every acknowledged write
survive a power cut.

That durability costs a sync of the disk per transaction, more than a create request costs
otherwise, so writes are committed in groups: those that arrive while a group is being committed
wait for it to finish, then commit together in one transaction and one sync, and each is answered
only after that commit. Under load many writes share one sync; alone, a write waits for nobody.

Reads run on the event loop itself, on a second, read-only connection without a busy timeout. In
WAL mode a read never waits for a writer, and a read from the page cache costs less than the hop
to a thread and back. The one moment a WAL read can find the file busy, while another process
recovers the log after a crash, it is refused at once (503) instead of stalling the loop.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import msgspec

from app.http.conditional import Precondition
from app.items.errors import ItemNotFound, SchemaTooNew, StorageUnavailable
from app.items.idempotency import TAKE_KEY_IF_EXPIRED, KeyedCreate
from app.items.migrations import Migration, bundled, statements_of
from app.items.models import Item, ItemPatch, utc_now
from app.items.retry import retry_until_available
from app.items.store import FIRST_VERSION, ItemStore, Versioned, not_changed, statement_for
from app.settings import Settings

T = TypeVar("T")

# The files of app/items/migrations/sqlite/; PRAGMA user_version records how far a file is migrated.
MIGRATIONS = bundled("sqlite")
COLUMNS = "id, name, description, created_at, updated_at"
# Built once: the statements of every request, as the connection's statement cache keys them.
INSERT_ITEM = f"INSERT INTO items ({COLUMNS}, version) VALUES (?, ?, ?, ?, ?, ?)"
SELECT_ITEM = f"SELECT {COLUMNS}, version FROM items WHERE id = ?"
SELECT_PAGE = f"SELECT {COLUMNS} FROM items WHERE id > ? ORDER BY id LIMIT ?"
UPDATE_ITEM = (
    "UPDATE items SET name = coalesce(?, name), description = coalesce(?, description), updated_at = ?, "
    f"version = version + 1 WHERE id = ? RETURNING {COLUMNS}, version"
)
# The versions If-Match names travel as one JSON array: the comparison and the write stay one statement.
IN_VERSIONS = "version IN (SELECT value FROM json_each(?))"
UPDATE_ITEM_IF = UPDATE_ITEM.replace("WHERE id = ?", f"WHERE id = ? AND {IN_VERSIONS}")
INSERT_KEY = (
    "INSERT INTO idempotency_keys (scope, key, fingerprint, item_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)"
)
CLAIM_KEY = (
    "INSERT INTO idempotency_keys (scope, key, fingerprint, item_id, created_at, expires_at) "
    f"VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope, key) DO UPDATE SET {TAKE_KEY_IF_EXPIRED} "
    "RETURNING fingerprint, item_id, created_at"
)
PURGE_KEYS = (
    "DELETE FROM idempotency_keys WHERE (scope, key) IN "
    "(SELECT scope, key FROM idempotency_keys WHERE expires_at <= ? LIMIT ?) RETURNING 1"
)
DELETE_ITEM = "DELETE FROM items WHERE id = ? RETURNING id"
DELETE_ITEM_IF = f"DELETE FROM items WHERE id = ? AND {IN_VERSIONS} RETURNING id"
Row = tuple[Any, ...]
# msgspec parses the ids and timestamps in C, where Python's UUID and datetime constructors would
# take longer than the query.
ItemRow = tuple[UUID, str, str, datetime, datetime]
VersionedRow = tuple[UUID, str, str, datetime, datetime, int]
KeyRow = tuple[bytes, UUID, datetime]
# Locked by another process past the lock timeout, disk full, I/O errors, a folder that cannot be
# created: the store cannot serve now and may later. Any other error is a bug and stays a 500.
UNAVAILABLE = (sqlite3.OperationalError, OSError)


# What one write does on the writing connection, inside the transaction of its group.
Statements = Callable[[sqlite3.Connection], list[Row]]


@dataclass(slots=True)
class _Write:
    run: Statements
    answer: asyncio.Future[list[Row]]


class SQLiteItemStore(ItemStore):
    def __init__(
        self, writer_thread: ThreadPoolExecutor, writer: sqlite3.Connection, reader: sqlite3.Connection
    ) -> None:
        self._writer_thread = writer_thread
        self._writer = writer
        self._reader = reader
        self._waiting: list[_Write] = []  # for the next group commit
        self._committing: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, settings: Settings) -> SQLiteItemStore:
        loop = asyncio.get_running_loop()
        writer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        path = settings.database.sqlite_path
        lock_timeout_ms = round(settings.database_lock_timeout * 1000)

        async def connect() -> tuple[sqlite3.Connection, sqlite3.Connection]:
            return await _unavailable_on_failure(loop.run_in_executor(writer_thread, _connect, path, lock_timeout_ms))

        try:
            writer, reader = await retry_until_available(connect, settings.database_connect_timeout)
        except BaseException:
            writer_thread.shutdown(wait=False)
            raise
        return cls(writer_thread, writer, reader)

    async def add(self, item: Item) -> None:
        await self._write(_statement(INSERT_ITEM, _item_parameters(item)))

    async def add_once(self, item: Item, keyed: KeyedCreate) -> Item:
        item_parameters = _item_parameters(item)
        item_id, created_at = item_parameters[0], item_parameters[3]
        claim = (keyed.scope, keyed.key, keyed.fingerprint, item_id, created_at, _time(keyed.expires_at))
        taken = await self._write(partial(_add_once, item_parameters, claim))
        if not taken:
            return item
        return keyed.original(item, *msgspec.convert(taken[0], KeyRow))

    async def purge_expired_keys(self, now: datetime, limit: int) -> int:
        return len(await self._write(_statement(PURGE_KEYS, (_time(now), limit))))

    async def get(self, item_id: UUID) -> Versioned:
        rows = self._read(SELECT_ITEM, (str(item_id),))
        if not rows:
            raise ItemNotFound(item_id)
        return _versioned(rows[0])

    async def list_after(self, after: UUID | None, limit: int) -> list[Item]:
        return _items(self._read(SELECT_PAGE, ("" if after is None else str(after), limit)))

    async def update(self, item_id: UUID, patch: ItemPatch, if_match: Precondition | None) -> Versioned:
        # One statement, so concurrent writers (other workers too) cannot interleave a read and a write.
        parameters = (*patch.changes(), utc_now().isoformat(), str(item_id))
        rows = await self._write(
            _statement(*statement_for(UPDATE_ITEM, UPDATE_ITEM_IF, parameters, if_match, json.dumps))
        )
        if not rows:
            raise not_changed(item_id, if_match)
        return _versioned(rows[0])

    async def delete(self, item_id: UUID, if_match: Precondition | None) -> None:
        deleted = await self._write(
            _statement(*statement_for(DELETE_ITEM, DELETE_ITEM_IF, (str(item_id),), if_match, json.dumps))
        )
        if not deleted:
            raise not_changed(item_id, if_match)

    async def ping(self) -> None:
        await self._in_writer_thread(_check_writable, self._writer)

    async def close(self) -> None:
        if self._committing is not None:
            await self._committing  # writes still waiting for their commit
        self._reader.close()
        await self._in_writer_thread(self._writer.close)
        self._writer_thread.shutdown()

    def _read(self, sql: str, parameters: tuple[object, ...]) -> list[Row]:
        try:
            return self._reader.execute(sql, parameters).fetchall()
        except UNAVAILABLE as exc:
            raise StorageUnavailable from exc

    async def _in_writer_thread(self, function: Callable[..., T], *args: Any) -> T:
        return await _unavailable_on_failure(
            asyncio.get_running_loop().run_in_executor(self._writer_thread, function, *args)
        )

    async def _write(self, run: Statements) -> list[Row]:
        write = _Write(run, asyncio.get_running_loop().create_future())
        self._waiting.append(write)
        if self._committing is None:
            self._committing = asyncio.create_task(self._commit_waiting())
        return await _unavailable_on_failure(write.answer)

    async def _commit_waiting(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            group, self._waiting = self._waiting, []
            outcomes = await loop.run_in_executor(self._writer_thread, _commit, self._writer, group)
            for write, outcome in zip(group, outcomes, strict=True):
                if write.answer.cancelled():  # its caller stopped waiting
                    continue
                if isinstance(outcome, Exception):
                    write.answer.set_exception(outcome)
                else:
                    write.answer.set_result(outcome)
        self._committing = None


async def _unavailable_on_failure(future: Awaitable[T]) -> T:
    try:
        return await future
    except UNAVAILABLE as exc:
        raise StorageUnavailable from exc


def _statement(sql: str, parameters: tuple[object, ...]) -> Statements:
    return lambda connection: connection.execute(sql, parameters).fetchall()


def _add_once(item: tuple[object, ...], claim: tuple[object, ...], connection: sqlite3.Connection) -> list[Row]:
    """Claim the key and insert the item, both or neither: no row; or the row of the key an earlier create took."""
    # Within the group's transaction, a savepoint undoes this create alone if its insert fails after the claim.
    connection.execute("SAVEPOINT add_once")
    try:
        try:
            connection.execute(INSERT_KEY, claim)  # a key never sent before: the usual case, and the cheapest
            taken = []
        except sqlite3.IntegrityError:  # stored already: by an earlier create, or expired and free again
            taken = connection.execute(CLAIM_KEY, claim).fetchall()
            if taken[0][1] == item[0]:
                taken = []
        if not taken:
            connection.execute(INSERT_ITEM, item)
    except sqlite3.Error:
        if connection.in_transaction:  # else SQLite rolled the whole group back, savepoint and all
            connection.execute("ROLLBACK TO add_once")
            connection.execute("RELEASE add_once")
        raise
    connection.execute("RELEASE add_once")
    return taken


def _item_parameters(item: Item) -> tuple[object, ...]:
    created_at, updated_at = _time(item.created_at), _time(item.updated_at)
    return (str(item.id), item.name, item.description, created_at, updated_at, FIRST_VERSION)


def _time(moment: datetime) -> str:
    # Always with microseconds, so that times compare as text in the order they happened.
    return moment.isoformat(timespec="microseconds")


def _versioned(row: Row) -> Versioned:
    item_id, name, description, created_at, updated_at, version = msgspec.convert(row, VersionedRow)
    return Versioned(Item(item_id, name, description, created_at, updated_at), version)


def _items(rows: list[Row]) -> list[Item]:
    return [Item(*row) for row in msgspec.convert(rows, list[ItemRow])]


def _connect(path: str, lock_timeout_ms: int) -> tuple[sqlite3.Connection, sqlite3.Connection]:
    """The writing connection, with the schema brought up to date, and the reading one."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute(f"PRAGMA busy_timeout = {lock_timeout_ms}")
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA synchronous = FULL")
    _migrate(writer)
    reader = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    reader.execute("PRAGMA query_only = ON")
    return writer, reader


def _migrate(connection: sqlite3.Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> None:
    # IMMEDIATE takes the write lock first, so two workers starting at once apply each step once.
    with connection:  # commits at the end, rolls back on any error
        connection.execute("BEGIN IMMEDIATE")
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        if version > len(migrations):
            raise SchemaTooNew(version, len(migrations))
        for migration in migrations[version:]:
            for statement in statements_of(migration):
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {migration.number}")


def migrate(settings: Settings, migrations: tuple[Migration, ...] = MIGRATIONS) -> None:
    """Apply pending migrations to the configured file and return (`python -m app migrate`)."""
    Path(settings.database.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(settings.database.sqlite_path, isolation_level=None)
    try:
        connection.execute(f"PRAGMA busy_timeout = {round(settings.database_lock_timeout * 1000)}")
        _migrate(connection, migrations)
    finally:
        connection.close()


def _commit(connection: sqlite3.Connection, group: list[_Write]) -> list[list[Row] | Exception]:
    """Run a group of writes in one transaction: the rows each returns, or the error it raised."""
    try:
        connection.execute("BEGIN IMMEDIATE")
        outcomes = [_run(connection, write) for write in group]
        connection.execute("COMMIT")
    except Exception as exc:  # noqa: BLE001 - no transaction, or no commit: none of the group is stored
        connection.rollback()  # a no-op when the transaction never began
        return [exc] * len(group)
    return outcomes


def _run(connection: sqlite3.Connection, write: _Write) -> list[Row] | Exception:
    try:
        return write.run(connection)
    except sqlite3.Error as exc:
        if not connection.in_transaction:  # SQLite rolled the whole group back (disk full, I/O error)
            raise
        return exc  # a failing statement undoes only itself; the others still commit


def _check_writable(connection: sqlite3.Connection) -> None:
    # Reads in WAL mode never wait; what can wedge SQLite is a write lock held elsewhere, so take it.
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("ROLLBACK")
