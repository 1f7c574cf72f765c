"""Start-up and shutdown of the real process (`python -m app`)."""

from __future__ import annotations

import http.client
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.db.postgres import MIGRATIONS as POSTGRES_MIGRATIONS
from app.db.sqlite import MIGRATIONS as SQLITE_MIGRATIONS
from app.settings import Settings
from tests.conftest import start_and_stop
from tests.service import launch, running_service


def run_to_exit(environment: dict[str, str], tmp_path: Path, timeout: float = 30) -> tuple[int, list[str]]:
    log_path = tmp_path / "service.log"
    process = launch(environment, log_path)
    code = process.wait(timeout)
    return code, log_path.read_text().splitlines()


@pytest.mark.parametrize(("variable", "value"), [("LOG_LEVEL", "LOUD"), ("PORT", "http"), ("LOG_FORMAT", "xml")])
def test_an_invalid_setting_stops_the_process_with_one_clear_json_line(
    tmp_path: Path, variable: str, value: str
) -> None:
    code, lines = run_to_exit({"LOG_FORMAT": "json", variable: value}, tmp_path)

    assert code == 2
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["event"] == "invalid configuration"
    assert record["level"] == "critical"
    assert (record["variable"], record["value"]) == (variable, value)
    assert record["allowed"]


@pytest.mark.measure_subprocesses
def test_an_invalid_setting_is_reported_readably_in_console_format(tmp_path: Path) -> None:
    code, lines = run_to_exit({"LOG_FORMAT": "console", "WORKERS": "many"}, tmp_path)

    assert code == 2
    assert "invalid configuration" in lines[0]
    assert "WORKERS" in lines[0]


def test_an_unreachable_database_stops_start_up_after_the_timeout_without_showing_the_password(
    tmp_path: Path,
) -> None:
    code, lines = run_to_exit(
        {"DATABASE_URL": "postgresql://app:s3cret@127.0.0.1:1/items", "DATABASE_CONNECT_TIMEOUT": "0.5"}, tmp_path
    )

    assert code != 0
    records = [json.loads(line) for line in lines]
    assert any(record["event"] == "database unavailable, retrying" for record in records)
    assert any(record["event"] == "database unavailable at start-up, giving up" for record in records)
    assert all("s3cret" not in line for line in lines)


def test_the_service_serves_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    with running_service({"DATABASE_URL": f"sqlite:///{tmp_path / 'items.db'}"}, tmp_path / "log") as service:
        created = httpx.post(f"{service.url}/api/v1/items", json={"name": "n", "description": "d"})
        assert created.status_code == 201
        assert service.stop() == 0

    with running_service({"DATABASE_URL": f"sqlite:///{tmp_path / 'items.db'}"}, tmp_path / "log2") as service:
        assert httpx.get(f"{service.url}/api/v1/items").json() == [created.json()]


async def test_two_instances_on_one_postgresql_database_share_items(tmp_path: Path, postgres_url: str) -> None:
    database = {"DATABASE_URL": postgres_url}
    with (
        running_service(database, tmp_path / "one.log") as one,
        running_service(database, tmp_path / "two.log") as two,
    ):
        async with httpx.AsyncClient(base_url=one.url) as first, httpx.AsyncClient(base_url=two.url) as second:
            created = (await first.post("/api/v1/items", json={"name": "shared", "description": "by one"})).json()
            item_url = f"/api/v1/items/{created['id']}"

            assert (await second.get(item_url)).json() == created
            assert (await second.patch(item_url, json={"description": "by two"})).status_code == 200
            assert (await first.get(item_url)).json()["description"] == "by two"
            assert (await first.delete(item_url)).status_code == 204
            assert (await second.get(item_url)).status_code == 404


def test_help_lists_the_reload_flag() -> None:
    output = subprocess.run([sys.executable, "-m", "app", "--help"], capture_output=True, text=True, check=True).stdout

    assert "--reload" in output


async def migrated_by_a_newer_release(database_url: str, version: int, *, expand_only: bool = False) -> None:
    """Record schema `version` as a future release would, beyond the migrations this one knows."""
    if database_url.startswith("sqlite:"):
        with sqlite3.connect(Settings.from_environ({"DATABASE_URL": database_url}).database.sqlite_path) as connection:
            connection.execute(f"PRAGMA user_version = {version}")
        return
    await start_and_stop(database_url)  # this release's own migrations first, as on a real upgrade
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            "INSERT INTO schema_migrations (version, expand_only) VALUES ($1, $2)", version, expand_only
        )
    finally:
        await connection.close()


