"""The database in an SQLite file: the embedded default, no server to run.

Writes run on one thread (a single-thread executor) that owns the writing connection, so the event loop never
waits for a disk sync or for the write lock. WAL mode lets readers proceed while one connection writes (other
workers' too), and `synchronous=FULL` makes every acknowledged write survive a power cut.

That durability costs a sync of the disk per transaction, more than a create request costs otherwise, so writes are
committed in groups: those that arrive while a group is being committed wait for it to finish, then commit together
in one transaction and one sync, and each is answered only after that commit. Under load many writes share one
sync; alone, a write waits for nobody. Each write undoes only itself when it fails: one statement is atomic, and the
steps of one `fetch_together` share a savepoint.

Reads run on the event loop itself, on a second, read-only connection without a busy timeout. In WAL mode a read
never waits for a writer, and a read from the page cache costs less than the hop to a thread and back (a read item
took twice as long with one). A read of more than ROWS_PER_TURN rows runs on a thread of its own with its own
connection instead, so that the largest page of the largest items never holds the loop for long (tests/bench/README.md,
"Reads on the loop").
The one moment a WAL read can find the file busy, while another process recovers the log after a crash, it is
refused at once (503) instead of stalling the loop.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from app.db.database import NO_LOCAL, Local, Step
from app.db.errors import SchemaTooNew, StorageUnavailable
from app.db.migrations import Migration, bundled, statements_of
from app.db.retry import retry_until_available
from app.db.statements import Parameters, Rows, Statement
from app.settings import Settings

T = TypeVar("T")

# The files of app/db/migrations/sqlite/; PRAGMA user_version records how far a file is migrated.
MIGRATIONS = bundled("sqlite")
# Locked by another process past the lock timeout, disk full, I/O errors, a folder that cannot be
# created: the database cannot serve now and may later. Any other error is a bug and stays a 500.
UNAVAILABLE = (sqlite3.OperationalError, OSError)

# The column names of each statement run: statements are made once (module constants, and the cached variants of a
# write), so this stays as small as they are few.
COLUMNS_OF: dict[str, tuple[str, ...]] = {}
# A fraction of a millisecond of reading on the loop, with the largest items (tests/bench/README.md).
ROWS_PER_TURN = 100

# What one write does on the writing connection, inside the transaction of its group.
Work = Callable[[sqlite3.Connection], list[Rows]]


@dataclass(slots=True)
class _Write:
    run: Work
    answer: asyncio.Future[list[Rows]]


class SQLiteDatabase:
    def __init__(self, settings: Settings) -> None:
        self._path = settings.database.sqlite_path
        self._lock_timeout_ms = round(settings.database_lock_timeout * 1000)
        self._connect_timeout = settings.database_connect_timeout
        # Made when the database opens: the writer's thread and connection, the loop's reading connection, and the
        # thread and reading connection of long reads.
        self._writer_thread: ThreadPoolExecutor
        self._writer: sqlite3.Connection
        self._reader: sqlite3.Connection
        self._long_reads_thread: ThreadPoolExecutor
        self._long_reader: sqlite3.Connection
        self._waiting: list[_Write] = []  # for the next group commit
        self._committing: asyncio.Task[None] | None = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._writer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._long_reads_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-long-reads")

        async def connect() -> tuple[sqlite3.Connection, sqlite3.Connection]:
            return await _unavailable_on_failure(
                loop.run_in_executor(self._writer_thread, _connect, self._path, self._lock_timeout_ms)
            )

        try:
            self._writer, self._reader = await retry_until_available(connect, self._connect_timeout)
            self._long_reader = await self._in_thread(self._long_reads_thread, _reading_connection, self._path)
        except BaseException:
            self._writer_thread.shutdown(wait=False)
            self._long_reads_thread.shutdown(wait=False)
            raise

    async def fetch(self, statement: Statement, parameters: Parameters, local: Local = NO_LOCAL) -> Rows:  # noqa: ARG002
        sql, arguments = statement.sql, _adapted(parameters)
        if statement.reads_only:
            return await self._read(sql, arguments)
        (rows,) = await self._write(lambda connection: [_rows(connection, sql, arguments)])
        return rows

    async def fetch_together(self, steps: Sequence[Step], local: Local = NO_LOCAL) -> list[Rows]:  # noqa: ARG002
        # Adapted once for the steps that share them (as a claim and its insert do).
        by_identity = {id(parameters): _adapted(parameters) for _, parameters in steps}
        adapted = [(statement.sql, by_identity[id(parameters)]) for statement, parameters in steps]
        return await self._write(lambda connection: _in_savepoint(connection, adapted))

    async def ping(self) -> None:
        await self._in_thread(self._writer_thread, _check_writable, self._writer)

    async def close(self) -> None:
        if self._committing is not None:
            await self._committing  # writes still waiting for their commit
        self._reader.close()
        await self._in_thread(self._long_reads_thread, self._long_reader.close)
        await self._in_thread(self._writer_thread, self._writer.close)
        self._long_reads_thread.shutdown()
        self._writer_thread.shutdown()

    async def _read(self, sql: str, arguments: dict[str, object]) -> Rows:
        """On the loop, where a read costs less than the hop to a thread; one that returns more than ROWS_PER_TURN rows,
        which would hold the loop for long, is run again whole on the long reads' thread. One statement, one snapshot,
        either way: a statement left open across an await would hold the shared connection's snapshot for every read
        that starts meanwhile."""
        try:
            cursor = self._reader.execute(sql, arguments)
            try:
                records = cursor.fetchmany(ROWS_PER_TURN + 1)
            finally:
                cursor.close()
        except UNAVAILABLE as exc:
            raise StorageUnavailable from exc
        if len(records) > ROWS_PER_TURN:
            return await self._in_thread(self._long_reads_thread, _rows, self._long_reader, sql, arguments)
        return Rows(_columns(sql, cursor), records)

    async def _in_thread(self, thread: ThreadPoolExecutor, function: Callable[..., T], *args: Any) -> T:
        return await _unavailable_on_failure(asyncio.get_running_loop().run_in_executor(thread, function, *args))

    async def _write(self, run: Work) -> list[Rows]:
        write = _Write(run, asyncio.get_running_loop().create_future())
        self._waiting.append(write)
        if self._committing is None:
            self._committing = asyncio.create_task(self._commit_waiting())
        return await _unavailable_on_failure(write.answer)

    async def _commit_waiting(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                outcomes = await loop.run_in_executor(self._writer_thread, _commit, self._writer, group)
            except RuntimeError as exc:  # the writer's thread is shut down (a write after close): nothing is stored
                outcomes = [exc] * len(group)
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


# What SQLite stores for values it has no type for: ids and times as text (always with microseconds, so that times
# compare as text in the order they happened), lists as a JSON array.
ADAPTERS: dict[type, Callable[[Any], object]] = {
    UUID: str,
    datetime: lambda moment: moment.isoformat(timespec="microseconds"),
    list: json.dumps,
}


def _adapted(parameters: Parameters) -> dict[str, object]:
    adapted = dict(parameters)
    for name, value in parameters.items():
        adapter = ADAPTERS.get(type(value))
        if adapter is not None:
            adapted[name] = adapter(value)
    return adapted


def _rows(connection: sqlite3.Connection, sql: str, arguments: dict[str, object]) -> Rows:
    cursor = connection.execute(sql, arguments)
    return Rows(_columns(sql, cursor), cursor.fetchall())


def _columns(sql: str, cursor: sqlite3.Cursor) -> tuple[str, ...]:
    """The names of the columns `sql` returns, read from its first cursor only (by the statement's text, whose hash
    Python keeps: cheaper than the description's)."""
    names = COLUMNS_OF.get(sql)
    if names is None:
        names = COLUMNS_OF[sql] = tuple(column[0] for column in cursor.description or ())
    return names


def _in_savepoint(connection: sqlite3.Connection, steps: list[tuple[str, dict[str, object]]]) -> list[Rows]:
    """Run the steps of one write together: within the group's transaction, a savepoint undoes this write alone."""
    connection.execute("SAVEPOINT together")
    try:
        rows = [_rows(connection, sql, arguments) for sql, arguments in steps]
    except sqlite3.Error:
        if connection.in_transaction:  # else SQLite rolled the whole group back, savepoint and all
            connection.execute("ROLLBACK TO together")
            connection.execute("RELEASE together")
        raise
    connection.execute("RELEASE together")
    return rows


def _connect(path: str, lock_timeout_ms: int) -> tuple[sqlite3.Connection, sqlite3.Connection]:
    """The writing connection, with the schema brought up to date, and the reading one."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute(f"PRAGMA busy_timeout = {lock_timeout_ms}")
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA synchronous = FULL")
    _migrate(writer)
    return writer, _reading_connection(path)


def _reading_connection(path: str) -> sqlite3.Connection:
    reader = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    reader.execute("PRAGMA query_only = ON")
    return reader


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


def _commit(connection: sqlite3.Connection, group: list[_Write]) -> list[list[Rows] | Exception]:
    """Run a group of writes in one transaction: the rows each returns, or the error it raised."""
    try:
        connection.execute("BEGIN IMMEDIATE")
        outcomes = [_run(connection, write) for write in group]
        connection.execute("COMMIT")
    except Exception as exc:  # noqa: BLE001 - no transaction, or no commit: none of the group is stored
        connection.rollback()  # a no-op when the transaction never began
        return [exc] * len(group)
    return outcomes


def _run(connection: sqlite3.Connection, write: _Write) -> list[Rows] | Exception:
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
