"""Checks the OpenTelemetry Collector's configuration offline, as far as it can without the collector itself (whose
image no registry here serves): `just lint-deploy` calls it.

    python ci/collector_check.py COLLECTOR_CONFIG.yaml COMPOSE.yaml

- Every pipeline names only receivers, processors and exporters that are configured, and every one configured is in
  a pipeline (the collector refuses the first and ignores the second); every extension named is configured.
- The traces pipeline receives OTLP over HTTP on 4318, where OTEL_EXPORTER_OTLP_ENDPOINT of every Compose service
  sends, at the collector's Compose service name.
- memory_limiter is the first processor and batch the last, as the collector's documentation asks.
- Every exporter's endpoint names a host that is a Compose service.

Prints each broken rule and exits 1 if there is any.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import yaml

KINDS = ("receivers", "processors", "exporters")
OTLP_HTTP_PORT = 4318


def section(mapping: Any, *keys: str) -> dict[str, Any]:
    """mapping[key][key]...: an empty mapping wherever a key is missing or holds nothing."""
    found: Any = mapping
    for key in keys:
        found = cast("dict[str, Any]", found).get(key) if isinstance(found, dict) else None
    return cast("dict[str, Any]", found) if isinstance(found, dict) else {}


def kind_of(component: str) -> str:
    """A component's type: `otlp/jaeger` is an `otlp` exporter named jaeger."""
    return component.partition("/")[0]


def pipeline_problems(config: dict[str, Any]) -> Iterator[str]:
    service = section(config, "service")
    pipelines = section(service, "pipelines")
    if "traces" not in pipelines:
        yield "service.pipelines: no traces pipeline"
    for kind in KINDS:
        configured = set(section(config, kind))
        used = {str(name) for pipeline in pipelines for name in section(pipelines, pipeline).get(kind, [])}
        yield from (f"{kind}: {name} is in a pipeline but not configured" for name in sorted(used - configured))
        yield from (f"{kind}: {name} is configured but in no pipeline" for name in sorted(configured - used))
    for name in service.get("extensions", []):
        if name not in section(config, "extensions"):
            yield f"service.extensions: {name} is not configured"
    for name in pipelines:
        processors: list[str] = section(pipelines, name).get("processors", [])
        if processors and kind_of(processors[0]) != "memory_limiter":
            yield f"pipeline {name}: memory_limiter must be the first processor"
        if processors and kind_of(processors[-1]) != "batch":
            yield f"pipeline {name}: batch must be the last processor"


def compose_problems(config: dict[str, Any], compose: dict[str, Any]) -> Iterator[str]:
    services = section(compose, "services")
    http = section(config, "receivers", "otlp", "protocols", "http")
    port = urlsplit("//" + str(http.get("endpoint", ""))).port
    if port != OTLP_HTTP_PORT:
        yield f"receivers.otlp.protocols.http: listens on {port}, not {OTLP_HTTP_PORT}, where the service sends"
    collectors = {name for name in services if "otelcol" in str(section(services, name).get("command", ""))}
    for name in services:
        endpoint = section(services, name, "environment").get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if endpoint is None:
            continue
        target = urlsplit(str(endpoint))
        if target.hostname not in collectors or target.port != OTLP_HTTP_PORT:
            yield f"compose {name}: OTEL_EXPORTER_OTLP_ENDPOINT {endpoint} is not the collector's OTLP/HTTP port"
    for name in section(config, "exporters"):
        endpoint = str(section(config, "exporters", name).get("endpoint", ""))
        host = urlsplit(endpoint if "//" in endpoint else "//" + endpoint).hostname
        if host is not None and host not in services:
            yield f"exporters: {name} sends to {host}, which is no Compose service"


def problems(config_path: Path, compose_path: Path) -> list[str]:
    config = section({"file": yaml.safe_load(config_path.read_text())}, "file")
    compose = section({"file": yaml.safe_load(compose_path.read_text())}, "file")
    return [*pipeline_problems(config), *compose_problems(config, compose)]


def main(arguments: list[str]) -> int:
    config_path, compose_path = map(Path, arguments)
    found = problems(config_path, compose_path)
    for problem in found:
        print(f"{config_path}: {problem}")
    if not found:
        print(f"{config_path}: valid, and wired to {compose_path}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
