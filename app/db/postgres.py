"""The database on a PostgreSQL server: the backend for several replicas of the service behind a load balancer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator, Sequence
from contextlib import asynccontextmanager, contextmanager

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from app.db.database import NO_LOCAL, Local, Step
from app.db.errors import MigrationBlocked, SchemaTooNew, StorageBusy, StorageUnavailable
from app.db.migrations import Migration, bundled
from app.db.retry import retry_until_available
from app.db.statements import Parameters, Rows, Statement
from app.settings import Settings

# The files of app/db/migrations/postgresql/; the table schema_migrations records how far a database is.
MIGRATIONS = bundled("postgresql")
# Any fixed number: replicas starting together take this lock so each migration runs once.
MIGRATION_LOCK = 0x17E45
CONNECT_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 10.0

# What a lost, refused or restarting server raises; anything else is a bug and stays a 500.
UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)


class PostgresDatabase:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pool: asyncpg.Pool
        # Readiness asks the database on a connection of its own: requests that hold every pooled connection
        # must not make a healthy replica look unready (ci/deploy/README.md#readiness).
        self._probe: asyncpg.Connection | None = None
        self._probing = asyncio.Lock()

    async def open(self) -> None:
        settings = self._settings

        async def connect() -> asyncpg.Pool:
            with _unavailable_on_failure():
                connection = await asyncpg.connect(settings.database.url, timeout=CONNECT_TIMEOUT_S)
                try:
                    await (_migrate(connection, settings) if settings.database_migrate else _check_schema(connection))
                finally:
                    await connection.close()
                return await asyncpg.create_pool(
                    settings.database.url,
                    min_size=1,
                    max_size=settings.database_pool_size,
                    timeout=CONNECT_TIMEOUT_S,
                    command_timeout=COMMAND_TIMEOUT_S,
                )

        self._pool = await retry_until_available(connect, settings.database_connect_timeout)
        self._probing = asyncio.Lock()  # of this start's event loop

    async def fetch(self, statement: Statement, parameters: Parameters, local: Local = NO_LOCAL) -> Rows:
        async with self._connection() as connection:
            if not local:  # one round trip: the statement is its own transaction
                return await _rows(connection, statement, parameters)
            async with connection.transaction():
                await _set_local(connection, local)
                return await _rows(connection, statement, parameters)

    async def fetch_together(self, steps: Sequence[Step], local: Local = NO_LOCAL) -> list[Rows]:
        async with self._connection() as connection, connection.transaction():
            await _set_local(connection, local)
            return [await _rows(connection, statement, parameters) for statement, parameters in steps]

    async def ping(self) -> None:
        async with self._probing:  # probes that overlap share the one connection, one at a time
            with _unavailable_on_failure():
                try:
                    if self._probe is None:
                        self._probe = await asyncpg.connect(self._settings.database.url, timeout=CONNECT_TIMEOUT_S)
                    await self._probe.fetchval("SELECT 1", timeout=CONNECT_TIMEOUT_S)
                except BaseException:
                    self._close_probe()  # a fresh connection next time: this one may be half broken
                    raise

    async def close(self) -> None:
        self._close_probe()
        await self._pool.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncGenerator[PoolConnectionProxy]:
        with _unavailable_on_failure():
            timeout = self._settings.database_pool_timeout
            try:
                connection = await self._pool.acquire(timeout=timeout)
            except TimeoutError:
                raise StorageBusy(timeout) from None
            try:
                yield connection
            finally:
                await self._pool.release(connection)

    def _close_probe(self) -> None:
        if self._probe is not None:
            self._probe.terminate()
            self._probe = None


async def _rows(connection: PoolConnectionProxy, statement: Statement, parameters: Parameters) -> Rows:
    # Through asyncpg's statement cache (prepare() would parse the statement again on every call); no row, no names.
    records = await connection.fetch(statement.positional_sql, *statement.arguments(parameters))
    columns = tuple(records[0].keys()) if records else ()
    return Rows(columns, [tuple(record) for record in records])


async def _set_local(connection: PoolConnectionProxy, local: Local) -> None:
    for name, value in local.items():  # set_config(..., true) is SET LOCAL, with the value a parameter
        await connection.execute("SELECT set_config($1, $2, true)", name, value)


@contextmanager
def _unavailable_on_failure() -> Generator[None]:
    """Turn the errors of an unreachable database into `StorageUnavailable` (503)."""
    try:
        yield
    except UNAVAILABLE as exc:
        raise StorageUnavailable from exc


async def _migrate(
    connection: asyncpg.Connection, settings: Settings, migrations: tuple[Migration, ...] = MIGRATIONS
) -> None:
    try:
        async with connection.transaction():
            # For this transaction only, and for the advisory lock too: a lock held elsewhere (another release's
            # migration, a long transaction on the table) ends the attempt instead of hanging the rollout.
            await connection.execute(f"SET LOCAL lock_timeout = {round(settings.migration_lock_timeout * 1000)}")
            await connection.execute(
                f"SET LOCAL statement_timeout = {round(settings.migration_statement_timeout * 1000)}"
            )
            await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await _apply_pending(connection, migrations)
    except asyncpg.exceptions.LockNotAvailableError:
        raise MigrationBlocked(
            f"a lock was held elsewhere for longer than {settings.migration_lock_timeout:g} s"
        ) from None
    except asyncpg.exceptions.QueryCanceledError:
        raise MigrationBlocked(f"a statement ran for longer than {settings.migration_statement_timeout:g} s") from None


async def _apply_pending(connection: asyncpg.Connection, migrations: tuple[Migration, ...]) -> None:
    await connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    # Tables made before migrations declared themselves expand-only lack the column: theirs were not.
    await connection.execute(
        "ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS expand_only boolean NOT NULL DEFAULT false"
    )
    version = await _current_version(connection, len(migrations))
    for migration in migrations[version:]:
        await connection.execute(migration.script)  # several statements at once: the simple query protocol
        await connection.execute(
            "INSERT INTO schema_migrations (version, expand_only) VALUES ($1, $2)",
            migration.number,
            migration.expand_only,
        )


async def _current_version(connection: asyncpg.Connection, known: int) -> int:
    """How far the schema is migrated; `SchemaTooNew` if a newer release changed it in a way this one cannot serve."""
    version: int = await connection.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
    breaking: int = await connection.fetchval(
        "SELECT count(*) FROM schema_migrations WHERE version > $1 AND NOT expand_only", known
    )
    if breaking:
        raise SchemaTooNew(version, known)
    return version


async def _check_schema(connection: asyncpg.Connection) -> None:
    """With DATABASE_MIGRATE=false: serve only a schema migrated this far (by `python -m app migrate`), else wait."""
    try:
        version = await _current_version(connection, len(MIGRATIONS))
    except asyncpg.exceptions.UndefinedTableError:
        version = 0
    if version < len(MIGRATIONS):
        # Retried like an unreachable database: the migration step of the rollout may still be running.
        raise StorageUnavailable(
            f"The schema is at version {version}, and this release needs {len(MIGRATIONS)}: "
            "run `python -m app migrate` (DATABASE_MIGRATE=false leaves it to that step)."
        )


async def migrate(settings: Settings, migrations: tuple[Migration, ...] = MIGRATIONS) -> None:
    """Apply pending migrations and return, serving nothing (`python -m app migrate`)."""

    async def attempt() -> None:
        with _unavailable_on_failure():
            connection = await asyncpg.connect(settings.database.url, timeout=CONNECT_TIMEOUT_S)
            try:
                await _migrate(connection, settings, migrations)
            finally:
                await connection.close()

    await retry_until_available(attempt, settings.database_connect_timeout)