@pytest.mark.measure_subprocesses
async def test_a_database_migrated_by_a_newer_release_stops_start_up_with_a_clear_message(
    tmp_path: Path, database_url: str
) -> None:
    await migrated_by_a_newer_release(database_url, 99)

    code, lines = run_to_exit({"DATABASE_URL": database_url}, tmp_path)

    assert code != 0
    refusals = [record for record in map(json.loads, lines) if record["event"].startswith("database schema newer")]
    assert len(refusals) == 1
    known = len(SQLITE_MIGRATIONS if database_url.startswith("sqlite:") else POSTGRES_MIGRATIONS)
    assert (refusals[0]["level"], refusals[0]["schema_version"], refusals[0]["known_version"]) == (
        "critical",
        99,
        known,
    )


async def test_a_release_serves_on_postgresql_migrated_further_by_expand_only_migrations(
    tmp_path: Path, postgres_url: str
) -> None:
    # During a rolling update an old replica may restart after a new one has expanded the schema.
    await migrated_by_a_newer_release(postgres_url, len(POSTGRES_MIGRATIONS) + 1, expand_only=True)

    with running_service({"DATABASE_URL": postgres_url}, tmp_path / "log") as service:
        async with httpx.AsyncClient(base_url=service.url) as client:
            assert (await client.get("/health/ready")).status_code == 200
            assert (await client.post("/api/v1/items", json={"name": "n", "description": ""})).status_code == 201


def idle_seconds_until_closed(service_url: str, give_up_after_s: float) -> float | None:
    """How long the service keeps an idle keep-alive connection open after one request (None: past the limit)."""
    host, port = service_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", "/health/live")
        response = connection.getresponse()
        assert response.status == 200
        response.read()  # the whole answer: whatever comes next is the server's close
        idle_since = time.monotonic()
        assert connection.sock is not None
        connection.sock.settimeout(give_up_after_s)
        try:
            assert connection.sock.recv(1) == b""  # the server's FIN
        except TimeoutError:
            return None
        return time.monotonic() - idle_since
    finally:
        connection.close()


def test_idle_connections_stay_open_for_the_keep_alive_timeout(tmp_path: Path) -> None:
    # By default longer than a proxy's idle timeout (uvicorn's own 5 s is far shorter than nginx's 60 s).
    environment = {"DATABASE_URL": f"sqlite:///{tmp_path / 'items.db'}"}
    with running_service(environment, tmp_path / "log") as service:
        assert idle_seconds_until_closed(service.url, give_up_after_s=6.0) is None


def test_idle_connections_are_closed_after_the_keep_alive_timeout(tmp_path: Path) -> None:
    environment = {"DATABASE_URL": f"sqlite:///{tmp_path / 'items.db'}", "KEEP_ALIVE_TIMEOUT": "1"}
    with running_service(environment, tmp_path / "log") as service:
        # A busy machine may close it late, never early.
        idle_s = idle_seconds_until_closed(service.url, give_up_after_s=30.0)
        assert idle_s is not None
        assert idle_s >= 0.9


@pytest.mark.parametrize(
    ("trusted", "source", "client"),
    [
        ("127.0.0.1", "127.0.0.1", "203.0.113.7"),
        ("10.0.0.0/8", "127.0.0.1", "127.0.0.1"),
        (None, "127.0.0.2", "127.0.0.2"),
        (None, "127.0.0.1", "203.0.113.7"),
    ],
    ids=["from a trusted proxy", "from anyone else", "by default, from anyone else", "by default, from 127.0.0.1"],
)
def test_the_access_line_names_the_client_a_trusted_proxy_forwarded_and_no_other(
    tmp_path: Path, trusted: str | None, source: str, client: str
) -> None:
    environment = {"DATABASE_URL": f"sqlite:///{tmp_path / 'items.db'}"}
    if trusted is not None:
        environment["FORWARDED_ALLOW_IPS"] = trusted
    with (
        running_service(environment, tmp_path / "log") as service,
        httpx.Client(transport=httpx.HTTPTransport(local_address=source)) as connecting_from_source,
    ):
        # As nginx sends it (ci/deploy/nginx/nginx.conf), from the source address.
        forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
        request_id = connecting_from_source.get(f"{service.url}/health", headers=forwarded).headers["x-request-id"]
    (access,) = [
        record
        for record in service.records()
        if record.get("request_id") == request_id and record["logger"] == "app.access"
    ]
    assert access["client"] == client
