"""Prometheus metrics: request count, latency and requests in flight, plus process and Python collectors.

Labels are bounded whatever clients send: the route is the matched template (never the raw path),
unknown methods are folded into OTHER, and the status is a number from 100 to 599.

Every request pays for its metrics, so one process keeps plain counters that only the event loop
touches and turns them into samples when scraped (`InProcessMetrics`). Several worker processes
need prometheus_client's multiprocess values, which pool their numbers through files
(`SharedMetrics`): a lock and a file write per update, the price of correct totals.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Any, Protocol

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
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

UNMATCHED_ROUTE = "<unmatched>"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probes and scrapes arrive every few seconds whatever the load: left out of the latency histogram
# so that its quantiles describe the API's traffic. They are still counted in http_requests_total.
UNTIMED_ROUTES = frozenset({"/metrics", "/health", "/health/live", "/health/ready"})
# The text format every Prometheus version reads; Litestar appends the charset.
EXPOSITION_MEDIA_TYPE = "text/plain; version=0.0.4"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LABELS = ("method", "route", "status")
REQUESTS = ("http_requests", "HTTP requests answered.")
LATENCY = (
    "http_request_duration_seconds",
    "Time from receiving a request to finishing its response (probes and scrapes left out).",
)
IN_FLIGHT = ("http_requests_in_flight", "HTTP requests being handled.")

Key = tuple[str, str, int]


class RequestMetrics(Protocol):
    """What the request observer records, and what /metrics shows."""

    def started(self) -> None: ...

    def finished(self, method: str, route: str | None, status: int, seconds: float) -> None: ...

    def exposition(self) -> bytes: ...


def create_metrics(multiprocess_directory: str | None) -> RequestMetrics:
    # *_created series double what every scrape carries and tell operators nothing here.
    disable_created_metrics()
    if multiprocess_directory is None:
        return InProcessMetrics()
    return SharedMetrics(multiprocess_directory)


def label_key(method: str, route: str | None, status: int) -> Key:
    return (method if method in KNOWN_METHODS else "OTHER", route or UNMATCHED_ROUTE, status)


class InProcessMetrics:
    """Counters of one process, updated without locks: only the event loop thread reads or writes them."""

    def __init__(self) -> None:
        self._in_flight = 0
        self._requests: dict[Key, int] = {}
        # Per label set: a count per bucket (the last one is +Inf), then the sum of seconds.
        self._latency: dict[Key, list[float]] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        self.registry.register(self)

    def started(self) -> None:
        self._in_flight += 1

    def finished(self, method: str, route: str | None, status: int, seconds: float) -> None:
        self._in_flight -= 1
        key = label_key(method, route, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        if key[1] in UNTIMED_ROUTES:
            return
        latency = self._latency.get(key)
        if latency is None:
            latency = self._latency[key] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        latency[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        latency[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        """Called by the registry at each scrape."""
        requests = CounterMetricFamily(*REQUESTS, labels=LABELS)
        for (method, route, status), count in self._requests.items():
            requests.add_metric([method, route, str(status)], count)
        latency = HistogramMetricFamily(*LATENCY, labels=LABELS)
        bounds = [*map(str, LATENCY_BUCKETS), "+Inf"]
        for (method, route, status), counts in self._latency.items():
            cumulative: list[tuple[str, float]] = []
            running = 0.0
            for bound, count in zip(bounds, counts, strict=False):
                running += count
                cumulative.append((bound, running))
            latency.add_metric([method, route, str(status)], cumulative, counts[-1])
        yield requests
        yield latency
        yield GaugeMetricFamily(*IN_FLIGHT, value=self._in_flight)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class SharedMetrics:
    """Counters of several worker processes, pooled through prometheus_client's multiprocess files."""

    def __init__(self, directory: str) -> None:
        # Each worker writes its numbers to files in the directory; a scrape of any worker sums them all.
        # Process and Python collectors are left out: their numbers cannot be summed across processes.
        self.registry = CollectorRegistry(auto_describe=True)
        MultiProcessCollector(self.registry, path=directory)
        self._requests = Counter(*REQUESTS, LABELS, registry=None)
        self._latency = Histogram(*LATENCY, LABELS, buckets=LATENCY_BUCKETS, registry=None)
        self._in_flight = Gauge(*IN_FLIGHT, registry=None, multiprocess_mode="livesum")

    def started(self) -> None:
        self._in_flight.inc()

    def finished(self, method: str, route: str | None, status: int, seconds: float) -> None:
        self._in_flight.dec()
        key = label_key(method, route, status)
        labels = (key[0], key[1], str(status))
        self._requests.labels(*labels).inc()
        if key[1] not in UNTIMED_ROUTES:
            self._latency.labels(*labels).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


@get(
    "/metrics",
    operation_id="getMetrics",
    summary="Prometheus metrics",
    tags=["operations"],
    media_type=EXPOSITION_MEDIA_TYPE,
    sync_to_thread=False,
)
def metrics_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    metrics: RequestMetrics = request.app.state.metrics
    return Response(metrics.exposition(), media_type=EXPOSITION_MEDIA_TYPE)
