"""PostgreSQL goes away while the service runs: 503s, a live process, and recovery without a restart."""

from __future__ import annotations

import secrets
import time
from collections.abc import Generator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.faults.tcp_proxy import TCPProxy
from tests.otlp import Receiver, running_receiver
from tests.service import running_service

RECOVERY_DEADLINE_S = 20.0


@pytest.fixture
def proxy(postgres_url: str) -> Generator[TCPProxy]:
    target = urlsplit(postgres_url)
    tcp_proxy = TCPProxy(target.hostname or "127.0.0.1", target.port or 5432)
    yield tcp_proxy
    tcp_proxy.close()


@pytest.fixture
def receiver() -> Generator[Receiver]:
    with running_receiver() as running:
        yield running


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/storage-unavailable")


@pytest.mark.measure_subprocesses
def test_an_outage_turns_items_and_readiness_into_503s_and_the_service_recovers(
    tmp_path: Path, postgres_url: str, proxy: TCPProxy, receiver: Receiver
) -> None:
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    url = urlsplit(postgres_url)
    credentials = url.netloc.rpartition("@")[0]
    through_proxy = url._replace(netloc=f"{credentials}@127.0.0.1:{proxy.port}").geturl()
    traced = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "50"}
    with running_service({"DATABASE_URL": through_proxy, **traced}, tmp_path / "log") as service:
        with httpx.Client(base_url=service.url, timeout=15) as client:
            item = client.post("/api/v1/items", json={"name": "before", "description": ""}).json()

            proxy.cut()
            assert_unavailable(client.get("/health/ready"))
            assert_unavailable(client.get(f"/api/v1/items/{item['id']}", headers={"traceparent": traceparent}))
            assert_unavailable(client.post("/api/v1/items", json={"name": "during", "description": ""}))
            assert_unavailable(client.get("/api/v1/items"))
            assert client.get("/health/live").status_code == 200

            proxy.restore()
            deadline = time.monotonic() + RECOVERY_DEADLINE_S
            while client.get("/health/ready").status_code != 200:
                assert time.monotonic() < deadline, "the service did not recover"
                time.sleep(0.1)
            assert client.get(f"/api/v1/items/{item['id']}").json() == item
            assert client.post("/api/v1/items", json={"name": "after", "description": ""}).status_code == 201
            names = [listed["name"] for listed in client.get("/api/v1/items").json()]
            assert names == ["before", "after"], "the refused write must not have been stored"
        assert service.stop() == 0
    # Expected outages are 503s, not crashes: nothing was logged at error level.
    assert [record for record in service.records() if record["level"] in ("error", "critical")] == []
    # And a trace shows where it failed: the statement, and the request it served.
    failed = {span.kind: span for span in receiver.spans if span.trace_id == trace_id}
    assert failed["SPAN_KIND_CLIENT"].status == failed["SPAN_KIND_SERVER"].status == "STATUS_CODE_ERROR"
    assert failed["SPAN_KIND_CLIENT"].attributes["error.type"] == "StorageUnavailable"
    assert failed["SPAN_KIND_SERVER"].attributes["http.response.status_code"] == 503
