"""Why a request was refused access: RFC 6750 bearer-token challenges, sent as problem documents."""

from __future__ import annotations

from http import HTTPStatus

from app import SERVICE_NAME
from app.http.errors import ServiceError

REALM = SERVICE_NAME


class AccessRefused(ServiceError):
    """A refusal that tells the client, in `WWW-Authenticate`, how to authenticate (RFC 6750, section 3)."""

    status = HTTPStatus.UNAUTHORIZED
    challenge_error: str | None = None  # RFC 6750's error code; None when the request carried no token at all

    def headers(self) -> dict[str, str]:
        parameters = [f'realm="{REALM}"']
        if self.challenge_error is not None:
            # The details are our own fixed sentences: never the token, never a quote that would end the value.
            parameters += [f'error="{self.challenge_error}"', f'error_description="{self.detail}"']
        return {**super().headers(), "WWW-Authenticate": "Bearer " + ", ".join(parameters)}


class AuthenticationRequired(AccessRefused):
    slug = "authentication-required"

    def __init__(self) -> None:
        super().__init__("This operation needs an access token: send it as 'Authorization: Bearer <token>'.")


class InvalidToken(AccessRefused):
    slug = "invalid-token"
    challenge_error = "invalid_token"


class InsufficientScope(AccessRefused):
    status = HTTPStatus.FORBIDDEN
    slug = "insufficient-scope"
    challenge_error = "insufficient_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"The access token does not grant the scope {scope}.")
        self.scope = scope

    def headers(self) -> dict[str, str]:
        challenge = super().headers()["WWW-Authenticate"]
        return {"WWW-Authenticate": f'{challenge}, scope="{self.scope}"'}


class KeysUnavailable(ServiceError):
    """No key can verify the token right now: the identity provider's key set could not be fetched."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    slug = "identity-provider-unavailable"

    def __init__(self, retry_after: int) -> None:
        super().__init__("The identity provider's signing keys cannot be fetched; try again shortly.")
        self.retry_after = retry_after


class KeySetError(Exception):
    """Fetching or reading the key set (or the discovery document) failed; the message says why, for the log."""


class UndeclaredScope(ServiceError):
    """An operation that declares neither a scope nor that it is open: a bug of the service, refused all the same."""

    status = HTTPStatus.FORBIDDEN
    slug = "insufficient-scope"

    def __init__(self) -> None:
        super().__init__("This operation declares no scope that could grant access to it.")
