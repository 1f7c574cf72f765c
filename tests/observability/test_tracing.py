"""Traces: the real service exporting over OTLP/HTTP to a real receiver on loopback, decoded by opentelemetry-proto."""

from __future__ import annotations

import asyncio
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Generator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from app.asgi import create_app
from app.main import tracing_field
from app.observability.tracing import request_attributes
from app.settings import Settings, SettingsError
from tests.auth.issuer import Issuer
from tests.conftest import Client, sqlite_url
from tests.items.test_tenancy import CLAIM, of
from tests.otlp import Receiver, Span, running_receiver
from tests.service import TLS, Service, running_service

# Exported within 50 ms of ending, not the SDK's 5 s: the tests wait for spans.
QUICK_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "50"}


def traceparent() -> tuple[str, str, str]:
    """A caller's W3C traceparent, with its trace id and span id."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


@contextmanager
def traced_service(
    tmp_path: Path, receiver: Receiver, database_url: str | None = None, **environment: str
) -> Generator[Service]:
    settings = {
        "DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'items.db'}",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        **QUICK_EXPORT,
        **environment,
    }
    with running_service(settings, tmp_path / "service.log") as service:
        yield service


@asynccontextmanager
async def traced_app(receiver: Receiver, database_url: str, **environment: str) -> AsyncGenerator[Client]:
    """The app in this process, over ASGI, exporting to `receiver`: stopping it flushes the spans, so they have all
    arrived once this exits (or the test fails). What only a real server sets (the address it listens on) or does
    (workers, the flush at SIGTERM, a collector that never answers) is tested on the service."""
    settings = Settings.from_environ(
        {"DATABASE_URL": database_url, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, **environment}
    )
    with capture_logs() as records:
        async with AsyncTestClient(app=create_app(settings)) as client:
            yield client
    assert not [record for record in records if record["event"] == "spans not exported before the shutdown timeout"]


def server_span(spans: list[Span], trace_id: str) -> Span:
    (span,) = [span for span in spans if span.trace_id == trace_id and span.kind == "SPAN_KIND_SERVER"]
    return span


def has_server_span(trace_id: str) -> Callable[[list[Span]], bool]:
    return lambda spans: any(span.trace_id == trace_id and span.kind == "SPAN_KIND_SERVER" for span in spans)


def test_each_request_is_one_server_span_in_the_callers_trace_or_a_new_one(tmp_path: Path) -> None:
    header, trace_id, caller_span_id = traceparent()
    with running_receiver() as receiver, traced_service(tmp_path, receiver) as service:
        assert httpx.get(f"{service.url}/api/v1/items", headers={"traceparent": header}).status_code == 200
        httpx.get(f"{service.url}/health", headers={"User-Agent": "trace-test/1.0"})
        spans = receiver.wait_for(lambda spans: has_server_span(trace_id)(spans) and len(spans) >= 3)

    listed = server_span(spans, trace_id)
    assert listed.name == "GET /api/v1/items"
    assert listed.parent_span_id == caller_span_id, "a child of the caller's span"
    assert listed.attributes["http.request.method"] == "GET"
    assert listed.attributes["http.route"] == "/api/v1/items"
    assert listed.attributes["http.response.status_code"] == 200
    assert listed.attributes["url.path"] == "/api/v1/items"
    assert listed.attributes["server.address"] == "127.0.0.1"
    assert listed.status == "STATUS_CODE_UNSET"
    assert listed.resource["service.name"] == "items-service"
    assert listed.resource["deployment.environment.name"] == "development"
    assert listed.resource["service.version"]

    (health,) = [span for span in spans if span.name == "GET /health"]
    assert health.trace_id != trace_id, "no traceparent: a trace of its own"
    assert health.parent_span_id == ""
    assert health.attributes["user_agent.original"] == "trace-test/1.0"


@pytest.mark.parametrize(
    "header",
    ["00-not-a-trace", f"00-{'0' * 32}-{'1' * 16}-01", f"ff-{'a' * 32}-{'1' * 16}-01"],
)
async def test_a_malformed_traceparent_starts_a_new_trace(tmp_path: Path, header: str) -> None:
    with running_receiver() as receiver:
        async with traced_app(receiver, sqlite_url(tmp_path)) as client:
            await client.get("/health", headers={"traceparent": header})

    (span,) = receiver.spans
    assert span.parent_span_id == ""
    assert int(span.trace_id, 16) != 0


async def test_a_callers_tracestate_goes_on_with_its_trace(tmp_path: Path) -> None:
    header, trace_id, _ = traceparent()
    with running_receiver() as receiver:
        async with traced_app(receiver, sqlite_url(tmp_path)) as client:
            await client.get("/health", headers={"traceparent": header, "tracestate": "vendor=opaque,other=1"})

    (span,) = receiver.spans
    assert (span.trace_id, span.trace_state) == (trace_id, "vendor=opaque,other=1")


async def test_database_statements_are_child_spans_on_either_backend(database_url: str) -> None:
    header, trace_id, _ = traceparent()
    kind = database_url.partition(":")[0]
    # Keys expire within a second, so the purge loop runs during the test: outside any request, it makes no span.
    with running_receiver() as receiver:
        async with traced_app(receiver, database_url, IDEMPOTENCY_TTL="1") as client:
            traced = {"traceparent": header}
            keyed = await client.post(
                "/api/v1/items", json={"name": "k", "description": ""}, headers={**traced, "Idempotency-Key": "a"}
            )
            assert keyed.status_code == 201
            created = (
                await client.post("/api/v1/items", json={"name": "n", "description": "d"}, headers=traced)
            ).json()
            await client.get(f"/api/v1/items/{created['id']}", headers=traced)
            await client.patch(f"/api/v1/items/{created['id']}", json={"description": "e"}, headers=traced)
            await client.delete(f"/api/v1/items/{created['id']}", headers=traced)
            assert (await client.get(f"/api/v1/items/{created['id']}", headers=traced)).status_code == 404
            await asyncio.sleep(1.5)
        spans = receiver.spans

    assert len(spans) == 12, "six requests, each one statement; the purge none"
    assert {span.trace_id for span in spans} == {trace_id}
    by_id = {span.span_id: span for span in spans}
    statements = [span for span in spans if span.kind == "SPAN_KIND_CLIENT"]
    assert [(by_id[span.parent_span_id].name, span.name) for span in statements] == [
        ("POST /api/v1/items", "INSERT items"),  # under an Idempotency-Key: the key and the item together
        ("POST /api/v1/items", "INSERT items"),
        ("GET /api/v1/items/{item_id}", "SELECT items"),
        ("PATCH /api/v1/items/{item_id}", "UPDATE items"),
        ("DELETE /api/v1/items/{item_id}", "DELETE items"),
        ("GET /api/v1/items/{item_id}", "SELECT items"),  # no such item: an answer, not a failure
    ]
    for span in statements:
        assert span.attributes["db.system.name"] == ("sqlite" if kind == "sqlite" else "postgresql")
        assert span.attributes["db.collection.name"] == "items"
        assert span.attributes["db.operation.name"] == span.name.split()[0]
        assert span.status == "STATUS_CODE_UNSET"
    assert created["id"] not in repr(statements), "no parameter, no row"


UNREADABLE_ROW = "INSERT INTO items (id, name, description, created_at, updated_at) VALUES ('bad', 'n', 'd', 'x', 'y')"


async def test_a_5xx_marks_the_server_span_as_an_error_and_a_4xx_does_not(tmp_path: Path) -> None:
    with running_receiver() as receiver:
        async with traced_app(receiver, sqlite_url(tmp_path)) as client:
            assert (await client.post("/api/v1/items", json={"name": ""})).status_code == 422
            # A row the service cannot read, written behind its back.
            with sqlite3.connect(tmp_path / "items.db") as connection:
                connection.execute(UNREADABLE_ROW)
            assert (await client.get("/api/v1/items")).status_code == 500
        spans = receiver.spans

    statuses = {
        span.name: (span.status, span.attributes["http.response.status_code"])
        for span in spans
        if span.kind == "SPAN_KIND_SERVER"
    }
    assert statuses["POST /api/v1/items"] == ("STATUS_CODE_UNSET", 422)
    assert statuses["GET /api/v1/items"] == ("STATUS_CODE_ERROR", 500)


async def test_the_server_span_names_the_callers_tenant_where_its_token_names_one(
    tmp_path: Path, issuer: Issuer
) -> None:
    environment = issuer.environ(AUTH_TENANT_CLAIM=CLAIM)
    with running_receiver() as receiver:
        async with traced_app(receiver, sqlite_url(tmp_path), **environment) as client:
            assert (await client.get("/api/v1/items", headers=of(issuer, "org-1"))).status_code == 200
            assert (await client.get("/api/v1/items", headers=of(issuer, ...))).status_code == 403
            assert (await client.get("/health")).status_code == 200
        spans = receiver.spans

    tenants = {
        (span.name, span.attributes["http.response.status_code"]): span.attributes.get("app.tenant")
        for span in spans
        if span.kind == "SPAN_KIND_SERVER"
    }
    assert tenants == {
        ("GET /api/v1/items", 200): "org-1",
        ("GET /api/v1/items", 403): None,
        ("GET /health", 200): None,
    }


async def test_probes_and_scrapes_make_no_spans(tmp_path: Path) -> None:
    with running_receiver() as receiver:
        async with traced_app(receiver, sqlite_url(tmp_path)) as client:
            for path in ("/health/live", "/health/ready", "/metrics", "/health/live", "/health"):
                assert (await client.get(path)).status_code == 200
            assert (await client.get("/no/such/route")).status_code == 404
        spans = receiver.spans

    assert [span.name for span in spans] == ["GET /health", "GET"], "no route, no template: the method"
    assert spans[1].attributes["http.response.status_code"] == 404
    assert "http.route" not in spans[1].attributes


async def test_nothing_a_client_could_hide_a_secret_in_is_exported(tmp_path: Path) -> None:
    secret = {name: f"{name}-{secrets.token_hex(8)}" for name in ("header", "query", "body", "token", "cookie")}
    with running_receiver() as receiver:
        async with traced_app(receiver, sqlite_url(tmp_path)) as client:
            response = await client.post(
                "/api/v1/items",
                params={"api_key": secret["query"]},
                json={"name": "n", "description": secret["body"]},
                headers={
                    "X-Api-Key": secret["header"],
                    "Authorization": f"Bearer {secret['token']}",
                    "Cookie": f"session={secret['cookie']}",
                },
            )
            assert response.status_code == 201
        assert len(receiver.spans) == 2, "the request and its statement"

    exported = b"".join(receiver.requests)
    for value in secret.values():
        assert value.encode() not in exported
    assert b"api_key" not in exported, "no query string at all"


def test_the_request_log_lines_carry_the_ids_of_its_span(tmp_path: Path) -> None:
    header, trace_id, _ = traceparent()
    with running_receiver() as receiver, traced_service(tmp_path, receiver) as service:
        response = httpx.get(f"{service.url}/api/v1/items/not-a-uuid", headers={"traceparent": header})
        assert response.status_code == 404
        span = server_span(receiver.wait_for(has_server_span(trace_id)), trace_id)
        assert service.stop() == 0

    records = service.records()
    request_id = response.headers["x-request-id"]
    (access,) = [record for record in records if record["logger"] == "app.access" and record["path"] != "/health/live"]
    assert (access["trace_id"], access["span_id"]) == (span.trace_id, span.span_id)
    assert access["request_id"] == request_id
    outside = [record for record in records if record.get("request_id") is None]
    assert outside, "start-up and shutdown lines"
    assert all("trace_id" not in record and "span_id" not in record for record in outside)
    (starting,) = [record for record in records if record["event"] == "starting"]
    assert starting["tracing"] == f"on: OTLP to {receiver.url}/v1/traces"


@contextmanager
def collector_that_never_answers() -> Generator[str]:
    """A port that accepts connections (the kernel's backlog) and never reads nor answers: the worst collector."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def median_latencies_s(services: list[Service], rounds: int = 60) -> list[float]:
    """Each service's median latency of listing items, the services asked in turn so that they share the noise."""
    timings: list[list[float]] = [[] for _ in services]
    with httpx.Client(verify=TLS) as client:
        for _ in range(rounds):
            for service, timing in zip(services, timings, strict=True):
                started = time.perf_counter()
                assert client.get(f"{service.url}/api/v1/items").status_code == 200
                timing.append(time.perf_counter() - started)
    return [statistics.median(timing) for timing in timings]


@pytest.mark.measure_subprocesses
def test_a_collector_that_never_answers_costs_requests_nothing_and_stops_no_shutdown(tmp_path: Path) -> None:
    traced_environment = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "30",
        "SHUTDOWN_TIMEOUT": "2",
        **QUICK_EXPORT,
    }
    with (
        collector_that_never_answers() as dead,
        running_service(traced_environment | {"OTEL_EXPORTER_OTLP_ENDPOINT": dead}, tmp_path / "traced.log") as traced,
        running_service({"DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"}, tmp_path / "plain.log") as plain,
    ):
        traced_median, plain_median = median_latencies_s([traced, plain])
        stopping = time.monotonic()
        assert traced.stop() == 0
        stopped_in_s = time.monotonic() - stopping

    # Exporting on the request path would wait on the collector for up to its 30 s timeout: a request here takes
    # milliseconds, on a machine shared with other tests, and within noise of the same service untraced.
    assert traced_median < 3 * plain_median + 0.02, (traced_median, plain_median)
    assert stopped_in_s < 2 + 3, "the export thread given up on at SHUTDOWN_TIMEOUT, not after its own 30 s"
    assert any(record["event"] == "spans not exported before the shutdown timeout" for record in traced.records())


