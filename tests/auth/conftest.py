"""The app trusting the real issuer of tests/conftest.py, on SQLite (access does not depend on the store)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.types import ASGIApp

from app.settings import Settings
from tests.auth.issuer import Issuer
from tests.conftest import Client, sqlite_url, started


def auth_settings(issuer: Issuer, tmp_path: Path, **environ: str) -> Settings:
    return Settings.from_environ({"DATABASE_URL": sqlite_url(tmp_path), **issuer.environ(**environ)})


@pytest.fixture
async def auth_client(issuer: Issuer, sqlite_path: Path, built_apps: dict[Settings, ASGIApp]) -> AsyncIterator[Client]:
    async with started(auth_settings(issuer, sqlite_path.parent), built_apps) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
