"""The benchmark's baseline: the service's endpoints as a minimal hand-written ASGI app.

No framework, no validation beyond what the answers need, items in a dict: what this server stack
(uvicorn, uvloop, httptools, msgspec) can do at most. `just bench` runs it beside the service with
the same uvicorn settings. Run it alone with `uvicorn tests.bench.baseline:app`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

# The service's own model of what a create sends: a field added to it is in the references' answers too.
from app.items.models import ItemCreate

Scope = dict[str, Any]
JSON_HEADERS = [(b"content-type", b"application/json")]
# Every item here stays in its first version, as the service's seeded items do.
ITEM_HEADERS = [*JSON_HEADERS, (b"etag", b'"1"')]
NOT_FOUND = (404, b'{"type":"about:blank","title":"Not Found","status":404,"detail":"Not found."}')

items: dict[str, dict[str, Any]] = {}
order: list[str] = []
created_by_key: dict[bytes, bytes] = {}


def health() -> tuple[int, bytes]:
    now = datetime.now(UTC)
    body = {"status": "healthy", "version": "baseline", "timestamp": now, "environment": "benchmark"}
    return 200, msgspec.json.encode(body)


def calculate(body: bytes) -> tuple[int, bytes]:
    data = msgspec.json.decode(body)
    a, b, operation = data["a"], data["b"], data["operation"]
    result = {"add": a + b, "subtract": a - b, "multiply": a * b}.get(operation) if operation != "divide" else a / b
    return 200, msgspec.json.encode({"a": a, "b": b, "operation": operation, "result": result})


def create(body: bytes, key: bytes | None) -> tuple[int, bytes]:
    if key is not None and key in created_by_key:
        return 201, created_by_key[key]
    data = msgspec.structs.asdict(msgspec.json.decode(body, type=ItemCreate))
    now, item_id = datetime.now(UTC), str(uuid.uuid4())
    item: dict[str, Any] = {"id": item_id, **data, "created_at": now, "updated_at": now}
    items[item_id] = item
    order.append(item_id)
    payload = msgspec.json.encode(item)
    if key is not None:
        created_by_key[key] = payload
    return 201, payload


def read(item_id: str, if_none_match: bytes | None) -> tuple[int, bytes]:
    item = items.get(item_id)
    if item is None:
        return NOT_FOUND
    return (304, b"") if if_none_match == b'"1"' else (200, msgspec.json.encode(item))


def listing(query: bytes) -> tuple[int, bytes]:
    limit = 50
    for pair in query.split(b"&"):
        if pair.startswith(b"limit="):
            limit = int(pair[6:])
    return 200, msgspec.json.encode([items[item_id] for item_id in order[:limit]])


async def app(scope: Scope, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    method, path = scope["method"], scope["path"]
    headers = dict(scope["headers"])
    if path in ("/health", "/health/live"):
        status, payload = health()
    elif path == "/api/v1/calculate" and method == "POST":
        status, payload = calculate(body)
    elif path == "/api/v1/items" and method == "POST":
        status, payload = create(body, headers.get(b"idempotency-key"))
    elif path == "/api/v1/items":
        status, payload = listing(scope["query_string"])
    elif path.startswith("/api/v1/items/"):
        status, payload = read(path.rsplit("/", 1)[1], headers.get(b"if-none-match"))
    else:
        status, payload = NOT_FOUND
    item_answer = path.startswith("/api/v1/items/") or (path == "/api/v1/items" and method == "POST")
    response_headers = ITEM_HEADERS if item_answer and status < 400 else JSON_HEADERS
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": payload})
