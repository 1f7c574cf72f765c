"""Correct `Allow` headers on OPTIONS answers.

Litestar 2 creates a path's automatic OPTIONS handler when the first handler of that path is
registered, and that handler keeps listing only the first handler's methods: OPTIONS on
/api/v1/items said `OPTIONS, POST` although GET works too (Litestar issue #4169,
https://github.com/litestar-org/litestar/issues/4169, fixed in Litestar 3.0: drop this layer with the move to 3).
The final routes know every method, so this layer rewrites the header from them. It only looks at OPTIONS
requests. tests/http/test_problems.py fails once Litestar itself answers right.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send


class CorrectOptionsAllow:
    def __init__(self, app: Litestar) -> None:
        self.app: ASGIApp = app
        # Keyed by template, as Litestar leaves it in scope["path_template"] once a route matched.
        self._allow = {
            route.path_format: ", ".join(sorted(route.methods)).encode()
            for route in app.routes
            if isinstance(route, HTTPRoute)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            template: Any = scope.get("path_template")  # pyright: ignore[reportUnknownMemberType]
            allow = self._allow.get(template)
            if message["type"] == "http.response.start" and allow is not None:
                headers = [(name, value) for name, value in message.get("headers", ()) if name.lower() != b"allow"]
                message["headers"] = [*headers, (b"allow", allow)]
            await send(message)

        await self.app(scope, receive, send_with_allow)
