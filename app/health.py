"""Health probes: /health (the old service's contract), /health/live and /health/ready."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Literal

import msgspec
from litestar import Request, get
from litestar.handlers import HTTPRouteHandler

from app import __version__
from app.http.problems import problem_responses
from app.items.store import store_of


class HealthStatus(msgspec.Struct, frozen=True):
    status: Literal["healthy"]
    version: str
    timestamp: datetime
    environment: str


class ProbeStatus(msgspec.Struct, frozen=True):
    status: Literal["alive", "ready"]


async def live() -> ProbeStatus:
    return ProbeStatus("alive")


async def ready(request: Request[Any, Any, Any]) -> ProbeStatus:
    await store_of(request).ping()
    return ProbeStatus("ready")


def health_routes(environment: str) -> list[HTTPRouteHandler]:
    """The probes under /health. The environment is fixed for the process, so GET /health takes
    no parameters at all, which spares Litestar its per-request parameter handling."""
    tags = ["health"]

    @get("/health", operation_id="getHealth", summary="Service status, version and environment", tags=tags)
    async def health() -> HealthStatus:
        return HealthStatus("healthy", __version__, datetime.now(UTC), environment)

    return [
        health,
        get(
            "/health/live", operation_id="getLiveness", summary="Liveness probe: the process serves requests", tags=tags
        )(live),
        get(
            "/health/ready",
            operation_id="getReadiness",
            summary="Readiness probe: the database answers",
            responses=problem_responses(HTTPStatus.SERVICE_UNAVAILABLE),
            tags=tags,
        )(ready),
    ]
