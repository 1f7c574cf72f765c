"""The outer request layer: request ids, trace context and the server span, one access line per request, request
metrics, and the problem document for oversized headers.

It wraps the Litestar app rather than living inside it because Litestar's own middleware never sees the 404 and 405
answers of its router: this layer sees every request. One layer, not one per concern: each would scan the headers
and wrap `send` again on every request.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from http import HTTPStatus
from time import perf_counter
from typing import TYPE_CHECKING, NamedTuple

import msgspec
from litestar import Litestar
from litestar.types import HTTPResponseStartEvent, HTTPScope, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars, reset_contextvars

from app.auth.access import caller_of
from app.http.options import OptionsAllow
from app.http.problems import PROBLEM_MEDIA_TYPE, Problem, problem
from app.observability.logs import get_logger
from app.observability.metrics import RequestMetrics

if TYPE_CHECKING:
    from app.observability.tracing import ServerSpan, Tracing

REQUEST_ID_HEADER = b"x-request-id"
MAX_HEADER_BYTES = 32 * 1024
HEADERS_TOO_LARGE = problem(
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, f"The request's headers exceed {MAX_HEADER_BYTES // 1024} KiB."
)
VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")
READ_HEADERS = frozenset({REQUEST_ID_HEADER, b"traceparent", b"tracestate", b"user-agent"})


def request_id_from(incoming: bytes | None) -> str:
    """The caller's request id when it is well-formed, else a new random one."""
    if incoming is not None and VALID_REQUEST_ID.fullmatch(incoming):
        return incoming.decode()
    # Unique, not secret: Python's generator, seeded by the OS and reseeded in forked children,
    # draws 128 bits without the system call of os.urandom, which also hands the GIL to other threads.
    return f"{random.getrandbits(128):032x}"


class RequestHeaders(NamedTuple):
    request_id: bytes | None
    traceparent: bytes | None
    tracestate: bytes | None
    user_agent: bytes | None
    total_bytes: int


def read_headers(headers: Iterable[tuple[bytes, bytes]]) -> RequestHeaders:
    """The headers this layer reads, and how many bytes all headers take, in one pass."""
    request_id = traceparent = tracestate = user_agent = None
    total = 0
    for name, value in headers:
        total += len(name) + len(value)
        if name in READ_HEADERS:  # one look-up for each of the many headers read by no one here
            if name == b"user-agent":
                user_agent = value
            elif name == REQUEST_ID_HEADER:
                request_id = value
            elif name == b"traceparent":
                traceparent = value
            else:
                tracestate = value
    return RequestHeaders(request_id, traceparent, tracestate, user_agent, total)


async def send_problem(send: Send, document: Problem) -> None:
    """Answer with a problem document from outside Litestar, where its exception handlers cannot."""
    body = msgspec.json.encode(document)
    headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": document.status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


class RequestObserver:
    """Give every HTTP request an id, bind it (and a caller's trace id) to every log record of the request, trace
    it where tracing is on, and record how the request went."""

    def __init__(
        self, app: Litestar, *, access_log: bool, metrics: RequestMetrics | None, tracing: Tracing | None = None
    ) -> None:
        self.app = app
        self.options_allow = OptionsAllow(app)
        # Where tracing is on, the log records carry the ids of the request's own span instead of a caller's trace id.
        self.tracing = tracing
        # A logger bound once, not the lazy proxy of get_logger: the access line is written on every request.
        self.access_logger = get_logger("app.access").bind() if access_log else None
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = read_headers(scope["headers"])
        if self.tracing is None:  # no `with` at all: a no-op context manager would cost every request
            await self.observe(scope, receive, send, headers, None)
            return
        # Around all the rest: the server span covers everything the request logs, its access line included.
        with self.tracing.server_span(scope, headers.traceparent, headers.tracestate, headers.user_agent) as span:
            await self.observe(scope, receive, send, headers, span)

    async def observe(
        self, scope: HTTPScope, receive: Receive, send: Send, headers: RequestHeaders, span: ServerSpan | None
    ) -> None:
        """All of a request but starting its span: its id, its log context, the answer, metrics, the access line."""
        started = perf_counter()
        request_id = request_id_from(headers.request_id)
        trace_id = None
        if self.tracing is None and headers.traceparent is not None:
            # OpenTelemetry's API only once a caller sends a trace: off, a service need never import it.
            from app.observability.tracing import caller_trace_id  # noqa: PLC0415

            trace_id = caller_trace_id(headers.traceparent)
        id_header = (REQUEST_ID_HEADER, request_id.encode())
        status = 500  # what the client gets if the app fails before it starts a response
        path = scope["path"]  # Litestar normalises scope["path"] in place; log what was asked for

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                # Handlers may answer with an HTTPStatus: servers take any int, logs should show a number.
                status = int(message["status"])
                message["headers"] = [*self.options_allow.corrected(scope, message.get("headers", ())), id_header]
            await send(message)

        # Log aggregators join the lines of one request across the load balancer and the replicas by these.
        context_tokens = (
            bind_contextvars(request_id=request_id)
            if trace_id is None
            else bind_contextvars(request_id=request_id, trace_id=trace_id)
        )
        if self.metrics is not None:
            self.metrics.started()
        try:
            if headers.total_bytes > MAX_HEADER_BYTES:
                # uvicorn's httptools parser sets no limit of its own: no app should see such a request.
                await send_problem(send_observed, HEADERS_TOO_LARGE)
            else:
                await self.app(scope, receive, send_observed)
        finally:
            seconds = perf_counter() - started
            # Litestar leaves the matched template ("/api/v1/items/{item_id}") here; 404s and 405s have none.
            route: str | None = scope.get("path_template")  # pyright: ignore[reportUnknownMemberType]
            caller = caller_of(scope)
            tenant = None if caller is None else caller.tenant
            if span is not None:
                span.responded(route, status, tenant)
            if self.metrics is not None:
                self.metrics.finished(scope["method"], route, status, seconds)
            if self.access_logger is not None:
                client = scope.get("client")  # pyright: ignore[reportUnknownMemberType] - optional in ASGI
                self.access_logger.info(
                    "request",
                    method=scope["method"],
                    path=path,
                    route=route,
                    status=status,
                    duration_ms=round(seconds * 1000, 3),
                    client=None if client is None else client[0],
                    client_id=None if caller is None else caller.client_id,
                    tenant=tenant,
                    user_agent=None if headers.user_agent is None else headers.user_agent.decode("latin-1"),
                )
            reset_contextvars(**context_tokens)
