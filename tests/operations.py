"""Every operation of the API in one table: a route missing here, or one the app lacks, fails the tests that read it
(tests/http/test_openapi.py: the API document; tests/auth/test_access.py: what each one requires)."""

from __future__ import annotations

from typing import Any, NamedTuple

ITEM = {"name": "Widget", "description": "A very useful widget"}


class Operation(NamedTuple):
    method: str
    path: str  # as the API document names it; {item_id} is an existing item's id
    scope: str | None  # what a token must grant; None: open
    body: dict[str, Any] | None = None  # of a request that succeeds
    status: int = 200  # of that request
    also_granted_by: tuple[str, ...] = ()  # scopes that imply `scope`


OPERATIONS = {
    "listItems": Operation("GET", "/api/v1/items", "items:read", also_granted_by=("items:write",)),
    "getItem": Operation("GET", "/api/v1/items/{item_id}", "items:read", also_granted_by=("items:write",)),
    "createItem": Operation("POST", "/api/v1/items", "items:write", ITEM, 201),
    "replaceItem": Operation("PUT", "/api/v1/items/{item_id}", "items:write", ITEM),
    "updateItem": Operation("PATCH", "/api/v1/items/{item_id}", "items:write", {"name": "Renamed"}),
    "deleteItem": Operation("DELETE", "/api/v1/items/{item_id}", "items:write", None, 204),
    "calculate": Operation("POST", "/api/v1/calculate", "calculate", {"a": 1, "b": 2, "operation": "add"}),
    "getHealth": Operation("GET", "/health", None),
    "getLiveness": Operation("GET", "/health/live", None),
    "getReadiness": Operation("GET", "/health/ready", None),
    "getMetrics": Operation("GET", "/metrics", None),
}
PROTECTED = {name: operation for name, operation in OPERATIONS.items() if operation.scope is not None}
SCOPES = tuple(dict.fromkeys(operation.scope for operation in PROTECTED.values() if operation.scope))
