"""Authentication: the bearer token of a request verified, and what it grants kept as `request.auth`."""

from __future__ import annotations

from typing import Any, Protocol

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from app.auth.access import AccessToken
from app.auth.errors import AuthenticationRequired, InvalidToken
from app.http.errors import RepeatedHeader


class Verifier(Protocol):
    """What checks a token (app.auth.tokens.TokenVerifier): named here by what it does, not imported, since verifying
    brings PyJWT, cryptography and httpx (about 12 MiB), which a service without an issuer never loads."""

    async def verify(self, token: str) -> AccessToken: ...


class BearerTokenAuthentication(AbstractAuthenticationMiddleware):
    """Every request to an operation not opened (`opt=OPEN`) needs a valid bearer token; OPTIONS never does. It runs
    before Litestar reads the body or the parameters: a request without a valid token learns nothing of its input."""

    __slots__ = ("verifier",)

    def __init__(self, app: ASGIApp, verifier: Verifier, **options: Any) -> None:
        super().__init__(app, **options)
        self.verifier = verifier

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        token = await self.verifier.verify(bearer_token(authorization_of(connection)))
        return AuthenticationResult(user=token.subject, auth=token)


def authorization_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The request's one Authorization header, read from the raw pairs (ASGI servers lower-case header names): cheaper
    than the header map Litestar would build for it; `RepeatedHeader` for two."""
    values = [value for name, value in connection.scope["headers"] if name == b"authorization"]
    if len(values) > 1:
        raise RepeatedHeader("Authorization")
    return values[0].decode("latin-1") if values else None


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header (RFC 6750, section 2.1: the only place read)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        # No credentials, or another scheme's: the challenge names none of RFC 6750's errors (section 3.1).
        raise AuthenticationRequired
    if not token.strip():
        raise InvalidToken("The Authorization header holds no token after 'Bearer'.")
    return token.strip()
