"""`just token` and `just run-dev-auth`: a development key made on first use, and a service that trusts it."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import jwt

from tests.conftest import sqlite_url
from tests.service import running_service

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "ci" / "dev_token.py"


def dev_token(directory: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *arguments],
        env={**os.environ, "DEV_AUTH_DIR": str(directory)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def exported(directory: Path) -> dict[str, str]:
    """The settings `just run-dev-auth` evaluates, read as bash would."""
    result = dev_token(directory, "--environment")
    assert result.returncode == 0, result.stderr
    settings: dict[str, str] = {}
    for line in result.stdout.splitlines():
        export, assignment = shlex.split(line)
        assert export == "export"
        name, _, value = assignment.partition("=")
        settings[name] = value
    return settings


def test_the_key_is_made_on_first_use_readable_by_its_owner_only_and_kept(tmp_path: Path) -> None:
    directory = tmp_path / "dev-auth"
    first = dev_token(directory, "items:read")
    assert first.returncode == 0, first.stderr

    assert (directory / "signing-key.pem").stat().st_mode & 0o777 == 0o600
    assert directory.stat().st_mode & 0o777 == 0o700
    key_set = jwt.PyJWKSet.from_json((directory / "jwks.json").read_text())
    second = dev_token(directory, "items:write", "calculate").stdout.strip()
    key = key_set.keys[0]
    claims = jwt.decode(second, key=key, algorithms=["ES256"], audience="items-service")
    assert claims["scope"] == "items:write calculate"
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert jwt.get_unverified_header(first.stdout.strip())["kid"] == key.key_id


def test_the_service_started_that_way_trusts_the_key(tmp_path: Path) -> None:
    directory = tmp_path / "dev-auth"
    environment = {"DATABASE_URL": sqlite_url(tmp_path), **exported(directory)}
    reader = dev_token(directory, "items:read").stdout.strip()
    with running_service(environment, tmp_path / "service.log") as service:
        url = f"{service.url}/api/v1/items"
        assert httpx.get(url, headers={"Authorization": f"Bearer {reader}"}).status_code == 200
        refused = httpx.post(url, json={"name": "n", "description": ""}, headers={"Authorization": f"Bearer {reader}"})
        assert refused.status_code == 403
        assert httpx.get(url).status_code == 401


def test_production_never_trusts_the_development_key(tmp_path: Path) -> None:
    directory = tmp_path / "dev-auth"
    environment = {"DATABASE_URL": sqlite_url(tmp_path), "ENVIRONMENT": "production", **exported(directory)}
    log = tmp_path / "service.log"
    with log.open("wb") as output:
        code = subprocess.run(
            [sys.executable, "-m", "app"], env={**os.environ, **environment}, stdout=output, timeout=30, check=False
        ).returncode
    assert code == 2
    assert '"variable":"AUTH_JWKS_URL"' in log.read_text()


def test_the_key_stays_out_of_git(tmp_path: Path) -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "--quiet", ".dev-auth/signing-key.pem"], cwd=ROOT, check=False, timeout=10
    )
    assert ignored.returncode == 0


def test_arguments_that_are_not_scopes_are_refused(tmp_path: Path) -> None:
    for arguments in (["--help"], ["items:read", "two words"]):
        result = dev_token(tmp_path, *arguments)
        assert result.returncode == 2
        assert "just token" in result.stderr
