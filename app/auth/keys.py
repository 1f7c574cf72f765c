"""The identity provider's signing keys: a JSON Web Key Set, fetched off the request path and cached.

Keys are fetched at start-up, refreshed in the background once they are older than `jwks_max_age`,
and fetched at once when a token names a key the set does not hold: that is how a rotated-in key is
picked up without a restart. No two fetches start within `jwks_min_interval`, so tokens with forged
key ids cannot make the service hammer the provider. When a fetch fails, the keys already held keep
working, for `jwks_max_stale` at most since the last fetch that worked.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import ssl
import time
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx
import msgspec
from jwt import PyJWK, PyJWTError

from app.auth.errors import InvalidToken, KeySetError, KeysUnavailable
from app.observability.logs import get_logger
from app.settings import AuthSettings, SettingsError, parse_issuer_url, redact_url

RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
# Asymmetric algorithms only: with HMAC the verifying key is the signing key, and a public key taken for an
# HMAC secret lets anyone sign (key confusion); "none" signs nothing.
ACCEPTED_ALGORITHMS = frozenset({*RSA_ALGORITHMS, "ES256", "ES384", "ES512", "ES256K", "EdDSA"})
SIGNING_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
FETCH_TIMEOUT_S = 10.0
MAX_DOCUMENT_BYTES = 1024 * 1024

KeysById = dict[str | None, dict[str, PyJWK]]  # key id -> algorithm -> the key bound to that algorithm

logger = get_logger("app.auth")


class KeySet(msgspec.Struct):
    """A JSON Web Key Set (RFC 7517, section 5); each key is read by PyJWT."""

    keys: list[dict[str, Any]]


class DiscoveryDocument(msgspec.Struct):
    """The two fields of an OpenID Connect discovery document that the service needs."""

    issuer: str
    jwks_uri: str


def usable_keys(key_set: KeySet) -> KeysById:
    """The signing keys of a key set, each bound to every algorithm it may verify; others are left out."""
    keys: KeysById = {}
    for jwk in key_set.keys:
        if jwk.get("kty") not in SIGNING_KEY_TYPES or jwk.get("use", "sig") != "sig":
            continue
        by_algorithm = bound_keys(jwk)
        if by_algorithm:
            kid = jwk.get("kid")
            # Two entries under one id (an RSA key published once per algorithm, say) verify together.
            keys.setdefault(kid if isinstance(kid, str) else None, {}).update(by_algorithm)
    if not keys:
        raise KeySetError("the key set holds no usable signing key")
    return keys


def bound_keys(jwk: dict[str, Any]) -> dict[str, PyJWK]:
    # A key that names its algorithm is used with that one only. An RSA key that does not may verify any RSA
    # algorithm; an EC or OKP key's curve decides its one algorithm, as PyJWT chooses it.
    declared = jwk.get("alg")
    candidates: tuple[str | None, ...] = (
        (declared,) if isinstance(declared, str) else RSA_ALGORITHMS if jwk["kty"] == "RSA" else (None,)
    )
    bound: dict[str, PyJWK] = {}
    for algorithm in candidates:
        if algorithm is not None and algorithm not in ACCEPTED_ALGORITHMS:
            continue
        try:
            key = PyJWK(jwk, algorithm)
        except PyJWTError:
            continue
        bound[key.algorithm_name] = key
    return bound


@cache
def tls_context() -> ssl.SSLContext:
    """One per process: a new context loads the CA bundle again (35 ms of CPU), and every app built makes a key set
    (the tests build hundreds)."""
    return httpx.create_ssl_context()


class IssuerKeys:
    """The key set of one issuer, shared by every request of the process."""

    def __init__(self, settings: AuthSettings) -> None:
        self._settings = settings
        # Redirects are not followed: the key set is fetched from the URL configured or discovered, or not at all.
        self._client = httpx.AsyncClient(timeout=FETCH_TIMEOUT_S, follow_redirects=False, verify=tls_context())
        self._jwks_url = settings.jwks_url
        self._keys: KeysById | None = None
        self._fetched_at = -math.inf
        self._attempted_at = -math.inf
        self._last_attempt_failed = False
        self._fetch: asyncio.Task[None] | None = None
        # Counts the key sets fetched: a token verified with an earlier set is verified again, so that a key the
        # provider withdrew stops verifying as soon as the new set arrives.
        self.generation = 0

    async def refresh(self) -> None:
        """Fetch the key set now, or join the fetch under way; a failure is logged and the old keys stay."""
        # Shielded: a request that gives up waiting must not cancel the fetch other requests wait for.
        await asyncio.shield(self._fetch_in_background())

    def keep_fresh(self) -> int:
        """The generation of the key set in force. Once it is older than its maximum age, a new one is fetched in
        the background: the stale keys verify meanwhile, and no request waits for the provider. Once no fetch has
        worked for `jwks_max_stale`, they verify nothing: a new generation, so no token verified with them passes."""
        age = time.monotonic() - self._fetched_at
        if age >= self._settings.jwks_max_age and self._may_fetch():
            self._fetch_in_background()
        if self._keys is not None and age > self._settings.jwks_max_stale:
            # The provider may have withdrawn them meanwhile: no token is verified until a fetch works.
            self._keys = None
            self.generation += 1
            logger.warning(
                "identity provider keys dropped, unrefreshed too long", after_s=self._settings.jwks_max_stale
            )
        return self.generation

    async def key(self, kid: str | None, algorithm: str) -> PyJWK:
        """The key that verifies a token whose header names `kid` and `algorithm`."""
        self.keep_fresh()
        if self._find(kid) is None and self._may_fetch():
            await self.refresh()
        by_algorithm = self._find(kid)
        if by_algorithm is None:
            if self._keys is None or self._last_attempt_failed:
                raise KeysUnavailable(self._retry_after())
            raise InvalidToken("The token names a signing key (kid) that the identity provider does not publish.")
        key = by_algorithm.get(algorithm)
        if key is None:
            raise InvalidToken(f"The token's algorithm {algorithm} does not match its signing key.")
        return key

    async def close(self) -> None:
        """Stop a fetch under way, without waiting for the provider, then close the connections."""
        if self._fetch is not None:
            self._fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fetch
        await self._client.aclose()

    def _may_fetch(self) -> bool:
        # Joining the fetch under way costs the provider nothing.
        return self._fetch is not None or time.monotonic() - self._attempted_at >= self._settings.jwks_min_interval

    def _find(self, kid: str | None) -> dict[str, PyJWK] | None:
        if self._keys is None:
            return None
        if kid is None and len(self._keys) == 1:
            # A provider with a single key may leave key ids out of its tokens.
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    def _retry_after(self) -> int:
        waited = time.monotonic() - self._attempted_at
        return max(1, math.ceil(self._settings.jwks_min_interval - waited))

    def _fetch_in_background(self) -> asyncio.Task[None]:
        """The fetch under way, or a new one: never two at once."""
        if self._fetch is None:
            self._fetch = asyncio.create_task(self._fetch_keys())
            self._fetch.add_done_callback(self._fetch_done)
        return self._fetch

    def _fetch_done(self, _: asyncio.Task[None]) -> None:
        # Always the fetch under way: a new one starts only once this one is done, and done callbacks run
        # before anything that awaited it resumes.
        self._fetch = None

    async def _fetch_keys(self) -> None:
        self._attempted_at = time.monotonic()
        url = self._jwks_url or self._settings.discovery_url
        try:
            async with asyncio.timeout(FETCH_TIMEOUT_S):
                if self._jwks_url is None:
                    self._jwks_url = url = await self._discover()
                keys = usable_keys(msgspec.json.decode(await self._download(url), type=KeySet))
        # Every failure, expected or not: a fetch runs as a task of its own, where nothing above would see it.
        except Exception as error:
            self._last_attempt_failed = True
            # A discovered URL that failed is discovered again next time (no sooner than any fetch): the provider
            # may have fixed its discovery document, and only a restart would otherwise read it again.
            self._jwks_url = self._settings.jwks_url
            expected = isinstance(error, (KeySetError, httpx.HTTPError, OSError, msgspec.DecodeError))
            logger.warning(
                "identity provider keys not fetched",
                url=redact_url(url),
                reason=f"{type(error).__name__}: {error}" if str(error) else type(error).__name__,
                keeping_cached_keys=self._keys is not None,
                retry_in_s=self._settings.jwks_min_interval,
                # Anything else is a surprise worth its traceback (which holds no token: none is involved here).
                exc_info=None if expected else error,
            )
            return
        self._keys, self._fetched_at, self._last_attempt_failed = keys, time.monotonic(), False
        self.generation += 1
        logger.info("identity provider keys fetched", key_ids=sorted(str(kid) for kid in keys))

    async def _discover(self) -> str:
        url = self._settings.discovery_url
        document = msgspec.json.decode(await self._download(url), type=DiscoveryDocument)
        if document.issuer != self._settings.issuer:
            # OpenID Connect Discovery 1.0, section 4.3: a document for another issuer must not be used.
            raise KeySetError(
                f"the discovery document names the issuer {document.issuer!r}, not {self._settings.issuer!r}"
            )
        try:
            return parse_issuer_url("jwks_uri", document.jwks_uri)
        except SettingsError as error:
            raise KeySetError(f"its jwks_uri {redact_url(document.jwks_uri)} is not {error.allowed}") from None

    async def _download(self, url: str) -> bytes:
        if url.startswith("file:"):
            # The development key set of `just token` (never accepted in production, see app.settings).
            return await asyncio.to_thread(Path(url2pathname(urlsplit(url).path)).read_bytes)
        # Uncompressed only: the cap counts bytes as they arrive, and a few kilobytes of gzip can unpack to gigabytes.
        headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
        async with self._client.stream("GET", url, headers=headers) as response:
            if response.status_code != HTTPStatus.OK:
                raise KeySetError(f"answered {response.status_code}")
            encoding = response.headers.get("Content-Encoding", "identity")
            if encoding.lower() != "identity":
                raise KeySetError(f"sent a compressed document (Content-Encoding: {encoding}), which is refused")
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise KeySetError(f"sent more than {MAX_DOCUMENT_BYTES} bytes")
        return bytes(body)
