"""Smoke test of a running instance, over HTTP: what the CD pipeline runs after a deploy.

    python ci/smoke.py http://127.0.0.1:8000

Only the standard library, so it runs wherever Python does. Each check prints one line; the exit
code is 1 if any failed. The item it creates is deleted again.

Where the instance checks tokens, the smoke test sends one with every call to the API, and first checks that a call
without one is refused: SMOKE_TOKEN as given, or one granted at SMOKE_TOKEN_URL to the client SMOKE_CLIENT_ID with
SMOKE_CLIENT_SECRET (OAuth 2.0 client credentials, RFC 6749 section 4.4) for SMOKE_SCOPES (default: every scope
the checks need). Neither: the instance must be open.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

TIMEOUT_S = 10.0
HEALTH_KEYS = {"status", "version", "timestamp", "environment"}
SCOPES = "items:read items:write calculate"


class NoToken(Exception):
    """The token endpoint granted none: what it said, never the credentials."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


def access_token(environ: Mapping[str, str]) -> str | None:
    if environ.get("SMOKE_TOKEN"):
        return environ["SMOKE_TOKEN"]
    if not environ.get("SMOKE_TOKEN_URL"):
        return None
    # RFC 6749 section 2.3.1: the client's id and secret, each form-encoded, as HTTP Basic credentials.
    client, secret = (
        urllib.parse.quote(environ.get(name, ""), safe="") for name in ("SMOKE_CLIENT_ID", "SMOKE_CLIENT_SECRET")
    )
    form = {"grant_type": "client_credentials", "scope": environ.get("SMOKE_SCOPES", SCOPES)}
    request = urllib.request.Request(environ["SMOKE_TOKEN_URL"], data=urllib.parse.urlencode(form).encode())  # noqa: S310
    request.add_header("Authorization", "Basic " + base64.b64encode(f"{client}:{secret}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - the URL is the operator's
            token: str = json.loads(response.read())["access_token"]
            return token
    except urllib.error.HTTPError as refused:
        said = json.loads(refused.read() or b"{}").get("error", "no error code") if refused.code < 500 else "-"
        raise NoToken(f"the token endpoint answered {refused.code} ({said})") from None


@dataclass
class Smoke:
    base_url: str
    token: str | None = None
    failures: list[str] = field(default_factory=list[str])

    def call(self, method: str, path: str, body: object = None) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)  # noqa: S310
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token is not None and path.startswith("/api/"):
            request.add_header("Authorization", f"Bearer {self.token}")
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


def run(base_url: str, environ: Mapping[str, str]) -> int:
    try:
        token = access_token(environ)
    except (NoToken, OSError, ValueError, KeyError) as error:
        print(f"FAIL  no token for the smoke test: {error}")
        return 1
    smoke = Smoke(base_url.rstrip("/"), token)
    print(f"Smoke test of {smoke.base_url}, {'with a token' if token else 'open (no token given)'}")
    smoke.check(
        "health reports healthy",
        "GET",
        "/health",
        None,
        lambda a: a.status == 200 and a.body["status"] == "healthy" and set(a.body) == HEALTH_KEYS,
    )
    smoke.check("ready: the database answers", "GET", "/health/ready", None, lambda a: a.status == 200)
    if token is not None:
        anonymous = Smoke(smoke.base_url, failures=smoke.failures)  # its failures are the smoke test's
        anonymous.check(
            "without a token: 401",
            "GET",
            "/api/v1/items",
            None,
            lambda a: a.status == 401 and a.headers["www-authenticate"].startswith("Bearer"),
        )
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
    sys.exit(run(sys.argv[1], os.environ))
