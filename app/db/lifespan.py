"""The database's life in the app: opened (and migrated) when the app starts, closed when it stops."""

from __future__ import annotations

import gc
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from app.db.database import Database
from app.db.errors import MigrationBlocked, SchemaTooNew, StorageUnavailable
from app.observability.logs import get_logger
from app.settings import Settings

logger = get_logger("app.asgi")  # the name these lines had when the app factory wrote them: aggregators filter by it


@asynccontextmanager
async def database_opened(database: Database, settings: Settings) -> AsyncGenerator[None]:
    """Open `database` for as long as the block runs; a failure to open is logged once, saying why, and raised."""
    try:
        await database.open()
    except StorageUnavailable as exc:
        logger.critical(
            "database unavailable at start-up, giving up",
            database=settings.database.redacted,
            waited_s=settings.database_connect_timeout,
            error=str(exc.__cause__ or exc),
        )
        raise
    except MigrationBlocked as exc:
        logger.critical("schema migration blocked, giving up", database=settings.database.redacted, message=str(exc))
        raise
    except SchemaTooNew as exc:
        logger.critical(
            "database schema newer than this release, refusing to start",
            database=settings.database.redacted,
            schema_version=exc.found,
            known_version=exc.known,
            message=str(exc),
        )
        raise
    # What start-up allocated lives as long as the process: frozen, the collector stops
    # re-scanning it, and full collections no longer stall requests for milliseconds.
    gc.freeze()
    try:
        yield
    finally:
        await database.close()
