from __future__ import annotations

import sqlite3
import tomllib
from collections.abc import Generator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.settings import Settings
from tests.conftest import Client, sqlite_url

PROJECT_VERSION = tomllib.loads(Path("pyproject.toml").read_text())["project"]["version"]


async def test_health_reports_exactly_status_version_timestamp_and_environment(client: Client) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "version", "timestamp", "environment"}
    assert body["status"] == "healthy"
    assert body["version"] == PROJECT_VERSION
    assert body["environment"] == "test"
    assert body["timestamp"].endswith("Z")
    timestamp = datetime.fromisoformat(body["timestamp"])
    assert abs((datetime.now(UTC) - timestamp).total_seconds()) < 60


async def test_liveness_probe_answers_200(client: Client) -> None:
    response = await client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


async def test_readiness_probe_answers_200_when_the_database_answers(client: Client) -> None:
    # Again and again, as the kubelet asks: each probe after the first reuses what the first opened.
    for _ in range(3):
        response = await client.get("/health/ready")

        assert response.status_code == 200
        assert response.json() == {"status": "ready"}


@contextmanager
def write_locked(database: Path) -> Generator[None]:
    """Another process holding SQLite's write lock: the service cannot write until it lets go."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        connection.execute("COMMIT")
        connection.close()


async def test_readiness_and_writes_answer_503_while_another_process_holds_the_write_lock(tmp_path: Path) -> None:
    settings = Settings.from_environ({"DATABASE_URL": sqlite_url(tmp_path), "DATABASE_LOCK_TIMEOUT": "0.05"})
    async with AsyncTestClient(app=create_app(settings)) as client:
        with write_locked(tmp_path / "items.db"):
            ready = await client.get("/health/ready")
            creation = await client.post("/api/v1/items", json={"name": "n", "description": ""})
            live = await client.get("/health/live")

        recovered = await client.get("/health/ready")
        listing = await client.get("/api/v1/items")

    assert listing.json() == [], "the refused write must not have been stored"
    for response in (ready, creation):
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "1"
        assert response.json()["type"].endswith("/storage-unavailable")
    assert live.status_code == 200
    assert recovered.status_code == 200
