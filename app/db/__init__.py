"""The one database of the service, shared by every resource: which backend, from the settings.

The backends are imported lazily: a deployment needs only its own database's driver.
"""

from __future__ import annotations

from app.db.database import Database
from app.settings import Settings


def database_for(settings: Settings) -> Database:
    """The configured database, not yet opened (`Database.open`, when the app starts)."""
    if settings.database.kind == "postgresql":
        from app.db.postgres import PostgresDatabase  # noqa: PLC0415 - only PostgreSQL deployments need asyncpg

        return PostgresDatabase(settings)
    from app.db.sqlite import SQLiteDatabase  # noqa: PLC0415

    return SQLiteDatabase(settings)


async def migrate_schema(settings: Settings) -> None:
    """Bring the configured database's schema up to date and return (`python -m app migrate`)."""
    if settings.database.kind == "postgresql":
        from app.db.postgres import migrate as migrate_postgres  # noqa: PLC0415 - only PostgreSQL needs asyncpg

        await migrate_postgres(settings)
        return
    from app.db.sqlite import migrate  # noqa: PLC0415

    migrate(settings)  # one file on this machine: no wait worth a thread
