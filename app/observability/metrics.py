"""Prometheus metrics: request count, latency and requests in flight, plus process and Python collectors.

Labels are bounded whatever clients send: the route is the matched template (never the raw path),
unknown methods are folded into OTHER, and the status is a number from 100 to 599.

One process serves its metrics and the process and Python collectors from a registry of its own.
Several worker processes pool their numbers through prometheus_client's multiprocess files: only
the registry differs, and prometheus_client picks file-backed values itself when it finds
PROMETHEUS_MULTIPROC_DIR in the environment (app.main sets it before uvicorn starts the workers).
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager

from litestar import Response, get
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector

from app.auth.access import OPEN
from app.http.injected import Injected

UNMATCHED_ROUTE = "<unmatched>"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probes and scrapes arrive every few seconds whatever the load: left out of the latency histogram
# so that its quantiles describe the API's traffic. They are still counted in http_requests_total.
UNTIMED_ROUTES = frozenset({"/metrics", "/health", "/health/live", "/health/ready"})
# The text format every Prometheus version reads; Litestar appends the charset.
EXPOSITION_MEDIA_TYPE = "text/plain; version=0.0.4"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LABELS = ("method", "route", "status")

Labels = tuple[str, str, int]


class RequestMetrics:
    """What the request observer records, and what /metrics shows."""

    def __init__(self, multiprocess_directory: str | None) -> None:
        # *_created series double what every scrape carries and tell operators nothing here.
        disable_created_metrics()
        self.registry = CollectorRegistry()
        if multiprocess_directory is None:
            own_registry = self.registry
            for collector in (ProcessCollector, PlatformCollector, GCCollector):
                collector(registry=self.registry)
        else:
            # Each worker writes its numbers to files in the directory; a scrape of any worker sums them
            # all. Registered here as well, this worker's metrics would be exported twice. Process and
            # Python collectors are left out: their numbers cannot be summed across processes.
            own_registry = None
            self.registry = pooled_registry(multiprocess_directory)
        self._requests = Counter("http_requests", "HTTP requests answered.", LABELS, registry=own_registry)
        self._latency = Histogram(
            "http_request_duration_seconds",
            "Time from receiving a request to finishing its response (probes and scrapes left out).",
            LABELS,
            buckets=LATENCY_BUCKETS,
            registry=own_registry,
        )
        self._in_flight = Gauge(
            "http_requests_in_flight",
            "HTTP requests being handled.",
            registry=own_registry,
            multiprocess_mode="livesum",
        )
        # Bounded like the labels themselves: a few methods, the app's routes, the statuses it answers.
        self._children: dict[Labels, tuple[Counter, Histogram | None]] = {}

    def started(self) -> None:
        self._in_flight.inc()

    def finished(self, method: str, route: str | None, status: int, seconds: float) -> None:
        self._in_flight.dec()
        labels = (method if method in KNOWN_METHODS else "OTHER", route or UNMATCHED_ROUTE, status)
        counted, timed = self._children.get(labels) or self._labelled(labels)
        counted.inc()
        if timed is not None:
            timed.observe(seconds)

    def _labelled(self, labels: Labels) -> tuple[Counter, Histogram | None]:
        # Looking a child up costs as much as updating it, so each label set is looked up once.
        children = self._children[labels] = (
            self._requests.labels(*labels),
            None if labels[1] in UNTIMED_ROUTES else self._latency.labels(*labels),
        )
        return children

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


@get(
    "/metrics",
    operation_id="getMetrics",
    summary="Prometheus metrics",
    tags=["operations"],
    media_type=EXPOSITION_MEDIA_TYPE,
    sync_to_thread=False,
    opt=OPEN,
)
def metrics_endpoint(metrics: Injected[RequestMetrics]) -> Response[bytes]:
    return Response(metrics.exposition(), media_type=EXPOSITION_MEDIA_TYPE)


@contextmanager
def metrics_port(host: str, port: int, registry: CollectorRegistry) -> Generator[None]:
    """Serve `registry` on a port of its own (METRICS_PORT) while the block runs: prometheus_client's own
    exposition server, on a thread, which answers every path with the metrics."""
    server, thread = start_http_server(port, addr=host, registry=registry)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def pooled_registry(multiprocess_directory: str) -> CollectorRegistry:
    """What every worker wrote to `multiprocess_directory`, summed: for a port that the supervisor serves."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=multiprocess_directory)
    return registry
