"""Reading the service's /metrics in tests, with prometheus_client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, frozenset[tuple[str, str]]]


def samples(exposition: str) -> dict[Sample, float]:
    """Every sample of a Prometheus text exposition: (name, labels) to value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def labels(method: str, route: str, status: str, **extra: str) -> frozenset[tuple[str, str]]:
    return frozenset({"method": method, "route": route, "status": status, **extra}.items())
