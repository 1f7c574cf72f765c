"""The process: `python -m app` (app/__main__.py) reads the settings and configures logging, then runs uvicorn here."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import tempfile
from collections.abc import Generator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from types import FrameType

import structlog
import uvicorn
from litestar.types import ASGIApp

from app import SERVICE_NAME, __version__
from app.asgi import create_app
from app.db import migrate_schema
from app.db.errors import MigrationBlocked, SchemaTooNew, StorageUnavailable
from app.observability.logs import configure_logging, get_logger
from app.observability.metrics import metrics_port, pooled_registry
from app.settings import Settings, redact_url

logger = get_logger("app.main")


def serve() -> ASGIApp:
    """The factory uvicorn calls in the process that serves: settings were validated by `python -m app` already."""
    settings = Settings.from_environ(os.environ)
    if not structlog.is_configured():
        # Workers and the reloader's server are processes of their own, started afresh (multiprocessing's
        # spawn, which skips a package's __main__): nothing of `python -m app` ran there. With one worker
        # uvicorn calls this in the process of `python -m app`, whose logging is configured already.
        configure_logging(settings.log_level, settings.log_format, trace_ids=settings.traces_endpoint is not None)
    return create_app(settings)


def main(settings: Settings, argv: Sequence[str] | None = None) -> int:
    """Run the service; logging is configured from `settings` already."""
    parser = argparse.ArgumentParser(prog="python -m app", description=f"Run {SERVICE_NAME}.")
    parser.add_argument(
        "command",
        nargs="?",
        choices=("serve", "migrate"),
        default="serve",
        help="serve (the default), or migrate: apply pending schema migrations, then exit",
    )
    parser.add_argument("--reload", action="store_true", help="restart when the code changes (development)")
    arguments = parser.parse_args(argv)
    if arguments.command == "migrate":
        return migrate(settings)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again for the previous
    # handler. Orchestrators read exit code 0 as "stopped as asked", so that handler exits with 0.
    signal.signal(signal.SIGTERM, _exit_after_graceful_shutdown)
    signal.signal(signal.SIGINT, _exit_after_graceful_shutdown)
    logger.info(
        "starting",
        service=SERVICE_NAME,
        version=__version__,
        environment=settings.environment,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        database=settings.database.redacted,
        **authentication_fields(settings),
        tracing=tracing_field(settings.traces_endpoint),
    )
    with metrics_shared_across_workers(settings):
        uvicorn.run(
            "app.main:serve",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            reload=arguments.reload,
            reload_dirs=["app"] if arguments.reload else None,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            log_config=None,
            access_log=False,  # the service writes one richer access line per request itself
            server_header=False,
            timeout_graceful_shutdown=settings.shutdown_timeout,
            timeout_keep_alive=settings.keep_alive_timeout,
            proxy_headers=True,
            forwarded_allow_ips=list(settings.forwarded_allow_ips),
        )
    return 0


def tracing_field(endpoint: str | None) -> str:
    """Where spans go, for the start-up line: no password, query or fragment, where a key could hide. The SDK's
    other variables (OTEL_EXPORTER_OTLP_HEADERS holds credentials) are never logged."""
    if endpoint is None:
        return "off"
    return f"on: OTLP to {redact_url(endpoint)}"


def migrate(settings: Settings) -> int:
    """Apply pending migrations and exit: 0 when the schema is current, 1 (after one log line saying why) if not."""
    try:
        asyncio.run(migrate_schema(settings))
    except (MigrationBlocked, SchemaTooNew, StorageUnavailable) as exc:
        logger.critical("schema not migrated", database=settings.database.redacted, reason=str(exc.__cause__ or exc))
        return 1
    logger.info("schema migrated", database=settings.database.redacted)
    return 0


def authentication_fields(settings: Settings) -> dict[str, str]:
    """What the start-up line says about access: who issues the tokens, or why every client may call."""
    if settings.auth is None:
        reason = "AUTH_DISABLED=true" if settings.auth_disabled else "AUTH_ISSUER is unset"
        return {"authentication": f"off: every client may call every operation ({reason})"}
    return {
        "authentication": "bearer tokens",
        "auth_issuer": settings.auth.issuer,
        "auth_audience": settings.auth.audience,
        "auth_jwks_url": redact_url(settings.auth.jwks_url or settings.auth.discovery_url),
        "auth_tenant_claim": settings.auth.tenant_claim or "unset: items are shared",
    }


@contextmanager
def metrics_shared_across_workers(settings: Settings) -> Generator[None]:
    """With several workers, give prometheus_client a directory where they pool their numbers (served on METRICS_PORT
    by this process, their supervisor, where it is set).

    Workers are new processes that read PROMETHEUS_MULTIPROC_DIR when they import prometheus_client
    and when they read their settings, so it must be in the environment before uvicorn starts them.
    """
    created_directory = None
    supervisor_port: AbstractContextManager[None] = nullcontext()
    if settings.metrics and settings.workers > 1:
        directory = settings.metrics_multiprocess_dir
        if directory is None:
            directory = created_directory = tempfile.mkdtemp(prefix=f"{SERVICE_NAME}-metrics-")
        for stale in Path(directory).glob("*.db"):  # counts of an earlier run would be added to this one's
            stale.unlink()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        if settings.metrics_port is not None:
            # The workers share the API's port; this process, their supervisor, serves what they pooled.
            supervisor_port = metrics_port(settings.host, settings.metrics_port, pooled_registry(directory))
    try:
        with supervisor_port:
            yield
    finally:
        if created_directory is not None:
            shutil.rmtree(created_directory, ignore_errors=True)


def _exit_after_graceful_shutdown(_signal: int, _frame: FrameType | None) -> None:
    # Wrappers and supervisors may signal again (`uv run` forwards what it receives, a terminal's Ctrl-C
    # reaches every process of the group): the stop has begun, and a second SystemExit in the middle of
    # the first one's unwinding would turn a clean exit into a failed one.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise SystemExit(0)
