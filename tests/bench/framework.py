"""The benchmark's framework reference: the service's endpoints written plainly in Litestar.

Handlers as Litestar's documentation writes them (msgspec Structs, typed path, query and body
parameters, Litestar's own request and response classes), items in a dict, no logging, no metrics,
no middleware. What the framework costs before the service adds anything: `just bench` runs it
beside the service and the raw baseline, so a gap between the service and the baseline can be split
into the framework's share and the service's. Run it alone with `uvicorn tests.bench.framework:app`.

`logged` is the same app writing one JSON line per request through Litestar's StructlogPlugin, as the service writes
its access line: the reference the floors are set against (`uvicorn --factory tests.bench.framework:logged`).
"""

from __future__ import annotations

import itertools
import operator
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
import structlog
from litestar import Litestar, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.logging.config import StructLoggingConfig
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody
from litestar.plugins.structlog import StructlogConfig, StructlogPlugin
from litestar.types import ASGIApp, Message, Receive, Scope, Send

# The service's own item models: a field added to them is in the references' answers too.
from app.items.models import Item, ItemCreate

Number = int | float


class Health(msgspec.Struct):
    status: str
    version: str
    timestamp: datetime
    environment: str


class Calculation(msgspec.Struct):
    a: Number
    b: Number
    operation: Literal["add", "subtract", "multiply", "divide"]


class CalculationResult(msgspec.Struct):
    a: Number
    b: Number
    operation: str
    result: Number


OPERATIONS: dict[str, Callable[[Number, Number], Number]] = {
    "add": operator.add,
    "subtract": operator.sub,
    "multiply": operator.mul,
    "divide": lambda a, b: a / b,
}
items: dict[uuid.UUID, Item] = {}
created_by_key: dict[str, Item] = {}
# Every item here stays in its first version, as the service's seeded items do.
ETAG = '"1"'


@get("/health")
async def health() -> Health:
    return Health("healthy", "framework", datetime.now(UTC), "benchmark")


@post("/api/v1/calculate", status_code=200)
async def calculate(data: JSONBody[Calculation]) -> CalculationResult:
    result = OPERATIONS[data.operation](data.a, data.b)
    return CalculationResult(data.a, data.b, data.operation, result)


@post("/api/v1/items")
async def create_item(
    data: JSONBody[ItemCreate],
    idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key")] = None,
) -> Response[Item]:
    if idempotency_key is not None and idempotency_key in created_by_key:
        return Response(created_by_key[idempotency_key], status_code=201, headers={"ETag": ETAG})
    now = datetime.now(UTC)
    item = Item(id=uuid.uuid4(), created_at=now, updated_at=now, **msgspec.structs.asdict(data))
    items[item.id] = item
    if idempotency_key is not None:
        created_by_key[idempotency_key] = item
    return Response(item, status_code=201, headers={"ETag": ETAG})


@get("/api/v1/items/{item_id:uuid}")
async def read_item(
    item_id: FromPath[uuid.UUID],
    if_none_match: Annotated[str | None, HeaderParameter(name="If-None-Match")] = None,
) -> Response[Any]:
    try:
        item = items[item_id]
    except KeyError:
        raise NotFoundException from None
    if if_none_match == ETAG:
        return Response(None, status_code=304, headers={"ETag": ETAG})
    return Response(item, headers={"ETag": ETAG})


@get("/api/v1/items")
async def list_items(limit: FromQuery[int] = 50) -> list[Item]:
    return list(itertools.islice(items.values(), limit))


ROUTES = [health, calculate, create_item, read_item, list_items]
app = Litestar(ROUTES, logging_config=None, openapi_config=None)


access_logger = structlog.get_logger("access")


class AccessLine:
    """One JSON line per request, after its response, as the service writes one: the small middleware Litestar's
    logging docs pair with the StructlogPlugin once its own request/response logging middleware is off."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            access_logger.info(
                "request", method=scope["method"], path=scope["path"], status=status, duration_ms=duration_ms
            )


def logged() -> Litestar:
    """The same endpoints logging as the service does: the reference the floors compare with (tests/bench/README.md).
    A factory (`uvicorn --factory`): the plugin configures structlog for the whole process as the app is made, which
    importing this module must not do."""
    plugin = StructlogPlugin(
        StructlogConfig(
            structlog_logging_config=StructLoggingConfig(pretty_print_tty=False), enable_middleware_logging=False
        )
    )
    return Litestar(ROUTES, plugins=[plugin], middleware=[AccessLine], openapi_config=None)