def test_spans_still_queued_at_sigterm_are_exported(tmp_path: Path) -> None:
    with running_receiver() as receiver:
        # A schedule far beyond the test: only the flush at shutdown can send these.
        with traced_service(tmp_path, receiver, OTEL_BSP_SCHEDULE_DELAY="600000") as service:
            for _ in range(3):
                httpx.get(f"{service.url}/health")
            assert receiver.spans == []
            assert service.stop() == 0
        assert [span.name for span in receiver.spans] == ["GET /health"] * 3


def test_two_workers_share_one_sqlite_file_and_each_exports_its_own_spans(tmp_path: Path) -> None:
    creates = 20
    with running_receiver() as receiver, traced_service(tmp_path, receiver, WORKERS="2") as service:
        # A new connection for each request (httpx.post), so that both workers serve some.
        ids = {
            httpx.post(f"{service.url}/api/v1/items", json={"name": f"n{n}", "description": ""}).json()["id"]
            for n in range(creates)
        }
        listed = {item["id"] for item in httpx.get(f"{service.url}/api/v1/items?limit=100").json()}
        # Each request's server span and its statement's span.
        spans = receiver.wait_for(lambda spans: len(spans) == 2 * (creates + 1))
        assert service.stop() == 0

    assert listed == ids, "what either worker wrote, the one that lists it reads"
    assert Counter(span.name for span in spans if span.kind == "SPAN_KIND_SERVER") == {
        "POST /api/v1/items": creates,
        "GET /api/v1/items": 1,
    }


