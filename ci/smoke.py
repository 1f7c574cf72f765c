"""Smoke test of a running instance, over HTTP: what the CD pipeline runs after a deploy.

    python ci/smoke.py http://127.0.0.1:8000

Only the standard library, so it runs wherever Python does. Each check prints one line; the exit
code is 1 if any failed. The item it creates is deleted again.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TIMEOUT_S = 10.0
HEALTH_KEYS = {"status", "version", "timestamp", "environment"}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class Smoke:
    base_url: str
    failures: list[str] = field(default_factory=list[str])

    def call(self, method: str, path: str, body: object = None) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)  # noqa: S310
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - the URL is the operator's
                return answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return answer(error.code, dict(error.headers), error.read())

    def check(self, name: str, method: str, path: str, body: object, expect: Callable[[Answer], bool]) -> Answer | None:
        started = time.perf_counter()
        try:
            result = self.call(method, path, body)
            passed = expect(result)
            outcome = f"{result.status}"
        except (OSError, ValueError, KeyError, TypeError) as error:
            result, passed, outcome = None, False, f"error: {error}"
        milliseconds = (time.perf_counter() - started) * 1000
        print(f"{'ok  ' if passed else 'FAIL'}  {name:<40} {method} {path} -> {outcome} ({milliseconds:.0f} ms)")
        if not passed:
            self.failures.append(name)
        return result


def answer(status: int, headers: dict[str, str], raw: bytes) -> Answer:
    return Answer(status, {key.lower(): value for key, value in headers.items()}, json.loads(raw) if raw else None)


def run(base_url: str) -> int:
    smoke = Smoke(base_url.rstrip("/"))
    print(f"Smoke test of {smoke.base_url}")
    smoke.check(
        "health reports healthy",
        "GET",
        "/health",
        None,
        lambda a: a.status == 200 and a.body["status"] == "healthy" and set(a.body) == HEALTH_KEYS,
    )
    smoke.check("ready: the database answers", "GET", "/health/ready", None, lambda a: a.status == 200)
    created = smoke.check(
        "create an item",
        "POST",
        "/api/v1/items",
        {"name": "smoke test", "description": "created and deleted by the smoke test"},
        lambda a: a.status == 201 and a.headers["location"] == f"/api/v1/items/{a.body['id']}",
    )
    if created is not None and created.status == 201:
        location = created.headers["location"]
        smoke.check("read the item back", "GET", location, None, lambda a: a.status == 200 and a.body == created.body)
        smoke.check("delete the item", "DELETE", location, None, lambda a: a.status == 204)
        smoke.check("the deleted item is gone", "GET", location, None, lambda a: a.status == 404)
    smoke.check(
        "calculate",
        "POST",
        "/api/v1/calculate",
        {"a": 6, "b": 7, "operation": "multiply"},
        lambda a: a.status == 200 and a.body["result"] == 42,
    )
    smoke.check(
        "invalid input is a 422 problem",
        "POST",
        "/api/v1/calculate",
        {"a": "6", "b": 7, "operation": "multiply"},
        lambda a: a.status == 422 and a.headers["content-type"] == "application/problem+json",
    )
    if smoke.failures:
        print(f"FAILED: {len(smoke.failures)} check(s): {', '.join(smoke.failures)}")
        return 1
    print("All checks passed.")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(run(sys.argv[1]))
