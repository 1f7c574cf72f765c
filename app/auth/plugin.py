"""Access by bearer token, installed on the app where AUTH_ISSUER is set (app.asgi): one plugin holds all of it.

- The token verifier's life: its issuer's keys are fetched when the app starts, its client closed when it stops.
- Litestar's authentication middleware, which verifies the token of every operation but the open ones.
- The guard of every operation, which the token must grant the scope of (app.auth.guards).
- The API document: the bearer scheme, and on each operation that declares a scope, its security requirement and
  the refusals it may now answer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.exceptions import ImproperlyConfiguredException
from litestar.middleware import DefineMiddleware
from litestar.plugins import InitPluginProtocol, ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

from app.auth.access import ACCESS_ERRORS, BEARER_SCHEME, BEARER_SCHEME_NAME, REQUIRED_SCOPE, AccessToken
from app.auth.guards import scope_granted
from app.auth.middleware import BearerTokenAuthentication
from app.http.problems import problem_responses
from app.settings import AuthSettings

if TYPE_CHECKING:
    from app.auth.tokens import TokenVerifier


class BearerTokenAccess(InitPluginProtocol, ReceiveRoutePlugin):
    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self.verifier: TokenVerifier  # made when the app starts, before it serves a request

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        # First: what the verifier loads (PyJWT, cryptography, httpx) is then frozen with the rest at start-up.
        app_config.lifespan.insert(0, self.verifier_running)  # pyright: ignore[reportUnknownMemberType] - Litestar leaves its type open
        app_config.middleware.append(DefineMiddleware(BearerTokenAuthentication, verifier=self))
        app_config.guards.append(scope_granted)  # pyright: ignore[reportUnknownMemberType] - as above
        components = app_config.openapi_config.components if app_config.openapi_config else []
        for component in components if isinstance(components, list) else [components]:
            component.security_schemes = {**(component.security_schemes or {}), BEARER_SCHEME_NAME: BEARER_SCHEME}
        return app_config

    def receive_route(self, route: BaseRoute) -> None:
        for handler in route.route_handlers if isinstance(route, HTTPRoute) else []:
            granting: tuple[str, ...] | None = handler.opt.get(REQUIRED_SCOPE)
            if granting is not None and handler.opt.get("exclude_from_auth"):
                # Opened by its controller or router, it would be served without a token while documented with one.
                raise ImproperlyConfiguredException(f"{handler} requires a scope and is open (OPEN): choose one")
            if granting is not None:  # OpenAPI's alternatives: any one of them will do
                handler.security = [{BEARER_SCHEME_NAME: [scope]} for scope in granting]
                handler.responses = {**problem_responses(*ACCESS_ERRORS), **(handler.responses or {})}

    @asynccontextmanager
    async def verifier_running(self, _app: Litestar) -> AsyncGenerator[None]:
        # Imported only here: PyJWT, cryptography and httpx take about 12 MiB that an open service never needs.
        from app.auth.keys import IssuerKeys  # noqa: PLC0415
        from app.auth.tokens import TokenVerifier  # noqa: PLC0415

        # Made here, on the loop that serves requests: its httpx client belongs to the loop it was made on.
        keys = IssuerKeys(self.settings)
        # Fetched before the first request, which then need not wait. A provider that is down delays start-up
        # by FETCH_TIMEOUT_S at most; protected operations then answer 503 until it is back.
        await keys.refresh()
        self.verifier = TokenVerifier(self.settings, keys)
        try:
            yield
        finally:
            await keys.close()

    async def verify(self, token: str) -> AccessToken:
        """What the middleware calls (a `Verifier`): the verifier of this start of the app."""
        return await self.verifier.verify(token)
