"""Request ids and metrics, through the app's outer ASGI layer."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from app.asgi import create_app
from app.http.observe import request_id_from
from app.observability.metrics import RequestMetrics
from app.observability.tracing import caller_trace_id
from app.settings import Settings
from tests.conftest import Client, sqlite_url
from tests.metrics import labels, samples
from tests.service import running_service


@pytest.mark.parametrize("incoming", [b"abc", b"A-Za-z0-9._-", b"x" * 128, b"0"])
def test_a_well_formed_incoming_request_id_is_kept(incoming: bytes) -> None:
    assert request_id_from(incoming) == incoming.decode()


@pytest.mark.parametrize("incoming", [None, b"", b"x" * 129, b"has space", b"semi;colon", b"\xc3\xa9", b"a\nb"])
def test_a_missing_or_malformed_request_id_is_replaced_by_a_new_one(incoming: bytes | None) -> None:
    generated = request_id_from(incoming)

    assert len(generated) == 32
    assert generated != request_id_from(incoming), "each request gets its own"


TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    "traceparent",
    [
        f"00-{TRACE_ID}-00f067aa0ba902b7-01",
        f"00-{TRACE_ID}-00f067aa0ba902b7-00",
        f"cc-{TRACE_ID}-00f067aa0ba902b7-01-more",
        f" 00-{TRACE_ID}-00f067aa0ba902b7-01 ",  # whitespace around a field value is not part of it (RFC 9110 5.5)
    ],
)
def test_the_trace_id_of_a_w3c_traceparent_is_taken(traceparent: str) -> None:
    assert caller_trace_id(traceparent.encode()) == TRACE_ID


@pytest.mark.parametrize(
    "traceparent",
    [
        b"",
        b"00-not-a-trace",
        f"00-{TRACE_ID.upper()}-00f067aa0ba902b7-01".encode(),
        f"ff-{TRACE_ID}-00f067aa0ba902b7-01".encode(),
        f"00-{'0' * 32}-00f067aa0ba902b7-01".encode(),
        f"00-{TRACE_ID}-{'0' * 16}-01".encode(),
        f"00-{TRACE_ID}-00f067aa0ba902b7-01-more".encode(),
    ],
)
def test_a_malformed_traceparent_gives_no_trace_id(traceparent: bytes) -> None:
    assert caller_trace_id(traceparent) is None


async def test_with_tracing_off_a_well_formed_callers_trace_id_goes_on_the_request_lines(
    sqlite_client: Client,
) -> None:
    with capture_logs(processors=[merge_contextvars]) as records:
        await sqlite_client.get("/health", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})
        await sqlite_client.get("/health", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7"})
        await sqlite_client.get("/health")

    access_lines = [record for record in records if record["event"] == "request"]
    assert [line.get("trace_id") for line in access_lines] == [TRACE_ID, None, None]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/health", 200), ("GET", "/nowhere", 404), ("DELETE", "/health", 405), ("POST", "/api/v1/items", 422)],
)
async def test_every_response_carries_the_request_id(
    sqlite_client: Client, method: str, path: str, status: int
) -> None:
    response = await sqlite_client.request(method, path, headers={"X-Request-ID": "trace-42"}, json={})

    assert response.status_code == status
    assert response.headers["x-request-id"] == "trace-42"


async def test_a_request_without_an_id_gets_a_generated_one(sqlite_client: Client) -> None:
    first = await sqlite_client.get("/health/live")
    second = await sqlite_client.get("/health/live", headers={"X-Request-ID": "not valid!"})

    assert len(first.headers["x-request-id"]) == 32
    assert len(second.headers["x-request-id"]) == 32
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_access_lines_give_the_status_as_a_json_number(tmp_path: Path) -> None:
    # The create handler answers with HTTPStatus.CREATED, calculate with a route declared HTTPStatus.OK: enums,
    # which a JSON encoder could write as strings, and aggregators would then compare as text.
    with running_service({"DATABASE_URL": sqlite_url(tmp_path)}, tmp_path / "log") as service:
        httpx.post(f"{service.url}/api/v1/items", json={"name": "n", "description": "d"})
        httpx.post(f"{service.url}/api/v1/calculate", json={"a": 1, "b": 2, "operation": "add"})
        assert service.stop() == 0

    lines = [record for record in service.records() if str(record.get("route", "")).startswith("/api/v1/")]
    statuses = [record["status"] for record in lines]
    assert statuses == [201, 200]
    assert all(type(status) is int for status in statuses)


async def test_metrics_count_requests_by_method_route_template_and_status(sqlite_settings: Settings) -> None:
    # An app of its own: the one `sqlite_client` shares has counted the requests of earlier tests.
    async with AsyncTestClient(app=create_app(sqlite_settings)) as client:
        created = await client.post("/api/v1/items", json={"name": "n", "description": "d"})
        for _ in range(2):
            await client.get(f"/api/v1/items/{created.json()['id']}")
        await client.get("/api/v1/items/01890a5d-ac96-774b-bcce-b302099a8057")
        await client.get("/random/path/1")
        await client.get("/random/path/2")
        await client.request("BREW", "/api/v1/items")

        response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    scraped = samples(response.text)
    assert scraped["http_requests_total", labels("POST", "/api/v1/items", "201")] == 1
    assert scraped["http_requests_total", labels("GET", "/api/v1/items/{item_id}", "200")] == 2
    assert scraped["http_requests_total", labels("GET", "/api/v1/items/{item_id}", "404")] == 1
    assert scraped["http_requests_total", labels("GET", "<unmatched>", "404")] == 2, "raw paths never become labels"
    assert scraped["http_requests_total", labels("OTHER", "<unmatched>", "405")] == 1
    assert scraped["http_request_duration_seconds_count", labels("GET", "/api/v1/items/{item_id}", "200")] == 2
    assert scraped["http_requests_in_flight", frozenset()] == 1, "the scrape itself is in flight"
    assert ("process_resident_memory_bytes", frozenset()) in scraped
    assert any(name == "python_info" for name, _ in scraped)


async def test_probes_and_scrapes_are_counted_but_left_out_of_the_latency_histogram(sqlite_client: Client) -> None:
    for path in ("/health", "/health/live", "/health/ready", "/metrics"):
        await sqlite_client.get(path)

    scraped = samples((await sqlite_client.get("/metrics")).text)

    for route in ("/health", "/health/live", "/health/ready", "/metrics"):
        assert scraped["http_requests_total", labels("GET", route, "200")] >= 1
        assert ("http_request_duration_seconds_count", labels("GET", route, "200")) not in scraped


async def test_metrics_can_be_switched_off(tmp_path: Path) -> None:
    settings = Settings.from_environ({"DATABASE_URL": sqlite_url(tmp_path), "METRICS": "false"})
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/health")).status_code == 200


def test_latency_lands_in_the_first_bucket_at_or_above_it() -> None:
    metrics = RequestMetrics(multiprocess_directory=None)
    for seconds in (0.003, 0.005, 0.2, 30.0):
        metrics.started()
        metrics.finished("GET", "/api/v1/items", 200, seconds)

    scraped = samples(metrics.exposition().decode())

    def bucket(le: str) -> float:
        return scraped["http_request_duration_seconds_bucket", labels("GET", "/api/v1/items", "200", le=le)]

    assert (bucket("0.0025"), bucket("0.005"), bucket("0.1"), bucket("0.25"), bucket("10.0"), bucket("+Inf")) == (
        0,
        2,
        2,
        3,
        3,
        4,
    )
    assert scraped["http_request_duration_seconds_sum", labels("GET", "/api/v1/items", "200")] == pytest.approx(30.208)
    assert scraped["http_requests_in_flight", frozenset()] == 0
