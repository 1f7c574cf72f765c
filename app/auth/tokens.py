"""Access tokens: JWTs verified with PyJWT against the issuer's keys, read into what the service needs."""

from __future__ import annotations

import hashlib
import time
from typing import NamedTuple

import jwt
from cachetools import TLRUCache

from app.auth.access import AccessToken
from app.auth.errors import InvalidToken
from app.auth.keys import ACCEPTED_ALGORITHMS, IssuerKeys
from app.settings import AuthSettings

# What an access token's header may say it is (RFC 9068, section 2.1: at+jwt; many providers send JWT or nothing),
# compared without case as RFC 7515 asks; anything else is a token of another kind signed by the same keys.
ACCESS_TOKEN_TYPES = frozenset({"jwt", "at+jwt", "application/at+jwt"})
# Clocks of the provider and of the replicas drift apart a little.
CLOCK_LEEWAY_S = 30
# Far above what providers issue (a few kB with group claims), far below what the header limit admits.
MAX_TOKEN_LENGTH = 8192
# Of the claims RFC 9068 (section 2.2) requires, those that decide whether a token is valid here. `sub` and
# `client_id` are each left optional, since providers leave one or the other out, but not both: they tell callers
# apart (whose Idempotency-Keys are whose). `jti` is left out: nothing here depends on it.
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud"]
# Clients send the same token with every request for its whole life: one verification serves them all.
# Only tokens that passed every check enter, under the SHA-256 digest of their text (no credential kept in
# memory), until they expire; a new key set makes each one verified again. At most about 1 MiB.
VERIFIED_TOKENS_CACHED = 4096

# What the client is told for each of PyJWT's refusals: sentences of our own, never the library's
# message, which may quote parts of the token or the key.
REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "The token has expired."),
    (jwt.ImmatureSignatureError, "The token is not valid yet (nbf or iat lies in the future)."),
    (jwt.InvalidAudienceError, "The token is meant for another audience (aud)."),
    (jwt.InvalidIssuerError, "The token comes from another issuer (iss)."),
    (jwt.InvalidSignatureError, "The token's signature does not verify."),
    (jwt.InvalidAlgorithmError, "The token's algorithm is not accepted."),
    (jwt.InvalidKeyError, "The token's signing key is too weak to be trusted."),
)


class VerifiedToken(NamedTuple):
    access: AccessToken
    valid_until: int  # seconds since the epoch: `exp` with the clock leeway, as PyJWT judges it
    key_set: int  # the generation of the key set that verified it


class TokenVerifier:
    def __init__(self, settings: AuthSettings, keys: IssuerKeys) -> None:
        self._settings = settings
        self.keys = keys
        self._verified: TLRUCache[bytes, VerifiedToken] = TLRUCache(
            VERIFIED_TOKENS_CACHED, ttu=lambda _digest, verified, _now: verified.valid_until, timer=time.time
        )

    async def verify(self, token: str) -> AccessToken:
        """The verified token, or `InvalidToken` saying what is wrong (`KeysUnavailable` if nothing can tell)."""
        digest = hashlib.sha256(token.encode()).digest()
        verified = self._verified.get(digest)
        if verified is not None and verified.key_set == self.keys.keep_fresh():
            return verified.access
        access, expires_at = await self._verify(token)
        self._verified[digest] = VerifiedToken(access, expires_at + CLOCK_LEEWAY_S, self.keys.generation)
        return access

    async def _verify(self, token: str) -> tuple[AccessToken, int]:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken(f"The token is longer than {MAX_TOKEN_LENGTH} characters.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("The token is not a well-formed JWT.") from None
        # PyJWT has checked that a `kid` is a string. Refused before any key is looked up: "none", HMAC,
        # anything but an asymmetric signature.
        algorithm, kid, kind = header.get("alg"), header.get("kid"), header.get("typ", "JWT")
        if not isinstance(algorithm, str) or algorithm not in ACCEPTED_ALGORITHMS:
            raise InvalidToken("The token's algorithm is not accepted.")
        if not isinstance(kind, str) or kind.lower() not in ACCESS_TOKEN_TYPES:
            raise InvalidToken("The token is not an access token (its typ names another kind).")
        key = await self.keys.key(kid, algorithm)
        try:
            claims = jwt.decode(
                token,
                key=key,  # bound to one algorithm: PyJWT refuses a token whose header names another
                algorithms=[key.algorithm_name],
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                leeway=CLOCK_LEEWAY_S,
                options={"require": REQUIRED_CLAIMS, "enforce_minimum_key_length": True},
            )
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"The token has no {error.claim} claim.") from None
        except jwt.PyJWTError as error:
            reason = next((text for kind, text in REASONS if isinstance(error, kind)), "The token is malformed.")
            raise InvalidToken(reason) from None
        expires, issued = claims["exp"], claims["iat"]
        # PyJWT accepts any value int() takes ("1999999999" too): only numbers are times here.
        if not all(isinstance(moment, int | float) and not isinstance(moment, bool) for moment in (expires, issued)):
            raise InvalidToken("The token's exp and iat are not both numbers.")
        if expires - issued > self._settings.max_token_lifetime:
            raise InvalidToken(
                f"The token is valid for longer than {self._settings.max_token_lifetime:g} s (iat to exp), more than "
                "this service accepts."
            )
        tenant_claim = self._settings.tenant_claim
        access = AccessToken(
            scopes=scopes_of(claims),
            client_id=client_of(claims),
            subject=_text(claims.get("sub")),
            tenant=None if tenant_claim is None else _text(claims.get(tenant_claim)),
        )
        if access.client_id is None and access.subject is None:
            raise InvalidToken("The token names neither a subject (sub) nor a client (azp or client_id).")
        # An int: any size compares with the clock, where a float could overflow.
        return access, int(expires)


def scopes_of(claims: dict[str, object]) -> frozenset[str]:
    """`scope` as RFC 9068 sends it (space-separated), or `scp` as some providers do (a list, or a string)."""
    granted = claims.get("scope", claims.get("scp", ""))
    if isinstance(granted, str):
        return frozenset(granted.split())
    if isinstance(granted, list) and all(isinstance(scope, str) for scope in granted):  # pyright: ignore[reportUnknownVariableType]
        return frozenset(granted)  # pyright: ignore[reportUnknownArgumentType]
    raise InvalidToken("The token's scope is neither a space-separated string nor a list of strings.")


def client_of(claims: dict[str, object]) -> str | None:
    # `azp` (OpenID Connect, Keycloak, Auth0) or `client_id` (RFC 9068, Okta).
    return _text(claims.get("azp")) or _text(claims.get("client_id"))


def _text(value: object) -> str | None:
    """A claim's text; an empty one names nothing."""
    return value if isinstance(value, str) and value else None
