"""The application factory: the features, the database they share, access, and the layer around every request."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.plugins import PluginProtocol
from litestar.types import ASGIApp

from app import SERVICE_NAME, __version__
from app.calculate.controller import CalculateController
from app.db import database_for
from app.db.lifespan import database_opened
from app.health import health_controller
from app.http.bodies import StrictJSONRequest
from app.http.docs_page import DOCS_PATH, docs_router, swagger_ui, swagger_ui_assets
from app.http.observe import RequestObserver
from app.http.problems import EXCEPTION_HANDLERS
from app.items.controller import ItemController
from app.items.idempotency import KeysInFlight, expired_keys_purged
from app.items.service import ItemService
from app.items.store import ItemStore
from app.observability.metrics import RequestMetrics, metrics_endpoint, metrics_port
from app.settings import Settings

if TYPE_CHECKING:
    from app.observability.tracing import Tracing

MAX_BODY_BYTES = 64 * 1024


def create_app(settings: Settings) -> ASGIApp:
    """Build the service for `settings`; the database is opened when the app starts, not here."""
    metrics = RequestMetrics(settings.metrics_multiprocess_dir) if settings.metrics else None
    tracing: Tracing | None = None
    database = database_for(settings)
    if settings.traces_endpoint is not None:
        # OpenTelemetry only where tracing is on.
        from app.db.traced import TracedDatabase  # noqa: PLC0415
        from app.observability.tracing import Tracing  # noqa: PLC0415

        tracing = Tracing(settings)
        database = TracedDatabase(database, tracing, settings.database)
    items = ItemService(
        ItemStore(database),
        settings.idempotency_ttl,
        settings.require_if_match,
        KeysInFlight(),
        settings.auth_tenant_claim,
    )

    @asynccontextmanager
    async def serving(_app: Litestar) -> AsyncGenerator[None]:
        async with (
            database_opened(database, settings),
            expired_keys_purged(items.store, settings.idempotency_ttl),
        ):
            if metrics is None or settings.metrics_port is None or settings.workers > 1:
                yield  # with several workers their supervisor serves METRICS_PORT (app.main)
            else:
                with metrics_port(settings.host, settings.metrics_port, metrics.registry):
                    yield

    plugins: list[PluginProtocol] = []
    if settings.auth is not None:
        # PyJWT, cryptography and httpx only where tokens are checked.
        from app.auth.plugin import BearerTokenAccess  # noqa: PLC0415

        plugins.append(BearerTokenAccess(settings.auth))
    litestar = Litestar(
        route_handlers=[
            health_controller(settings.environment),
            ItemController,
            CalculateController,
            swagger_ui_assets(),
            *([metrics_endpoint] if metrics and settings.metrics_port is None else []),
        ],
        # What handlers are given (each declares what it takes): made once here, the same for every request.
        dependencies={
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "database": Provide(lambda: database, sync_to_thread=False),
            "metrics": Provide(lambda: metrics, sync_to_thread=False),
            "items": Provide(lambda: items, sync_to_thread=False),
        },
        # Tracing first, so that it is up before the database opens and exports last.
        lifespan=[*([tracing.lifespan] if tracing else []), serving],
        plugins=plugins,
        request_class=StrictJSONRequest,
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title=SERVICE_NAME.replace("-", " ").capitalize(),  # "Items service"
            version=__version__,
            description="Items (persistent) and a calculator, served by Litestar and msgspec.",
            path=DOCS_PATH,
            openapi_router=docs_router(),
            render_plugins=[swagger_ui()],
        ),
        logging_config=None,
        debug=False,
    )
    return RequestObserver(litestar, access_log=settings.access_log, metrics=metrics, tracing=tracing)
