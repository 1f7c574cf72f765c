"""Who may call what: what a verified token grants, and how an operation declares the scope it needs (each feature
names its own scopes, beside its controller).

An operation declares its scope in its route handler's `opt` (`opt=requires("items:read")`), an open one says so
(`opt=OPEN`). Whether anything is checked is the app's to decide from the settings: where tokens are checked,
app.auth.plugin installs the authentication middleware, the guard that reads these declarations, and what the API
document says of them; where they are not, nothing of it is installed and every operation is open, as the old demo's
were.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Final

import msgspec
from litestar.openapi.spec import SecurityScheme

# The handler `opt` keys: the scope an operation needs, and Litestar's own key for what authentication skips.
REQUIRED_SCOPE: Final = "required_scope"
OPEN: Final = {"exclude_from_auth": True}

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


def requires(scope: str, *also_granted_by: str) -> dict[str, tuple[str, ...]]:
    """The `opt` of an operation that needs `scope` where tokens are checked, or one of `also_granted_by` (a scope
    that implies it); a refusal names `scope`."""
    return {REQUIRED_SCOPE: (scope, *also_granted_by)}


class AccessToken(msgspec.Struct, frozen=True):
    """What the service keeps of a verified token: which client called for whom, and what it may do."""

    scopes: frozenset[str]
    client_id: str | None = None
    subject: str | None = None  # `sub`: the user, or for a client acting on its own behalf the client
    # The AUTH_TENANT_CLAIM's value, exactly as sent; None where tenancy is off, or the claim is no non-empty string.
    tenant: str | None = None


def caller_of(scope: Any) -> AccessToken | None:
    """The verified token of a request (Litestar's `request.auth`), once authentication has run; None where tokens
    are not checked."""
    token = scope.get("auth")
    return token if isinstance(token, AccessToken) else None
