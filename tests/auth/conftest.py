"""A real issuer on loopback and the app trusting it, on SQLite (access does not depend on the store)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.settings import Settings
from tests.auth.issuer import Issuer, SigningKey, ec_key, ed25519_key, rsa_key, running_issuer
from tests.conftest import Client, sqlite_url


@pytest.fixture(scope="session")
def signing_keys() -> list[SigningKey]:
    """Generated once a run: RSA (published without `alg`, so any RSA algorithm), EC P-256 and Ed25519."""
    return [rsa_key("rsa-1"), ec_key("ec-1"), ed25519_key("ed-1")]


@pytest.fixture
def issuer(signing_keys: list[SigningKey]) -> Iterator[Issuer]:
    with running_issuer(*signing_keys) as running:
        yield running


def auth_settings(issuer: Issuer, tmp_path: Path, **environ: str) -> Settings:
    return Settings.from_environ({"DATABASE_URL": sqlite_url(tmp_path), **issuer.environ(**environ)})


@pytest.fixture
async def auth_client(issuer: Issuer, tmp_path: Path) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(auth_settings(issuer, tmp_path))) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
