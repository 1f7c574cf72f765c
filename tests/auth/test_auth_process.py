"""Authentication in the real process (`python -m app`): what start-up says, and what the logs never hold."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.auth.conftest import bearer
from tests.auth.issuer import Issuer
from tests.conftest import sqlite_url
from tests.service import launch, running_service


def starting_line(records: list[dict[str, object]]) -> dict[str, object]:
    return next(record for record in records if record["event"] == "starting")


def test_production_without_an_issuer_refuses_to_start_naming_the_setting(tmp_path: Path) -> None:
    log_path = tmp_path / "service.log"
    code = launch({"ENVIRONMENT": "production", "DATABASE_URL": sqlite_url(tmp_path)}, log_path).wait(30)

    assert code == 2
    lines = log_path.read_text().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert (record["event"], record["variable"]) == ("invalid configuration", "AUTH_ISSUER")
    assert "AUTH_DISABLED=true" in record["allowed"]


def test_the_start_up_line_says_when_access_is_open_and_why(tmp_path: Path) -> None:
    database = {"DATABASE_URL": sqlite_url(tmp_path)}
    with running_service(database, tmp_path / "open.log") as service:
        assert httpx.get(f"{service.url}/api/v1/items").status_code == 200
        service.stop()
        assert "AUTH_ISSUER is unset" in str(starting_line(service.records())["authentication"])

    production = {**database, "ENVIRONMENT": "production", "AUTH_DISABLED": "true"}
    with running_service(production, tmp_path / "disabled.log") as service:
        service.stop()
        assert "AUTH_DISABLED=true" in str(starting_line(service.records())["authentication"])


def test_tokens_never_reach_the_logs_and_the_access_line_names_the_client_and_tenant(
    issuer: Issuer, tmp_path: Path
) -> None:
    good = issuer.token("items:read", "items:write", claims={"org_id": "org-1"})
    expired = issuer.token("items:read", claims={"exp": 1_000_000_000, "iat": 999_999_000, "org_id": "org-1"})
    unscoped = issuer.token("calculate", claims={"org_id": "org-2"})
    environment = {"DATABASE_URL": sqlite_url(tmp_path), **issuer.environ(AUTH_TENANT_CLAIM="org_id")}
    with running_service(environment, tmp_path / "service.log") as service:
        for token in (good, expired, unscoped, "not.a.token", "x" * 9000):
            httpx.get(f"{service.url}/api/v1/items", headers=bearer(token))
            httpx.post(f"{service.url}/api/v1/items?access_token={token}", json={"name": "n", "description": ""})
        assert (
            httpx.post(
                f"{service.url}/api/v1/items", json={"name": "n", "description": ""}, headers=bearer(good)
            ).status_code
            == 201
        )
        service.stop()
        output, records = service.output(), service.records()

    for token in (good, expired, unscoped):
        for part in token.split("."):
            assert part not in output
    assert "x" * 100 not in output
    assert (starting_line(records)["auth_issuer"], starting_line(records)["auth_tenant_claim"]) == (
        issuer.url,
        "org_id",
    )
    access = [record for record in records if record["logger"] == "app.access" and record["route"] != "/health/live"]
    assert {record["status"] for record in access} == {200, 201, 401, 403}
    assert {record["client_id"] for record in access if record["status"] in (200, 201, 403)} == {"test-client"}
    assert {record["client_id"] for record in access if record["status"] == 401} == {None}
    assert {record["tenant"] for record in access if record["status"] in (200, 201)} == {"org-1"}
    assert {record["tenant"] for record in access if record["status"] == 403} == {"org-2"}
    assert {record["tenant"] for record in access if record["status"] == 401} == {None}
    # The query string, which held a token, is never logged: the path is.
    assert {record["path"] for record in access} == {"/api/v1/items"}
    assert len(access) == 11


@pytest.mark.measure_subprocesses
def test_a_header_that_must_come_once_and_comes_twice_is_a_400(issuer: Issuer, tmp_path: Path) -> None:
    # Over a real connection: the test client joins repeated headers into one. Which of two a proxy, a log or this
    # service would read is anyone's guess, so neither is.
    token = issuer.token("items:read", "items:write")
    environment = {"DATABASE_URL": sqlite_url(tmp_path), **issuer.environ()}
    with running_service(environment, tmp_path / "service.log") as service:
        two_tokens = [("Authorization", f"Bearer {token}"), ("Authorization", "Bearer not.a.token")]
        two_keys = [*bearer(token).items(), ("Idempotency-Key", "one"), ("Idempotency-Key", "two")]
        answers = [
            httpx.get(f"{service.url}/api/v1/items", headers=two_tokens),
            httpx.post(f"{service.url}/api/v1/items", json={"name": "n", "description": ""}, headers=two_keys),
        ]
        items = httpx.get(f"{service.url}/api/v1/items", headers=bearer(token)).json()

    for answer, name in zip(answers, ("Authorization", "Idempotency-Key"), strict=True):
        assert answer.status_code == 400, answer.text
        assert answer.json()["type"].endswith("/repeated-header")
        assert name in answer.json()["detail"]
    assert items == []


@pytest.mark.measure_subprocesses
def test_a_key_set_url_s_credentials_and_query_reach_no_log_line(issuer: Issuer, tmp_path: Path) -> None:
    # httpx logged every fetch's URL at INFO, and the start-up line hid the password but not the query.
    secret_url = issuer.url.replace("://", "://user:secret-pass@") + "/jwks.json?api_key=secret-key"
    environment = {"DATABASE_URL": sqlite_url(tmp_path), **issuer.environ(AUTH_JWKS_URL=secret_url)}
    with running_service(environment, tmp_path / "service.log") as service:
        assert httpx.get(f"{service.url}/api/v1/items", headers=bearer(issuer.token("items:read"))).status_code == 200
        service.stop()
        output = service.output()

    assert issuer.jwks_fetches >= 1
    assert "secret-pass" not in output
    assert "secret-key" not in output
    assert starting_line(service.records())["auth_jwks_url"] == f"{issuer.url.replace('://', '://user:***@')}/jwks.json"
