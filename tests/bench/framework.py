"""The benchmark's framework reference: the service's endpoints written plainly in Litestar.

Handlers as Litestar's documentation writes them (msgspec Structs, typed path, query and body
parameters, Litestar's own request and response classes), items in a dict, no logging, no metrics,
no middleware. What the framework costs before the service adds anything: `just bench` runs it
beside the service and the raw baseline, so a gap between the service and the baseline can be split
into the framework's share and the service's. Run it alone with `uvicorn tests.bench.framework:app`.
"""

from __future__ import annotations

import itertools
import operator
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Litestar, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody

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


class ItemCreate(msgspec.Struct):
    name: str
    description: str


class Item(msgspec.Struct):
    id: uuid.UUID
    name: str
    description: str
    created_at: datetime
    updated_at: datetime


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
    item = Item(uuid.uuid4(), data.name, data.description, now, now)
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


app = Litestar([health, calculate, create_item, read_item, list_items], logging_config=None, openapi_config=None)
