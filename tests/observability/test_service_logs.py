"""What log aggregators read: the real process's output, from start-up to shutdown."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.metrics import labels, samples
from tests.service import Service, free_port, running_service

REQUIRED_KEYS = {"timestamp", "level", "logger", "event"}
RFC_3339_UTC_MICROSECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
ACCESS_FIELDS = {"request_id", "method", "path", "route", "status", "duration_ms", "client", "user_agent"}


def access_lines(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    lines = [record for record in records if record["logger"] == "app.access"]
    by_id = {record["request_id"]: record for record in lines}
    assert len(by_id) == len(lines), "one access line per request id"
    return by_id


def drive_traffic(service: Service, database: Path) -> dict[str, int]:
    """Success, client errors, an unknown route and a forced 500; returns request id -> status."""
    statuses: dict[str, int] = {}
    with httpx.Client(base_url=service.url, headers={"User-Agent": "log-test/1.0"}) as client:

        def call(
            request_id: str, method: str, path: str, headers: dict[str, str] | None = None, **options: Any
        ) -> httpx.Response:
            response = client.request(method, path, headers={"X-Request-ID": request_id, **(headers or {})}, **options)
            assert response.headers["x-request-id"] == request_id
            statuses[request_id] = response.status_code
            return response

        created = call("create", "POST", "/api/v1/items", json={"name": "n", "description": "d"})
        call("read", "GET", f"/api/v1/items/{created.json()['id']}", params={"secret_query": "q-value"})
        call("invalid", "POST", "/api/v1/items", json={"name": ""})
        call("unknown-route", "GET", "/no/such/route")
        call("wrong-method", "DELETE", "/api/v1/calculate")
        call(
            "with-secrets",
            "GET",
            "/health",
            headers={"Authorization": "Bearer auth-token-value", "Cookie": "session=cookie-value"},
        )
        # Fault injection: a row the service cannot read, written behind its back.
        with sqlite3.connect(database) as connection:
            connection.execute(
                "INSERT INTO items (id, name, description, created_at, updated_at) "
                "VALUES ('bad-id', 'n', 'd', 'x', 'y')"
            )
        call("failure", "GET", "/api/v1/items", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})
        call("bad-trace", "GET", "/health", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7"})
    return statuses


@pytest.mark.measure_subprocesses
def test_every_line_is_json_and_each_request_has_one_correlated_access_line(tmp_path: Path) -> None:
    database = tmp_path / "items.db"
    with running_service({"DATABASE_URL": f"sqlite:///{database}"}, tmp_path / "service.log") as service:
        statuses = drive_traffic(service, database)
        assert service.stop() == 0

    records = service.records()
    for record in records:
        assert record.keys() >= REQUIRED_KEYS, record
        assert record["level"] == record["level"].lower()
        assert RFC_3339_UTC_MICROSECONDS.fullmatch(record["timestamp"]), record

    access = access_lines(records)
    for request_id, status in statuses.items():
        line = access[request_id]
        assert line.keys() >= ACCESS_FIELDS
        assert line["status"] == status
        assert line["user_agent"] == "log-test/1.0"
        assert line["client"] == "127.0.0.1"
        assert line["duration_ms"] >= 0
    assert access["read"]["route"] == "/api/v1/items/{item_id}"
    assert access["read"]["path"].startswith("/api/v1/items/")
    assert access["unknown-route"]["route"] is None
    assert (statuses["failure"], statuses["invalid"], statuses["wrong-method"]) == (500, 422, 405)

    failure_records = [record for record in records if record.get("request_id") == "failure"]
    assert {record.get("trace_id") for record in failure_records} == {TRACE_ID}, "on every record of the request"
    assert all("trace_id" not in record for record in records if record.get("request_id") != "failure")
    (error,) = [record for record in failure_records if record["level"] == "error"]
    assert error["event"] == "unhandled exception"
    assert error["exception"][0]["exc_type"] == "ValidationError"  # msgspec refusing the row's id
    assert all("exception" not in record for record in records if record.get("request_id") != "failure")

    output = service.output()
    for secret in ("q-value", "auth-token-value", "cookie-value"):
        assert secret not in output

    uvicorn_events = [record["event"] for record in records if record["logger"] == "uvicorn.error"]
    assert any(event.startswith("Uvicorn running on") for event in uvicorn_events)
    assert "Application startup complete." in uvicorn_events
    assert "Application shutdown complete." in uvicorn_events
    assert any(event.startswith("Finished server process") for event in uvicorn_events)


@pytest.mark.measure_subprocesses
def test_log_level_filters_the_service_and_uvicorn_alike(tmp_path: Path) -> None:
    environment = {"DATABASE_URL": f"sqlite:///{tmp_path / 'items.db'}", "LOG_LEVEL": "WARNING"}
    with running_service(environment, tmp_path / "service.log") as service:
        httpx.get(f"{service.url}/health")
        service.stop()

    assert [record for record in service.records() if record["level"] in ("debug", "info")] == []


def test_the_access_log_can_be_switched_off(tmp_path: Path) -> None:
    environment = {"DATABASE_URL": f"sqlite:///{tmp_path / 'items.db'}", "ACCESS_LOG": "false"}
    with running_service(environment, tmp_path / "service.log") as service:
        httpx.get(f"{service.url}/health")
        service.stop()

    records = service.records()
    assert any(record["logger"] == "uvicorn.error" for record in records)
    assert not any(record["logger"] == "app.access" for record in records)


@pytest.mark.measure_subprocesses
def test_metrics_add_up_across_worker_processes_in_a_directory_cleared_of_an_earlier_run(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_999.db").write_bytes(b"left by a crashed run")
    environment = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'items.db'}",
        "WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
    }
    with running_service(environment, tmp_path / "service.log") as service:
        for _ in range(30):
            # A new connection each time, so the kernel spreads requests over the workers.
            httpx.get(f"{service.url}/health", headers={"Connection": "close"})
        scrapes = [httpx.get(f"{service.url}/metrics").text for _ in range(5)]
        assert service.stop() == 0

    pids = Counter(record["event"] for record in service.records() if "Started server process" in str(record["event"]))
    assert len(pids) == 2
    for scrape in scrapes:
        (line,) = [
            line for line in scrape.splitlines() if line.startswith('http_requests_total{method="GET",route="/health",')
        ]
        assert line.endswith(" 30.0")
    assert directory.is_dir(), "a directory given is kept"
    assert not (directory / "counter_999.db").exists()


@pytest.mark.measure_subprocesses
@pytest.mark.parametrize("workers", ["1", "2"])
def test_with_a_metrics_port_the_metrics_are_served_there_and_not_beside_the_api(tmp_path: Path, workers: str) -> None:
    metrics_port = free_port()
    environment = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'items.db'}",
        "WORKERS": workers,
        "METRICS_PORT": str(metrics_port),
    }
    with running_service(environment, tmp_path / "service.log") as service:
        for _ in range(10):
            httpx.get(f"{service.url}/health", headers={"Connection": "close"})
        beside_the_api = httpx.get(f"{service.url}/metrics")
        scrape = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert service.stop() == 0
    with pytest.raises(httpx.ConnectError):  # stopped with the service
        httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")

    assert beside_the_api.status_code == 404
    assert scrape.status_code == 200
    counted = samples(scrape.text)[("http_requests_total", labels("GET", "/health", "200"))]
    assert counted == 10  # every worker's requests, whichever process serves the port


def test_without_metrics_the_metrics_port_stays_closed(tmp_path: Path) -> None:
    metrics_port = free_port()
    environment = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'items.db'}",
        "METRICS": "false",
        "METRICS_PORT": str(metrics_port),
    }
    with running_service(environment, tmp_path / "service.log"), pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
