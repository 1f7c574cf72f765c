"""Correct `Allow` headers on OPTIONS answers.

Litestar 2 creates a path's automatic OPTIONS handler when the first handler of that path is
registered, and that handler keeps listing only the first handler's methods: OPTIONS on
/api/v1/items said `OPTIONS, POST` although GET works too (Litestar issue #4169,
https://github.com/litestar-org/litestar/issues/4169, fixed in Litestar 3.0: drop this module and its one call in
app/http/observe.py with the move to 3). The final routes know every method, so the outer request layer rewrites
the header from them. tests/http/test_problems.py fails once Litestar itself answers right.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.types import HTTPScope

Headers = Iterable[tuple[bytes, bytes]]


class OptionsAllow:
    """Every route's methods, for the `Allow` header of its OPTIONS answers."""

    def __init__(self, app: Litestar) -> None:
        # Keyed by template, as Litestar leaves it in scope["path_template"] once a route matched.
        self._allow = {
            route.path_format: ", ".join(sorted(route.methods)).encode()
            for route in app.routes
            if isinstance(route, HTTPRoute)
        }

    def corrected(self, scope: HTTPScope, headers: Headers) -> Headers:
        """The headers of a response to `scope`: those given, with the route's own `Allow` where it answers OPTIONS."""
        if scope["method"] != "OPTIONS":
            return headers
        template: Any = scope.get("path_template")  # pyright: ignore[reportUnknownMemberType]
        allow = self._allow.get(template)
        if allow is None:
            return headers
        return [*((name, value) for name, value in headers if name.lower() != b"allow"), (b"allow", allow)]
