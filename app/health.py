"""Health probes: /health (the old service's contract), /health/live and /health/ready. Always open."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Literal

import msgspec
from litestar import Controller, get

from app import __version__
from app.auth.access import OPEN
from app.db.database import Database
from app.http.injected import Injected
from app.http.problems import problem_responses


class HealthStatus(msgspec.Struct, frozen=True):
    status: Literal["healthy"]
    version: str
    timestamp: datetime
    environment: str


class ProbeStatus(msgspec.Struct, frozen=True):
    status: Literal["alive", "ready"]


def health_controller(environment: str) -> type[Controller]:
    """The probes under /health, for a service in `environment`. It is fixed for the process, so GET /health takes no
    parameter at all, not even an injected one: on the cheapest request there is, injection cost about a tenth
    (tests/bench/README.md)."""

    class HealthController(Controller):
        path = "/health"
        tags = ["health"]  # noqa: RUF012 - Litestar's declaration
        opt = OPEN

        @get(operation_id="getHealth", summary="Service status, version and environment")
        async def health(self) -> HealthStatus:
            return HealthStatus("healthy", __version__, datetime.now(UTC), environment)

        @get("/live", operation_id="getLiveness", summary="Liveness probe: the process serves requests")
        async def live(self) -> ProbeStatus:
            return ProbeStatus("alive")

        @get(
            "/ready",
            operation_id="getReadiness",
            summary="Readiness probe: the database answers",
            responses=problem_responses(HTTPStatus.SERVICE_UNAVAILABLE),
        )
        async def ready(self, database: Injected[Database]) -> ProbeStatus:
            await database.ping()
            return ProbeStatus("ready")

    return HealthController
