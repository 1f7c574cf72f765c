"""Items in PostgreSQL: the backend for several replicas of the service behind a load balancer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from app.http.conditional import Precondition
from app.items.errors import ItemNotFound, MigrationBlocked, SchemaTooNew, StorageBusy, StorageUnavailable
from app.items.idempotency import TAKE_KEY_IF_EXPIRED, KeyedCreate
from app.items.migrations import Migration, bundled
from app.items.models import Item, ItemPatch, utc_now
from app.items.retry import retry_until_available
from app.items.store import FIRST_VERSION, ItemStore, Versioned, not_changed, statement_for
from app.settings import Settings

# The files of app/items/migrations/postgresql/; the table schema_migrations records how far a database is.
MIGRATIONS = bundled("postgresql")
# Any fixed number: replicas starting together take this lock so each migration runs once.
MIGRATION_LOCK = 0x17E45
COLUMNS = "id, name, description, created_at, updated_at"
# Built once: the statements of every request, as asyncpg's statement cache keys them.
INSERT_ITEM = f"INSERT INTO items ({COLUMNS}, version) VALUES ($1, $2, $3, $4, $5, $6)"
SELECT_ITEM = f"SELECT {COLUMNS}, version FROM items WHERE id = $1"
# One range over the primary key whatever plan PostgreSQL caches for the prepared statement: with
# "$1 IS NULL OR id > $1" a generic plan filters every row before the cursor instead of seeking to it.
SELECT_PAGE = f"SELECT {COLUMNS} FROM items WHERE id > $1 ORDER BY id LIMIT $2"
UPDATE_ITEM = (
    "UPDATE items SET name = coalesce($1, name), description = coalesce($2, description), updated_at = $3 "
    f"WHERE id = $4 RETURNING {COLUMNS}, version"
)
# The comparison with the versions If-Match names and the write are one statement.
UPDATE_ITEM_IF = UPDATE_ITEM.replace("WHERE id = $4", "WHERE id = $4 AND version = ANY($5::bigint[])")
# One statement, one transaction: the key is claimed (app.items.idempotency) and the item inserted only when
# the key names it. A concurrent create with the same key waits on the key's row until this one commits.
ADD_ONCE = f"""
WITH claimed AS (
    INSERT INTO idempotency_keys (scope, key, fingerprint, item_id, created_at, expires_at)
    VALUES ($6, $7, $8, $1, $4, $9)
    ON CONFLICT (scope, key) DO UPDATE SET {TAKE_KEY_IF_EXPIRED}
    RETURNING fingerprint, item_id, created_at
), created AS (
    INSERT INTO items ({COLUMNS}, version)
    SELECT item_id, $2::text, $3::text, $4, $5::timestamptz, {FIRST_VERSION} FROM claimed WHERE item_id = $1
)
SELECT fingerprint, item_id, created_at FROM claimed
"""
# Rows other replicas are purging at the same moment are skipped, not waited for.
PURGE_KEYS = """
DELETE FROM idempotency_keys WHERE (scope, key) IN
    (SELECT scope, key FROM idempotency_keys WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
"""
DELETE_ITEM = "DELETE FROM items WHERE id = $1"
DELETE_ITEM_IF = "DELETE FROM items WHERE id = $1 AND version = ANY($2::bigint[])"
BEFORE_EVERY_ID = UUID(int=0)
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


class PostgresItemStore(ItemStore):
    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self._pool = pool
        self._url = settings.database.url
        self._pool_timeout = settings.database_pool_timeout
        # Readiness asks the database on a connection of its own: requests that hold every pooled connection
        # must not make a healthy replica look unready (ci/deploy/README.md#readiness).
        self._probe: asyncpg.Connection | None = None
        self._probing = asyncio.Lock()

    @classmethod
    async def open(cls, settings: Settings) -> PostgresItemStore:
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

        return cls(await retry_until_available(connect, settings.database_connect_timeout), settings)

    @asynccontextmanager
    async def _connection(self) -> AsyncGenerator[PoolConnectionProxy]:
        with _unavailable_on_failure():
            try:
                connection = await self._pool.acquire(timeout=self._pool_timeout)
            except TimeoutError:
                raise StorageBusy(self._pool_timeout) from None
            try:
                yield connection
            finally:
                await self._pool.release(connection)

    async def add(self, item: Item) -> None:
        async with self._connection() as connection:
            await connection.execute(
                INSERT_ITEM,
                item.id,
                item.name,
                item.description,
                item.created_at,
                item.updated_at,
                FIRST_VERSION,  # the ETag the create answers with, whatever the column's default
            )

    async def add_once(self, item: Item, keyed: KeyedCreate) -> Item:
        async with self._connection() as connection:
            # One row whatever happened: the key's, which names the item it created.
            (key,) = await connection.fetch(
                ADD_ONCE,
                item.id,
                item.name,
                item.description,
                item.created_at,
                item.updated_at,
                keyed.scope,
                keyed.key,
                keyed.fingerprint,
                keyed.expires_at,
            )
        if key["item_id"] == item.id:  # this create claimed the key
            return item
        return keyed.original(item, key["fingerprint"], key["item_id"], key["created_at"])

    async def purge_expired_keys(self, now: datetime, limit: int) -> int:
        async with self._connection() as connection:
            status = await connection.execute(PURGE_KEYS, now, limit)
        return int(status.removeprefix("DELETE "))

    async def get(self, item_id: UUID) -> Versioned:
        async with self._connection() as connection:
            row = await connection.fetchrow(SELECT_ITEM, item_id)
        if row is None:
            raise ItemNotFound(item_id)
        return Versioned(_item(row), row["version"])

    async def list_after(self, after: UUID | None, limit: int) -> list[Item]:
        async with self._connection() as connection:
            rows = await connection.fetch(SELECT_PAGE, BEFORE_EVERY_ID if after is None else after, limit)
        return [_item(row) for row in rows]

    async def update(self, item_id: UUID, patch: ItemPatch, if_match: Precondition | None) -> Versioned:
        parameters = (*patch.changes(), utc_now(), item_id)
        async with self._connection() as connection:
            sql, arguments = statement_for(UPDATE_ITEM, UPDATE_ITEM_IF, parameters, if_match, list)
            row = await connection.fetchrow(sql, *arguments)
        if row is None:
            raise not_changed(item_id, if_match)
        return Versioned(_item(row), row["version"])

    async def delete(self, item_id: UUID, if_match: Precondition | None) -> None:
        async with self._connection() as connection:
            sql, arguments = statement_for(DELETE_ITEM, DELETE_ITEM_IF, (item_id,), if_match, list)
            status = await connection.execute(sql, *arguments)
        if status == "DELETE 0":
            raise not_changed(item_id, if_match)

    async def ping(self) -> None:
        async with self._probing:  # probes that overlap share the one connection, one at a time
            with _unavailable_on_failure():
                try:
                    if self._probe is None:
                        self._probe = await asyncpg.connect(self._url, timeout=CONNECT_TIMEOUT_S)
                    await self._probe.fetchval("SELECT 1", timeout=CONNECT_TIMEOUT_S)
                except BaseException:
                    self._close_probe()  # a fresh connection next time: this one may be half broken
                    raise

    def _close_probe(self) -> None:
        if self._probe is not None:
            self._probe.terminate()
            self._probe = None

    async def close(self) -> None:
        self._close_probe()
        await self._pool.close()


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


def _item(row: asyncpg.Record) -> Item:
    return Item(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
