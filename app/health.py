"""Health probes: /health (the old service's contract), /health/live and /health/ready."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Literal

import msgspec
from litestar import Controller, Request, get

from app import __version__
from app.items.store import ItemStore
from app.problems import problem_responses


class HealthStatus(msgspec.Struct, frozen=True):
    status: Literal["healthy"]
    version: str
    timestamp: datetime
    environment: str


class ProbeStatus(msgspec.Struct, frozen=True):
    status: Literal["alive", "ready"]


class HealthController(Controller):
    path = "/health"
    tags = ["health"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("", summary="Service status, version and environment")
    async def health(self, request: Request[Any, Any, Any]) -> HealthStatus:
        environment: str = request.app.state.environment
        return HealthStatus("healthy", __version__, datetime.now(UTC), environment)

    @get("/live", summary="Liveness probe: the process serves requests")
    async def live(self) -> ProbeStatus:
        return ProbeStatus("alive")

    @get(
        "/ready",
        summary="Readiness probe: the database answers",
        responses=problem_responses(HTTPStatus.SERVICE_UNAVAILABLE),
    )
    async def ready(self, request: Request[Any, Any, Any]) -> ProbeStatus:
        store: ItemStore = request.app.state.store
        await store.ping()
        return ProbeStatus("ready")
