"""The application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncGenerator
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from typing import TYPE_CHECKING

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components
from litestar.types import ASGIApp

from app import __version__
from app.auth.access import BEARER_SCHEME, BEARER_SCHEME_NAME, AccessRules
from app.auth.lifespan import token_verifier
from app.calculate.routes import calculate_routes
from app.health import health_routes
from app.http.bodies import StrictJSONRequest
from app.http.docs_page import DOCS_PATH, swagger_ui, swagger_ui_assets
from app.http.observe import RequestObserver
from app.http.problems import EXCEPTION_HANDLERS
from app.items.backends import open_store
from app.items.errors import MigrationBlocked, SchemaTooNew, StorageUnavailable
from app.items.idempotency import KeysInFlight, expired_keys_purged
from app.items.routes import item_routes
from app.observability.logs import get_logger
from app.observability.metrics import RequestMetrics, metrics_endpoint, metrics_port
from app.settings import Settings

if TYPE_CHECKING:
    from app.observability.tracing import Tracing

MAX_BODY_BYTES = 64 * 1024

logger = get_logger("app.asgi")


def own_metrics_port(settings: Settings, metrics: RequestMetrics | None) -> AbstractContextManager[None]:
    """METRICS_PORT, served by the app while it runs; with several workers their supervisor serves it (app.main)."""
    if metrics is None or settings.metrics_port is None or settings.workers > 1:
        return nullcontext()
    return metrics_port(settings.host, settings.metrics_port, metrics.registry)


def create_app(settings: Settings) -> ASGIApp:
    """Build the service for `settings`; the database is opened when the app starts, not here."""
    metrics = RequestMetrics(settings.metrics_multiprocess_dir) if settings.metrics else None
    access = AccessRules(tokens_checked=settings.auth is not None)
    tracing: Tracing | None = None
    if settings.traces_endpoint is not None:
        from app.observability.tracing import Tracing  # noqa: PLC0415 - OpenTelemetry only where tracing is on

        tracing = Tracing(settings)

    @asynccontextmanager
    async def item_store(app: Litestar) -> AsyncGenerator[None]:
        try:
            store = await open_store(settings)
            if tracing is not None:
                from app.items.traced import TracedStore  # noqa: PLC0415 - only where tracing is on

                store = TracedStore(store, tracing.tracer, settings.database)
            app.state.store = store
        except StorageUnavailable as exc:
            logger.critical(
                "database unavailable at start-up, giving up",
                database=settings.database.redacted,
                waited_s=settings.database_connect_timeout,
                error=str(exc.__cause__ or exc),
            )
            raise
        except MigrationBlocked as exc:
            logger.critical(
                "schema migration blocked, giving up", database=settings.database.redacted, message=str(exc)
            )
            raise
        except SchemaTooNew as exc:
            logger.critical(
                "database schema newer than this release, refusing to start",
                database=settings.database.redacted,
                schema_version=exc.found,
                known_version=exc.known,
                message=str(exc),
            )
            raise
        # What start-up allocated lives as long as the process: frozen, the collector stops
        # re-scanning it, and full collections no longer stall requests for milliseconds.
        gc.freeze()
        try:
            async with expired_keys_purged(app.state.store, settings.idempotency_ttl):
                with own_metrics_port(settings, metrics):
                    yield
        finally:
            await app.state.store.close()

    litestar = Litestar(
        route_handlers=[
            # Handlers, not Routers: Litestar deep-copies every Router it registers, an eighth of building the app.
            *health_routes(settings.environment),
            *item_routes(access),
            *calculate_routes(access),
            swagger_ui_assets(),
            *([metrics_endpoint] if metrics and settings.metrics_port is None else []),
        ],
        # Tracing first, so that it is up before the store opens and exports last. The verifier before the store:
        # what it loads (PyJWT, cryptography, httpx) is then frozen with the rest at start-up.
        lifespan=[*([tracing.lifespan] if tracing else []), token_verifier(settings.auth), item_store],
        state=State(
            {
                "metrics": metrics,
                "token_verifier": None,
                "require_if_match": settings.require_if_match,
                "idempotency_ttl": settings.idempotency_ttl,
                "keys_in_flight": KeysInFlight(),
            }
        ),
        request_class=StrictJSONRequest,
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="Items service",
            version=__version__,
            description="Items (persistent) and a calculator, served by Litestar and msgspec.",
            path=DOCS_PATH,
            render_plugins=[swagger_ui()],
            components=Components(
                security_schemes={BEARER_SCHEME_NAME: BEARER_SCHEME} if access.tokens_checked else None
            ),
        ),
        logging_config=None,
        debug=False,
    )
    return RequestObserver(litestar, access_log=settings.access_log, metrics=metrics, tracing=tracing)
