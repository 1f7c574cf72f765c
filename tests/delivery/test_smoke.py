"""The smoke test passes against a real instance and fails loudly against a broken one."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from tests.auth.issuer import Issuer
from tests.auth.stand_in_issuer import serve
from tests.conftest import sqlite_url
from tests.service import free_port, running_service

SMOKE = Path(__file__).parents[2] / "ci" / "smoke.py"


def smoke(url: str, environ: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SMOKE), url],
        env={**os.environ, **(environ or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def stand_in(tmp_path: Path) -> Iterator[dict[str, str]]:
    """What `.ci/run` gives staging and the smoke test: the stand-in issuer's settings, and its authority to trust."""
    issuer = serve("localhost", tmp_path)
    settings = {"SSL_CERT_FILE": str(tmp_path / "ca.pem")}
    for assignment in (tmp_path / "environment").read_text().splitlines():
        name, _, value = assignment.partition("=")
        settings[name] = shlex.split(value)[0]
    try:
        yield settings
    finally:
        issuer.stop()


def test_the_smoke_test_passes_against_the_service_and_leaves_no_item(tmp_path: Path) -> None:
    with running_service({"DATABASE_URL": f"sqlite:///{tmp_path / 'items.db'}"}, tmp_path / "log") as service:
        result = smoke(service.url)
        leftovers = httpx.get(f"{service.url}/api/v1/items").json()

    assert result.returncode == 0, result.stdout
    assert "All checks passed." in result.stdout
    assert "FAIL" not in result.stdout
    assert leftovers == []


def test_the_smoke_test_fails_when_nothing_answers() -> None:
    result = smoke(f"http://127.0.0.1:{free_port()}")

    assert result.returncode == 1
    assert "FAIL  health reports healthy" in result.stdout
    assert "FAILED:" in result.stdout


def test_the_smoke_test_needs_exactly_one_url() -> None:
    result = subprocess.run([sys.executable, str(SMOKE)], capture_output=True, text=True, check=False)

    assert result.returncode == 2
    assert "Smoke test of a running instance" in result.stdout


def test_a_staging_that_checks_tokens_passes_with_one_granted_to_the_smoke_test_and_none_leaks(
    stand_in: dict[str, str], tmp_path: Path
) -> None:
    """`.ci/run`'s staging, but for the container: the issuer over HTTPS, trusted through SSL_CERT_FILE alone."""
    smoke_settings = {name: value for name, value in stand_in.items() if name.startswith(("SMOKE_", "SSL_"))}
    service_settings = {name: value for name, value in stand_in.items() if not name.startswith("SMOKE_")}
    environment = {"DATABASE_URL": sqlite_url(tmp_path), "ENVIRONMENT": "staging", **service_settings}
    with running_service(environment, tmp_path / "log") as service:
        result = smoke(service.url, smoke_settings)
        service.stop()
        log = service.output()

    assert result.returncode == 0, result.stdout
    assert stand_in["AUTH_ISSUER"].startswith("https://localhost:")
    assert ", with a token" in result.stdout.splitlines()[0]
    assert "ok    without a token: 401" in result.stdout
    assert '"client_id":"smoke-test"' in log  # the access lines name the client the token was granted to
    assert stand_in["SMOKE_CLIENT_SECRET"] not in result.stdout + log


def test_the_smoke_test_fails_without_its_token_and_names_no_secret(stand_in: dict[str, str]) -> None:
    wrong = {**stand_in, "SMOKE_CLIENT_SECRET": "not-the-secret"}
    result = smoke(f"http://127.0.0.1:{free_port()}", wrong)

    assert result.returncode == 1
    assert result.stdout == "FAIL  no token for the smoke test: the token endpoint answered 401 (invalid_client)\n"


def test_the_smoke_test_sends_a_token_given_and_fails_where_one_is_needed_and_none_is(
    issuer: Issuer, tmp_path: Path
) -> None:
    environment = {"DATABASE_URL": sqlite_url(tmp_path), **issuer.environ()}
    with running_service(environment, tmp_path / "log") as service:
        given = smoke(service.url, {"SMOKE_TOKEN": issuer.token("items:read", "items:write", "calculate")})
        without = smoke(service.url)

    assert given.returncode == 0, given.stdout
    assert "ok    without a token: 401" in given.stdout
    assert without.returncode == 1
    assert "FAIL  create an item" in without.stdout
