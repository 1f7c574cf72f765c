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

Scope = dict[str, Any]
JSON_HEADERS = [(b"content-type", b"application/json")]
NOT_FOUND = (404, b'{"type":"about:blank","title":"Not Found","status":404,"detail":"Not found."}')

items: dict[str, dict[str, Any]] = {}
order: list[str] = []


def health() -> tuple[int, bytes]:
    now = datetime.now(UTC)
    body = {"status": "healthy", "version": "baseline", "timestamp": now, "environment": "benchmark"}
    return 200, msgspec.json.encode(body)


def calculate(body: bytes) -> tuple[int, bytes]:
    data = msgspec.json.decode(body)
    a, b, operation = data["a"], data["b"], data["operation"]
    result = {"add": a + b, "subtract": a - b, "multiply": a * b}.get(operation) if operation != "divide" else a / b
    return 200, msgspec.json.encode({"a": a, "b": b, "operation": operation, "result": result})


def create(body: bytes) -> tuple[int, bytes]:
    data = msgspec.json.decode(body)
    now = datetime.now(UTC)
    item = {"id": str(uuid.uuid4()), "name": data["name"], "description": data["description"]}
    item |= {"created_at": now, "updated_at": now}
    items[item["id"]] = item
    order.append(item["id"])
    return 201, msgspec.json.encode(item)


def read(item_id: str) -> tuple[int, bytes]:
    item = items.get(item_id)
    return NOT_FOUND if item is None else (200, msgspec.json.encode(item))


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
    if path in ("/health", "/health/live"):
        status, payload = health()
    elif path == "/api/v1/calculate" and method == "POST":
        status, payload = calculate(body)
    elif path == "/api/v1/items" and method == "POST":
        status, payload = create(body)
    elif path == "/api/v1/items":
        status, payload = listing(scope["query_string"])
    elif path.startswith("/api/v1/items/"):
        status, payload = read(path.rsplit("/", 1)[1])
    else:
        status, payload = NOT_FOUND
    await send({"type": "http.response.start", "status": status, "headers": JSON_HEADERS})
    await send({"type": "http.response.body", "body": payload})
