"""The item store a database URL names: which backend, opened or migrated from the settings.

Apart from the protocol (app.items.store) so that nothing imports in a circle: the backends import the protocol,
this module imports the backends (lazily: a deployment needs only its own database's driver).
"""

from __future__ import annotations

from app.items.store import ItemStore
from app.settings import Settings


async def open_store(settings: Settings) -> ItemStore:
    """Connect to the configured database (retrying for a bounded time) and bring its schema up to date."""
    if settings.database.kind == "postgresql":
        from app.items.postgres import PostgresItemStore  # noqa: PLC0415 - only PostgreSQL deployments need asyncpg

        return await PostgresItemStore.open(settings)
    from app.items.sqlite import SQLiteItemStore  # noqa: PLC0415

    return await SQLiteItemStore.open(settings)


async def migrate_schema(settings: Settings) -> None:
    """Bring the configured database's schema up to date and return (`python -m app migrate`)."""
    if settings.database.kind == "postgresql":
        from app.items.postgres import migrate as migrate_postgres  # noqa: PLC0415 - only PostgreSQL needs asyncpg

        await migrate_postgres(settings)
        return
    from app.items.sqlite import migrate  # noqa: PLC0415

    migrate(settings)  # one file on this machine: no wait worth a thread
