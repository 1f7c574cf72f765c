"""The process entry point: `python -m app` validates settings, configures logging and runs uvicorn."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

import uvicorn
from litestar import Litestar

from app.asgi import create_app
from app.logs import configure_logging, get_logger
from app.settings import Settings, SettingsError

logger = get_logger("app.main")


def serve() -> Litestar:
    """The factory uvicorn imports in each worker process: settings were validated by `main` already."""
    settings = Settings.from_environ(os.environ)
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description="Run the items service.")
    parser.add_argument("--reload", action="store_true", help="restart when the code changes (development)")
    arguments = parser.parse_args(argv)
    try:
        settings = Settings.from_environ(os.environ)
    except SettingsError as error:
        # Logging is not configured yet; this one line must still be JSON for log aggregators.
        configure_logging("INFO", "console" if os.environ.get("LOG_FORMAT", "").lower() == "console" else "json")
        logger.critical(
            "invalid configuration",
            variable=error.variable,
            value=error.value,
            allowed=error.allowed,
            message=str(error),
        )
        return 2
    configure_logging(settings.log_level, settings.log_format)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again for the previous
    # handler. Orchestrators read exit code 0 as "stopped as asked", so that handler exits with 0.
    signal.signal(signal.SIGTERM, _exit_after_graceful_shutdown)
    signal.signal(signal.SIGINT, _exit_after_graceful_shutdown)
    logger.info(
        "starting",
        environment=settings.environment,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        database=settings.database.redacted,
    )
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
    )
    return 0


def _exit_after_graceful_shutdown(_signal: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


if __name__ == "__main__":  # pragma: no cover - `python -m app` goes through app/__main__.py
    sys.exit(main())
