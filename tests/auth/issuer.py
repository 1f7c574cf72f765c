"""A real identity provider for the tests: OpenID Connect discovery and a JWK Set served over HTTP on loopback (or
HTTPS anywhere), with keys generated per run, tokens minted with them through PyJWT, and a token endpoint that grants
them to clients by their credentials (RFC 6749 section 4.4), as a deployment's smoke test asks for one."""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import secrets
import ssl
import threading
import time
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from tests.service import free_port

AUDIENCE = "items-service"
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    private: PrivateKey
    # The JWK as published; an RSA key published without `alg` may sign with any RSA algorithm.
    publish_algorithm: bool = True

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            data = RSAAlgorithm.to_jwk(public, as_dict=True)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            data = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            data = OKPAlgorithm.to_jwk(public, as_dict=True)
        data |= {"kid": self.kid, "use": "sig"}
        if self.publish_algorithm:
            data["alg"] = self.algorithm
        return data


def rsa_key(kid: str, *, bits: int = 2048, publish_algorithm: bool = False) -> SigningKey:
    return SigningKey(kid, "RS256", rsa.generate_private_key(65537, bits), publish_algorithm)


def ec_key(kid: str) -> SigningKey:
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


def ed25519_key(kid: str) -> SigningKey:
    return SigningKey(kid, "EdDSA", ed25519.Ed25519PrivateKey.generate())


@dataclass
class Issuer:
    """Serves /.well-known/openid-configuration and /jwks.json, and grants tokens at /token to `clients`."""

    keys: list[SigningKey]
    port: int = field(default_factory=free_port)  # 0: any free port, known once started
    bind: str = "127.0.0.1"
    name: str = "127.0.0.1"  # the host in its URL, and so in the tokens' `iss`
    tls: ssl.SSLContext | None = None  # serves HTTPS with it, else plain HTTP
    clients: dict[str, str] = field(default_factory=dict[str, str])  # client id: its secret
    # Extra members of the published key set, as a provider might publish them (symmetric keys, encryption keys).
    extra_jwks: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    jwks_fetches: int = 0
    discovery_issuer: str | None = None  # what discovery says the issuer is; None: the truth
    jwks_body: bytes | None = None  # replaces the key set's body when set
    jwks_path: str = "/jwks.json"  # where discovery says the key set is (it is served at /jwks.json only)
    gzip_key_set: bool = False  # serve the key set compressed (Content-Encoding: gzip), whatever was asked
    delay_s: float = 0.0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"{'http' if self.tls is None else 'https'}://{self.name}:{self.port}"

    def environ(self, **extra: str) -> dict[str, str]:
        """The settings of a service that trusts this issuer; keys may be refetched every second (the least)."""
        return {"AUTH_ISSUER": self.url, "AUTH_AUDIENCE": AUDIENCE, "AUTH_JWKS_MIN_INTERVAL": "1", **extra}

    def key_set(self) -> bytes:
        if self.jwks_body is not None:
            return self.jwks_body
        return json.dumps({"keys": [key.jwk() for key in self.keys] + self.extra_jwks}).encode()

    def discovery(self) -> bytes:
        issuer = self.url if self.discovery_issuer is None else self.discovery_issuer
        endpoints = {"jwks_uri": f"{self.url}{self.jwks_path}", "token_endpoint": f"{self.url}/token"}
        return json.dumps({"issuer": issuer, **endpoints}).encode()

    def grant(self, authorization: str, form: str) -> tuple[int, dict[str, Any]]:
        """A client credentials grant, its client authenticated by HTTP Basic (client_secret_basic)."""
        fields = {name: values[0] for name, values in parse_qs(form).items()}
        scheme, _, credentials = authorization.partition(" ")
        try:
            client, _, secret = map(unquote, base64.b64decode(credentials, validate=True).decode().partition(":"))
        except (binascii.Error, UnicodeDecodeError):
            client, secret = "", ""
        expected = self.clients.get(client)
        if scheme.lower() != "basic" or expected is None or not secrets.compare_digest(expected, secret):
            return 401, {"error": "invalid_client"}
        if fields.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        token = self.token(*fields.get("scope", "").split(), claims={"sub": client, "azp": client})
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 300}

    def start(self) -> None:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(issuer.delay_s)
                path, encoding = urlsplit(self.path).path, None  # a query (an API key, say) is ignored
                if path == "/.well-known/openid-configuration":
                    body = issuer.discovery()
                elif path == "/jwks.json":
                    issuer.jwks_fetches += 1
                    body = issuer.key_set()
                    if issuer.gzip_key_set:
                        body, encoding = gzip.compress(body), "gzip"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                if encoding is not None:
                    self.send_header("Content-Encoding", encoding)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                if urlsplit(self.path).path != "/token":
                    self.send_error(404)
                    return
                form = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode(errors="replace")
                status, answer = issuer.grant(self.headers.get("Authorization", ""), form)
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

        self._server = ThreadingHTTPServer((self.bind, self.port), Handler)
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        # Polled often, so that stopping it (each test stops its issuer) takes milliseconds, not half a second.
        threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True).start()

    def stop(self) -> None:
        """Close the listening socket: connections are refused, as from a provider that is down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def token(
        self,
        *scopes: str,
        key: SigningKey | None = None,
        algorithm: str | None = None,
        claims: Mapping[str, Any] | None = None,
        without: tuple[str, ...] = (),
        header: Mapping[str, Any] | None = None,
    ) -> str:
        """A token signed with `key` (the first key by default), for `scopes`, valid for five minutes."""
        key = key or self.keys[0]
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "user-1",
            "azp": "test-client",
            "scope": " ".join(scopes),
            "iat": now,
            "exp": now + 300,
            **(claims or {}),
        }
        for claim in without:
            payload.pop(claim)
        # A header entry of None leaves that field out (a token that names no key, say).
        headers = {name: value for name, value in {"kid": key.kid, **(header or {})}.items() if value is not None}
        return jwt.encode(payload, key.private, algorithm=algorithm or key.algorithm, headers=headers)


@contextmanager
def running_issuer(*keys: SigningKey, port: int | None = None) -> Generator[Issuer]:
    issuer = Issuer(list(keys)) if port is None else Issuer(list(keys), port)
    issuer.start()
    try:
        yield issuer
    finally:
        issuer.stop()
