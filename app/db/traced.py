"""The database as tracing sees it: a client span per statement, named by what it does to which table.

Installed over the database only where tracing is on (app.asgi), so that every statement of every store is traced
without a span written by hand. A span is made only inside a request's recorded span: the purge loop and probes make
none. The spans carry what OpenTelemetry's database conventions name, never a statement's parameters nor a row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from app.db.database import NO_LOCAL, Database, Local, Step
from app.db.errors import StorageUnavailable
from app.db.statements import Parameters, Rows, Statement
from app.settings import DatabaseURL

if TYPE_CHECKING:
    from app.observability.tracing import Tracing

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


class TracedDatabase:
    """A `Database` that runs each statement of `database` in a span of the running app's tracer."""

    def __init__(self, database: Database, tracing: Tracing, url: DatabaseURL) -> None:
        self.database = database
        self.tracing = tracing
        self.attributes = database_attributes(url)

    async def open(self) -> None:
        await self.database.open()

    async def close(self) -> None:
        await self.database.close()

    async def ping(self) -> None:
        await self.database.ping()

    async def fetch(self, statement: Statement, parameters: Parameters, local: Local = NO_LOCAL) -> Rows:
        return await self._traced(statement, self.database.fetch(statement, parameters, local))

    async def fetch_together(self, steps: Sequence[Step], local: Local = NO_LOCAL) -> list[Rows]:
        # One span for the transaction, whose steps commit as one, named by the last: what earlier steps claim or
        # check is for it (an idempotent create claims its key, then stores the item).
        return await self._traced(steps[-1][0], self.database.fetch_together(steps, local))

    async def _traced(self, statement: Statement, call: Awaitable[Result]) -> Result:
        if not trace.get_current_span().is_recording():
            return await call
        attributes = {
            **self.attributes,
            "db.operation.name": statement.operation,
            "db.collection.name": statement.table,
            "db.query.summary": statement.summary,
        }
        with self.tracing.tracer.start_as_current_span(
            statement.summary,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,  # a message may quote what a client sent
            set_status_on_exception=False,
        ) as span:
            try:
                return await call
            except StorageUnavailable as exc:
                span.set_status(Status(StatusCode.ERROR))
                span.set_attribute("error.type", type(exc).__name__)
                raise
