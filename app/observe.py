"""The outer ASGI layer: request ids, one access line per request, and request metrics.

It wraps the Litestar app rather than living inside it because Litestar's own middleware never
sees the 404 and 405 answers of its router: this layer sees every request.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from http import HTTPStatus
from time import perf_counter

import msgspec
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars, reset_contextvars

from app.logs import get_logger
from app.metrics import RequestMetrics
from app.problems import PROBLEM_MEDIA_TYPE, Problem, problem

REQUEST_ID_HEADER = b"x-request-id"
MAX_HEADER_BYTES = 32 * 1024
HEADERS_TOO_LARGE = problem(
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, f"The request's headers exceed {MAX_HEADER_BYTES // 1024} KiB."
)
VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")


def request_id_from(incoming: bytes | None) -> str:
    """The caller's request id when it is well-formed, else a new random one."""
    if incoming is not None and VALID_REQUEST_ID.fullmatch(incoming):
        return incoming.decode()
    # Unique, not secret: Python's generator, seeded by the OS and reseeded in forked children,
    # draws 128 bits without the system call of os.urandom, which also hands the GIL to other threads.
    return f"{random.getrandbits(128):032x}"


def read_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[bytes | None, bytes | None, int]:
    """The incoming request id and user agent, and how many bytes all headers take, in one pass."""
    incoming_id = user_agent = None
    total = 0
    for name, value in headers:
        total += len(name) + len(value)
        if name == REQUEST_ID_HEADER:
            incoming_id = value
        elif name == b"user-agent":
            user_agent = value
    return incoming_id, user_agent, total


async def send_problem(send: Send, document: Problem) -> None:
    """Answer with a problem document from outside Litestar, where its exception handlers cannot."""
    body = msgspec.json.encode(document)
    headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": document.status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


class RequestObserver:
    """Give every HTTP request an id, bind it to every log record, and record how the request went."""

    def __init__(self, app: ASGIApp, *, access_log: bool, metrics: RequestMetrics | None) -> None:
        self.app = app
        # A logger bound once, not the lazy proxy of get_logger: the access line is written on every request.
        self.access_logger = get_logger("app.access").bind() if access_log else None
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        incoming_id, user_agent, header_bytes = read_headers(scope["headers"])
        new_request_id = request_id_from(incoming_id)
        id_header = (REQUEST_ID_HEADER, new_request_id.encode())
        status = 500  # what the client gets if the app fails before it starts a response
        path = scope["path"]  # Litestar normalises scope["path"] in place; log what was asked for

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                # Handlers may answer with an HTTPStatus: servers take any int, logs should show a number.
                status = int(message["status"])
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        request_id_tokens = bind_contextvars(request_id=new_request_id)
        if self.metrics is not None:
            self.metrics.started()
        try:
            if header_bytes > MAX_HEADER_BYTES:
                # uvicorn's httptools parser sets no limit of its own: no app should see such a request.
                await send_problem(send_with_request_id, HEADERS_TOO_LARGE)
            else:
                await self.app(scope, receive, send_with_request_id)
        finally:
            seconds = perf_counter() - started
            # Litestar leaves the matched template ("/api/v1/items/{item_id}") here; 404s and 405s have none.
            route: str | None = scope.get("path_template")  # pyright: ignore[reportUnknownMemberType]
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
                    user_agent=None if user_agent is None else user_agent.decode("latin-1"),
                )
            reset_contextvars(**request_id_tokens)
