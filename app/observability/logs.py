"""Structured logging: one JSON object per line on stdout, for the service and for uvicorn alike.

One structlog configuration serves every record, the access line of each request included. The
service's own records take structlog's fast path: a level-filtering bound logger, cached on first
use, rendering straight to bytes with msgspec for a `BytesLogger` on stdout's binary buffer, which
writes and flushes line by line. Records of standard-library loggers (uvicorn, asyncio, warnings) go
through the same processors by way of `ProcessorFormatter`, on a handler that writes to stdout and
flushes each record into that same buffer: every line has the same keys, and lines reach stdout in
the order they were written.
"""

from __future__ import annotations

import logging
import sys
import threading
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import msgspec
import structlog
from structlog.typing import EventDict, Processor

from app.settings import LogFormat, LogLevel

_encoder = msgspec.json.Encoder(enc_hook=str)


def _json_bytes(event: Any, **_: Any) -> bytes:
    # JSONRenderer passes json.dumps keywords (`default=`) that msgspec does not take.
    return _encoder.encode(event)


def _json_text(event: Any, **_: Any) -> str:
    return _encoder.encode(event).decode()


def _to_bytes(_logger: Any, _method: str, line: Any) -> Any:
    # The console renderer hands on a string where processors usually pass a dict.
    return str(line).encode()


def rfc3339(moment: datetime) -> str:
    """`moment` (in UTC) as RFC 3339 with six fraction digits, zeros included, so that timestamps sort as text."""
    return moment.isoformat(timespec="microseconds").removesuffix("+00:00") + "Z"


def add_timestamp(_logger: Any, _method: str, event: EventDict) -> EventDict:
    # structlog's TimeStamper drops the fraction when it is zero (fmt="iso"), or formats with strftime,
    # the slowest step of the access line (tests/bench/README.md).
    event["timestamp"] = rfc3339(datetime.now(UTC))
    return event


def get_logger(name: str) -> Any:
    """A logger whose records carry `logger=name`. Safe to call at import time."""
    return structlog.get_logger(name)


def configure_logging(level: LogLevel, log_format: LogFormat, *, trace_ids: bool = False) -> None:
    """Route every log record of the process to stdout in `log_format`, dropping those below `level`; with
    `trace_ids` (where tracing is on), each record written in a span carries the span's `trace_id` and `span_id`.

    Call it once per process, before the first record: loggers are cached on first use with the
    configuration of that moment.
    """
    shared: list[Processor] = [
        # Whatever is bound with structlog.contextvars (the request id) goes into every record.
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        add_timestamp,
    ]
    if trace_ids:
        from app.observability.tracing import add_trace_ids  # noqa: PLC0415 - only where tracing is on

        shared.append(add_trace_ids)
    if log_format == "json":
        # No local variables in tracebacks: they hold headers, secrets and request data.
        tracebacks = structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        )
        own_tail: list[Processor] = [tracebacks, structlog.processors.JSONRenderer(serializer=_json_bytes)]
        foreign_tail: list[Processor] = [tracebacks, structlog.processors.JSONRenderer(serializer=_json_text)]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())
        own_tail = [renderer, _to_bytes]
        foreign_tail = [renderer]

    structlog.configure(
        processors=[*shared, *own_tail],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        # The one factory whose loggers carry the name given to get_logger, for add_logger_name.
        logger_factory=structlog.BytesLoggerFactory(sys.stdout.buffer),
        cache_logger_on_first_use=True,
    )

    # StreamHandler flushes every record through sys.stdout into sys.stdout.buffer, where the
    # BytesLogger above writes: one buffer, so the two kinds of records keep their order.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *foreign_tail],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        # uvicorn's own handlers write plain text; its records must reach ours instead.
        library_logger = logging.getLogger(name)
        library_logger.handlers = []
        library_logger.propagate = True
        library_logger.setLevel(logging.NOTSET)
    # The service writes one richer access line per request itself (app.access); uvicorn's would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request's URL at INFO, a key set's with whatever credentials or key its query holds; the
    # service logs each fetch itself, the URL without them.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.captureWarnings(capture=True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    sys.unraisablehook = _log_unraisable


def _log_uncaught(kind: type[BaseException], exc: BaseException, traceback: TracebackType | None) -> None:
    get_logger("app").critical("uncaught exception", exc_info=(kind, exc, traceback))


def _log_unraisable(unraisable: Any) -> None:
    # Exceptions Python cannot raise (in __del__, in finalizers) would otherwise print plain text.
    exc = unraisable.exc_value
    get_logger("app").error(
        "unraisable exception",
        context=repr(unraisable.object),
        message=unraisable.err_msg,
        exc_info=(unraisable.exc_type, exc, unraisable.exc_traceback),
    )


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    get_logger("app").critical(
        "uncaught exception",
        thread=None if args.thread is None else args.thread.name,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