def test_without_the_variables_no_tracing_api_is_imported_and_the_sdk_never(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from litestar.testing import TestClient\n"
        "from app.asgi import create_app\n"
        "from app.settings import Settings\n"
        f"environ = {{'DATABASE_URL': 'sqlite:///{tmp_path / 'items.db'}', 'ACCESS_LOG': 'no'}}\n"
        "settings = Settings.from_environ(environ)\n"
        "loaded = lambda prefix: sorted(name for name in sys.modules if name.startswith(prefix))\n"
        "with TestClient(app=create_app(settings)) as client:\n"
        "    assert client.get('/api/v1/items').status_code == 200\n"
        "    print(loaded('opentelemetry.trace') + loaded('opentelemetry.sdk'))\n"
        "    caller = {'traceparent': '00-' + 'a' * 32 + '-' + 'b' * 16 + '-01'}\n"
        "    assert client.get('/api/v1/items', headers=caller).status_code == 200\n"
        "    print(loaded('opentelemetry.sdk'))\n"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    # No tracing API until a caller sends a trace, then its W3C propagator alone; never the SDK. (Litestar itself
    # looks for its OpenTelemetry plugin when it builds an app, which imports OpenTelemetry's semantic conventions.)
    assert output.strip().splitlines()[-2:] == ["[]", "[]"]


def settings(**environ: str) -> Settings:
    return Settings.from_environ(environ)


def test_tracing_is_switched_by_opentelemetrys_own_variables() -> None:
    assert settings().traces_endpoint is None
    base = "http://collector:4318"
    assert settings(OTEL_EXPORTER_OTLP_ENDPOINT=base).traces_endpoint == f"{base}/v1/traces"
    assert settings(OTEL_EXPORTER_OTLP_ENDPOINT=base + "/").traces_endpoint == f"{base}/v1/traces"
    signal = "https://traces.example/custom/path"
    assert settings(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=signal, OTEL_EXPORTER_OTLP_ENDPOINT=base).traces_endpoint == (
        signal
    ), "the signal's own endpoint as it is, before the base"
    assert settings(OTEL_TRACES_EXPORTER="otlp").traces_endpoint == "http://localhost:4318/v1/traces"
    assert settings(OTEL_TRACES_EXPORTER="none", OTEL_EXPORTER_OTLP_ENDPOINT=base).traces_endpoint is None
    assert settings(OTEL_SDK_DISABLED="true", OTEL_EXPORTER_OTLP_ENDPOINT=base).traces_endpoint is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "grpc://collector:4317"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:port"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
        ("OTEL_TRACES_SAMPLER", "sometimes"),
        ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
        ("OTEL_SDK_DISABLED", "maybe"),
    ],
)
def test_what_the_service_cannot_honour_stops_it_at_start_up(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        settings(**{variable: value})
    assert refused.value.variable == variable


def test_a_password_in_the_collectors_url_is_never_shown(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as refused:
        settings(OTEL_EXPORTER_OTLP_ENDPOINT="ftp://user:hunter2@collector")
    assert "hunter2" not in str(refused.value)
    shown = tracing_field("https://user:hunter2@collector:4318/v1/traces?api_key=sesame#frag")
    assert shown == "on: OTLP to https://user:***@collector:4318/v1/traces"


async def test_the_sampler_and_the_resource_come_from_the_standard_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The settings check them; the SDK reads them from the process's environment, as in the service.
    environment = {
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0",
        "OTEL_SERVICE_NAME": "inventory",
        "OTEL_RESOURCE_ATTRIBUTES": "team=catalogue,deployment.environment.name=eu-1",
    }
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    sampled, _, _ = traceparent()
    with running_receiver() as receiver:
        async with traced_app(receiver, sqlite_url(tmp_path), **environment) as client:
            await client.get("/api/v1/items")  # a new trace: ratio 0, not sampled, its statement neither
            await client.get("/api/v1/items", headers={"traceparent": sampled})  # the caller sampled it

    assert sorted(span.name for span in receiver.spans) == ["GET /api/v1/items", "SELECT items"]
    span = receiver.spans[0]
    assert span.resource["service.name"] == "inventory"
    assert span.resource["team"] == "catalogue"
    assert span.resource["deployment.environment.name"] == "eu-1", "the operator's word over the default"


def test_what_an_asgi_server_may_leave_out_is_left_out() -> None:
    # ASGI makes `server` and `client` optional, and a Unix socket has no port: uvicorn on TCP always sets them.
    scope: Any = {"method": "GET", "scheme": "http", "path": "/health", "http_version": "1.1", "headers": []}
    assert request_attributes(scope, None) == {
        "http.request.method": "GET",
        "url.scheme": "http",
        "url.path": "/health",
        "network.protocol.version": "1.1",
    }
    unix_socket: Any = {**scope, "server": ("/run/items.sock", None)}
    assert "server.address" not in request_attributes(unix_socket, None)
