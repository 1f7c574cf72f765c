"""Structured logging: one JSON object per line on stdout, for the service and for uvicorn alike.

The service's own records take structlog's fast path (a level-filtering bound logger, cached on
first use, rendering straight to bytes with msgspec, written and flushed line by line). Records of
standard-library loggers (uvicorn, asyncio, warnings) go through the same processors by way of
`ProcessorFormatter`, so every line has the same keys whichever library wrote it.

An access line is written for every request, so each processor here is chosen for its cost too:
the request id comes from one context variable rather than structlog's general contextvars merge,
and the timestamp formats only the microseconds anew within each second. In JSON format the access
line itself skips structlog's generic pipeline (`write_access_line`): the same keys in the same
order, at a third of the cost. Access lines are flushed once per turn of the event loop rather than
once each: under load a turn finishes many requests, and every write is a system call that also
hands the GIL to the SQLite writer thread. A line waits at most for the end of the turn, and any
other record of the service flushes the lines before it, so they keep their order.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
import threading
import time
from contextvars import ContextVar
from types import TracebackType
from typing import Any, BinaryIO

import msgspec
import structlog
from structlog.typing import EventDict, Processor

from app.settings import LogFormat, LogLevel

_encoder = msgspec.json.Encoder(enc_hook=str)

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The id of the request being handled; every record written while it is set carries it."""


def add_request_id(_logger: Any, _method: str, event: EventDict) -> EventDict:
    current = request_id.get()
    if current is not None:
        event["request_id"] = current
    return event


class _UTCClock:
    """RFC 3339 UTC timestamps with microseconds, as structlog's TimeStamper(fmt="iso", utc=True) makes."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def now(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((now - second) * 1_000_000):06d}Z"


_clock = _UTCClock()


def add_timestamp(_logger: Any, _method: str, event: EventDict) -> EventDict:
    event["timestamp"] = _clock.now()
    return event


_access_logger = structlog.get_logger("app.access")
_access_stdout: BinaryIO | None = None  # set for JSON at INFO or below: then the fast path writes the line
# The event loop whose next turn flushes the access lines written so far, if a flush is due.
_access_flush_loop: asyncio.AbstractEventLoop | None = None


class AccessLine(msgspec.Struct, frozen=True):
    """What the access line of one request says, besides the keys every record has."""

    method: str
    path: str
    route: str | None
    status: int
    duration_ms: float
    client: str | None
    user_agent: str | None


class _AccessRecord(msgspec.Struct):
    # The keys of an access line as structlog's pipeline would order them; a struct encodes faster than a dict.
    event: str
    method: str
    path: str
    route: str | None
    status: int
    duration_ms: float
    client: str | None
    user_agent: str | None
    request_id: str | None
    level: str
    logger: str
    timestamp: str


def write_access_line(line: AccessLine) -> None:
    """Write the one access line of a request (logger `app.access`, level info, event `request`)."""
    stdout = _access_stdout
    if stdout is None:
        _access_logger.info("request", **msgspec.structs.asdict(line))
        return
    record = _AccessRecord(
        "request",
        line.method,
        line.path,
        line.route,
        line.status,
        line.duration_ms,
        line.client,
        line.user_agent,
        request_id.get(),
        "info",
        "app.access",
        _clock.now(),
    )
    stdout.write(_encoder.encode(record) + b"\n")
    global _access_flush_loop  # noqa: PLW0603 - one stdout, one pending flush
    loop = asyncio.get_running_loop()
    # Compared by identity, not just set or unset: a loop closed before its turn came never flushed.
    if _access_flush_loop is not loop:
        _access_flush_loop = loop
        loop.call_soon(_flush_access_lines, stdout)


def _flush_access_lines(stdout: BinaryIO) -> None:
    global _access_flush_loop  # noqa: PLW0603
    _access_flush_loop = None
    stdout.flush()


def _json_bytes(event: Any, **_: Any) -> bytes:
    # JSONRenderer passes json.dumps keywords (`default=`) that msgspec does not take.
    return _encoder.encode(event)


def _json_text(event: Any, **_: Any) -> str:
    return _encoder.encode(event).decode()


def _to_bytes(_logger: Any, _method: str, line: Any) -> Any:
    # The console renderer hands on a string where processors usually pass a dict.
    return str(line).encode()


def get_logger(name: str) -> Any:
    """A logger whose records carry `logger=name`. Safe to call at import time."""
    return structlog.get_logger(name)


def configure_logging(level: LogLevel, log_format: LogFormat) -> None:
    """Route every log record of the process to stdout in `log_format`, dropping those below `level`."""
    shared: list[Processor] = [
        add_request_id,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        add_timestamp,
    ]
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

    stdout = _stdout_writer()
    level_number = logging.getLevelNamesMapping()[level]
    structlog.configure(
        processors=[*shared, *own_tail],
        wrapper_class=structlog.make_filtering_bound_logger(level_number),
        # The one factory whose loggers carry the name given to get_logger, for add_logger_name.
        logger_factory=structlog.BytesLoggerFactory(stdout),
        cache_logger_on_first_use=True,
    )
    global _access_stdout  # noqa: PLW0603 - logging is process-wide configuration by nature
    _access_stdout = stdout if log_format == "json" and level_number <= logging.INFO else None

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
    logging.captureWarnings(capture=True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    sys.unraisablehook = _log_unraisable


def _stdout_writer() -> BinaryIO:
    """Standard output as bytes, through a buffer that only flushes when told to (or when full)."""
    writer = open(sys.stdout.fileno(), "wb", buffering=64 * 1024, closefd=False)  # noqa: SIM115 - lives as long as the process
    atexit.register(writer.flush)  # lines of a last loop turn that never came
    return writer


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
