"""The guard of every operation where tokens are checked: the token must grant the scope the operation declares."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from app.auth.access import REQUIRED_SCOPE, AccessToken
from app.auth.errors import InsufficientScope, UndeclaredScope


async def scope_granted(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Let a request through when its token grants what its operation requires. An operation that was authenticated
    but declares no scope is refused: what is not explicitly opened is closed. (Async: Litestar runs a synchronous
    guard in a thread.)"""
    if "auth" not in connection.scope:  # an operation authentication skips: opened, or OPTIONS
        return
    token: AccessToken = connection.auth
    granting: tuple[str, ...] | None = handler.opt.get(REQUIRED_SCOPE)
    if granting is None:
        raise UndeclaredScope
    if token.scopes.isdisjoint(granting):
        raise InsufficientScope(granting[0])
