"""The item store as tracing sees it: a client span per database statement, named by operation and table.

Installed over the store only where tracing is on (app.asgi). A span is made only inside a request's recorded span:
the purge loop and probes make none. The spans carry what OpenTelemetry's database conventions name, never a
statement's parameters nor a row.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from http import HTTPStatus
from typing import TypeVar
from urllib.parse import urlsplit
from uuid import UUID

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from app.http.conditional import Precondition
from app.http.errors import ServiceError
from app.items.idempotency import KeyedCreate
from app.items.models import Item, ItemPatch
from app.items.store import ItemStore, Versioned
from app.settings import DatabaseURL

Result = TypeVar("Result")


def database_attributes(database: DatabaseURL) -> dict[str, str | int]:
    """Which database the spans name: its system, name and server; never the URL, which may hold a password."""
    if database.kind == "sqlite":
        return {"db.system.name": "sqlite", "db.namespace": database.sqlite_path}
    parts = urlsplit(database.url)
    return {
        "db.system.name": "postgresql",
        "db.namespace": parts.path.lstrip("/"),
        "server.address": parts.hostname or "",
        "server.port": parts.port or 5432,
    }


class TracedStore:
    """An `ItemStore` that runs each call of `store` in a span of `tracer`."""

    def __init__(self, store: ItemStore, tracer: trace.Tracer, database: DatabaseURL) -> None:
        self.store = store
        self.tracer = tracer
        self.attributes = database_attributes(database)

    async def traced(self, operation: str, table: str, call: Awaitable[Result]) -> Result:
        if not trace.get_current_span().is_recording():
            return await call
        summary = f"{operation} {table}"
        attributes = {**self.attributes, "db.operation.name": operation, "db.collection.name": table}
        with self.tracer.start_as_current_span(
            summary,
            kind=SpanKind.CLIENT,
            attributes={**attributes, "db.query.summary": summary},
            record_exception=False,
            set_status_on_exception=False,  # no such item, or a stale ETag, is an answer, not a failure
        ) as span:
            try:
                return await call
            except ServiceError as exc:
                if exc.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
                    span.set_status(Status(StatusCode.ERROR))
                    span.set_attribute("error.type", type(exc).__name__)
                raise

    async def add(self, item: Item) -> None:
        await self.traced("INSERT", "items", self.store.add(item))

    async def add_once(self, item: Item, keyed: KeyedCreate) -> Item:
        return await self.traced("INSERT", "items", self.store.add_once(item, keyed))

    async def purge_expired_keys(self, now: datetime, limit: int) -> int:
        return await self.traced("DELETE", "idempotency_keys", self.store.purge_expired_keys(now, limit))

    async def get(self, item_id: UUID) -> Versioned:
        return await self.traced("SELECT", "items", self.store.get(item_id))

    async def list_after(self, after: UUID | None, limit: int) -> list[Item]:
        return await self.traced("SELECT", "items", self.store.list_after(after, limit))

    async def update(self, item_id: UUID, patch: ItemPatch, if_match: Precondition | None) -> Versioned:
        return await self.traced("UPDATE", "items", self.store.update(item_id, patch, if_match))

    async def delete(self, item_id: UUID, if_match: Precondition | None) -> None:
        await self.traced("DELETE", "items", self.store.delete(item_id, if_match))

    async def ping(self) -> None:
        await self.store.ping()

    async def close(self) -> None:
        await self.store.close()
