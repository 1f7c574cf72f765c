"""Who may call what: each operation names the scope it needs, checked by a middleware of that operation.

`get(..., **access.requires(ITEMS_READ))` gives an operation the check and its security requirement in the API
document. Without an issuer configured (`AUTH_ISSUER` unset) it gives nothing: the operation is open, as the
old demo's were, and documented without a requirement. The check wraps the operation, so it runs before
Litestar reads the body or the parameters: a request without a valid token learns nothing about its input.

A middleware of the operation rather than a guard: Litestar copies the route handler for every guard it calls
and builds its header map for each request, which cost more than the check itself when the token was verified
before (tests/bench/README.md). The check reads the raw ASGI headers instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol, TypedDict

import msgspec
from litestar import Litestar
from litestar.openapi.spec import SecurityRequirement, SecurityScheme
from litestar.types import ASGIApp, Receive, Scope, Send

from app.auth.errors import AuthenticationRequired, InsufficientScope, InvalidToken

ITEMS_READ = "items:read"
ITEMS_WRITE = "items:write"
CALCULATE = "calculate"

# The answers of an operation whose token is missing, invalid or short of the scope, or cannot be checked while
# the identity provider's keys cannot be fetched.
ACCESS_ERRORS = (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN, HTTPStatus.SERVICE_UNAVAILABLE)

BEARER_SCHEME_NAME = "bearerAuth"
BEARER_SCHEME = SecurityScheme(
    type="http",
    scheme="bearer",
    bearer_format="JWT",
    description=(
        "An access token from the identity provider that AUTH_ISSUER names, sent as `Authorization: Bearer "
        "<token>`; each operation lists the scope it needs."
    ),
)


Middleware = Callable[[ASGIApp], ASGIApp]


class AccessToken(msgspec.Struct, frozen=True):
    """What the service keeps of a verified token: which client called for whom, and what it may do."""

    scopes: frozenset[str]
    client_id: str | None = None
    subject: str | None = None  # `sub`: the user, or for a client acting on its own behalf the client


class Verifier(Protocol):
    """What checks a token (app.auth.tokens.TokenVerifier): named here by what it does, not imported, since verifying
    brings PyJWT, cryptography and httpx (about 12 MiB), which a service without an issuer never loads
    (app/auth/lifespan.py imports them when it does)."""

    async def verify(self, token: str) -> AccessToken: ...


class Access(TypedDict):
    """What an operation declares about access, spread into its route decorator: the check, and the requirement
    in the API document."""

    middleware: list[Middleware]
    security: list[SecurityRequirement]


@dataclass(frozen=True, slots=True)
class AccessRules:
    """Whether this service checks tokens: the app factory decides from the settings, the routes ask."""

    tokens_checked: bool

    def requires(self, scope: str) -> Access:
        """The declaration of an operation that needs `scope`: nothing at all where tokens are not checked."""
        if not self.tokens_checked:
            return {"middleware": [], "security": []}
        return {"middleware": [has_scope(scope)], "security": [{BEARER_SCHEME_NAME: [scope]}]}

    @property
    def refusals(self) -> tuple[HTTPStatus, ...]:
        """What a protected operation may answer besides its own errors: nothing where tokens are not checked."""
        return ACCESS_ERRORS if self.tokens_checked else ()


def has_scope(required: str) -> Middleware:
    """A check that lets a request through when its bearer token is valid and grants `required`."""

    def around(app: ASGIApp) -> ASGIApp:  # Litestar passes the operation as `app=`
        async def checked(scope: Scope, receive: Receive, send: Send) -> None:
            verifier: Verifier = Litestar.from_scope(scope).state.token_verifier
            token = await verifier.verify(bearer_token(authorization_of(scope)))
            # Litestar's place for what authentication found (request.auth); the access line reads the client there.
            scope["auth"] = token
            if required not in token.scopes:
                raise InsufficientScope(required)
            await app(scope, receive, send)

        return checked

    return around


def authorization_of(scope: Scope) -> str | None:
    """The request's Authorization header (ASGI servers lower-case header names)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    return None


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header (RFC 6750, section 2.1: the only place read)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        # No credentials, or another scheme's: the challenge names none of RFC 6750's errors (section 3.1).
        raise AuthenticationRequired
    if not token.strip():
        raise InvalidToken("The Authorization header holds no token after 'Bearer'.")
    return token.strip()


def caller_of(scope: Any) -> AccessToken | None:
    """The verified token of a request, once its operation's check has run."""
    token = scope.get("auth")
    return token if isinstance(token, AccessToken) else None
