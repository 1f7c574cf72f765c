"""Prometheus metrics: request count, latency and requests in flight, plus process and Python collectors.

Labels are bounded whatever clients send: the route is the matched template (never the raw path),
unknown methods are folded into OTHER, and the status is a number from 100 to 599.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
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
)
from prometheus_client.multiprocess import MultiProcessCollector

UNMATCHED_ROUTE = "<unmatched>"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probes and scrapes arrive every few seconds whatever the load: left out of the latency histogram
# so that its quantiles describe the API's traffic. They are still counted in http_requests_total.
UNTIMED_ROUTES = frozenset({"/metrics", "/health", "/health/live", "/health/ready"})
# The text format every Prometheus version reads; Litestar appends the charset.
EXPOSITION_MEDIA_TYPE = "text/plain; version=0.0.4"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The service's metrics in a registry of their own, so that each app (and each test) starts at zero."""

    def __init__(self, multiprocess_directory: str | None = None) -> None:
        # *_created series double what every scrape carries and tell operators nothing here.
        disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=True)
        if multiprocess_directory is None:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
            metrics_registry: CollectorRegistry | None = self.registry
        else:
            # Each worker writes its numbers to files in the directory; a scrape of any worker sums them all.
            MultiProcessCollector(self.registry, path=multiprocess_directory)
            metrics_registry = None
        labels = ("method", "route", "status")
        self._requests = Counter("http_requests", "HTTP requests answered.", labels, registry=metrics_registry)
        self._latency = Histogram(
            "http_request_duration_seconds",
            "Time from receiving a request to finishing its response (probes and scrapes left out).",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=metrics_registry,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight",
            "HTTP requests being handled.",
            registry=metrics_registry,
            multiprocess_mode="livesum",
        )
        # Looking children up by label values costs more than the increment itself: keep them at hand.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram | None]] = {}

    def observe(self, method: str, route: str | None, status: int, seconds: float) -> None:
        key = (method if method in KNOWN_METHODS else "OTHER", route or UNMATCHED_ROUTE, status)
        children = self._children.get(key)
        if children is None:
            labels = (key[0], key[1], str(status))
            # An untimed route gets no histogram child at all: an empty one would still be exported.
            latency = None if key[1] in UNTIMED_ROUTES else self._latency.labels(*labels)
            children = self._children[key] = (self._requests.labels(*labels), latency)
        count, latency = children
        count.inc()
        if latency is not None:
            latency.observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


@get(
    "/metrics",
    summary="Prometheus metrics",
    tags=["operations"],
    media_type=EXPOSITION_MEDIA_TYPE,
    sync_to_thread=False,
)
def metrics_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    metrics: Metrics = request.app.state.metrics
    return Response(metrics.exposition(), media_type=EXPOSITION_MEDIA_TYPE)
