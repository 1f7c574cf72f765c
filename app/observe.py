"""The outer ASGI layer: request ids, one access line per request, and request metrics.

It wraps the Litestar app rather than living inside it because Litestar's own middleware never
sees the 404 and 405 answers of its router: this layer sees every request.
"""

from __future__ import annotations

import random
import re
from time import perf_counter

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import request_id, write_access_line
from app.metrics import RequestMetrics

REQUEST_ID_HEADER = b"x-request-id"
VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")


def request_id_from(incoming: bytes | None) -> str:
    """The caller's request id when it is well-formed, else a new random one."""
    if incoming is not None and VALID_REQUEST_ID.fullmatch(incoming):
        return incoming.decode()
    # Ids must be unique, not secret: the Mersenne Twister (seeded from os.urandom at start) costs a
    # tenth of a system call for random bytes on every request.
    return f"{random.getrandbits(128):032x}"


class RequestObserver:
    """Give every HTTP request an id, bind it to every log record, and record how the request went."""

    def __init__(self, app: ASGIApp, *, access_log: bool, metrics: RequestMetrics | None) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        incoming_id = user_agent = None
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                incoming_id = value
            elif name == b"user-agent":
                user_agent = value
        new_request_id = request_id_from(incoming_id)
        id_header = (REQUEST_ID_HEADER, new_request_id.encode())
        status = 500  # what the client gets if the app fails before it starts a response
        path = scope["path"]  # Litestar normalises scope["path"] in place; log what was asked for

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        request_id_token = request_id.set(new_request_id)
        if self.metrics is not None:
            self.metrics.started()
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            seconds = perf_counter() - started
            # Litestar leaves the matched template ("/api/v1/items/{item_id}") here; 404s and 405s have none.
            route: str | None = scope.get("path_template")  # pyright: ignore[reportUnknownMemberType]
            if self.metrics is not None:
                self.metrics.finished(scope["method"], route, status, seconds)
            if self.access_log:
                client = scope.get("client")  # pyright: ignore[reportUnknownMemberType] - optional in ASGI
                write_access_line(
                    {
                        "method": scope["method"],
                        "path": path,
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 3),
                        "client": None if client is None else client[0],
                        "user_agent": None if user_agent is None else user_agent.decode("latin-1"),
                    }
                )
            request_id.reset(request_id_token)
