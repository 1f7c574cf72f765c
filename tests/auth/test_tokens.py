"""Each check a token must pass, and the attacks on it, sent over HTTP to the app trusting a real issuer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from jwt.warnings import InsecureKeyLengthWarning
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from tests.auth.conftest import auth_settings, bearer
from tests.auth.issuer import Issuer, ec_key, rsa_key
from tests.conftest import Client

ITEMS = "/api/v1/items"
RS256_HEADER = base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"rsa-1"}').rstrip(b"=").decode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    """A JWT assembled by hand, as an attacker would, for what PyJWT refuses to produce."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64url(signature)}"


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


async def assert_refused(client: Client, token: str, reason: str) -> None:
    response = await client.get(ITEMS, headers=bearer(token))

    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/invalid-token")
    assert reason in problem["detail"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="items-service", error="invalid_token", error_description="')
    # Neither the token nor any part of it comes back.
    for part in [token, *token.split(".")]:
        if len(part) > 8:
            assert part not in response.text
            assert part not in challenge


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1", "ed-1"])
async def test_a_token_signed_by_any_published_key_type_is_accepted(
    auth_client: Client, issuer: Issuer, kid: str
) -> None:
    key = next(key for key in issuer.keys if key.kid == kid)
    response = await auth_client.get(ITEMS, headers=bearer(issuer.token("items:read", key=key)))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("algorithm", ["RS384", "RS512", "PS256", "PS384", "PS512"])
async def test_an_rsa_key_published_without_alg_verifies_every_rsa_algorithm(
    auth_client: Client, issuer: Issuer, algorithm: str
) -> None:
    response = await auth_client.get(ITEMS, headers=bearer(issuer.token("items:read", algorithm=algorithm)))
    assert response.status_code == 200, response.text


def from_now(claims: dict[str, Any]) -> dict[str, Any]:
    """`claims` with the times among them (exp, nbf, iat) given as seconds from now."""
    now = int(time.time())
    return {name: now + value if name in ("exp", "nbf", "iat") else value for name, value in claims.items()}


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": -120}, "has expired"),
        ({"nbf": 120}, "not valid yet"),
        ({"iat": 120}, "not valid yet"),
        ({"iss": "https://attacker.example"}, "another issuer"),
        ({"iss": "http://127.0.0.1"}, "another issuer"),
        ({"aud": "another-service"}, "another audience"),
        ({"aud": ["another-service", "yet-another"]}, "another audience"),
        ({"scope": 42}, "scope is neither"),
        ({"scope": ["items:read", 7]}, "scope is neither"),
    ],
)
async def test_a_token_failing_a_claim_check_is_refused(
    auth_client: Client, issuer: Issuer, claims: dict[str, Any], reason: str
) -> None:
    await assert_refused(auth_client, issuer.token("items:read", claims=from_now(claims)), reason)


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud"])
async def test_a_token_without_a_required_claim_is_refused(auth_client: Client, issuer: Issuer, claim: str) -> None:
    await assert_refused(auth_client, issuer.token("items:read", without=(claim,)), f"no {claim} claim")


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": -10},  # expired 10 s ago: within the clock leeway
        {"nbf": 10, "iat": 10},  # a provider's clock slightly ahead
        {"aud": ["another-service", "items-service"]},
        {"scope": None, "scp": ["items:read"]},  # a list, as Okta sends it
        {"scope": None, "scp": "items:read other"},  # a string, as Entra ID sends it
    ],
)
async def test_a_token_within_the_rules_is_accepted(
    auth_client: Client, issuer: Issuer, claims: dict[str, Any]
) -> None:
    token_claims = from_now({key: value for key, value in claims.items() if value is not None})
    without = tuple(key for key, value in claims.items() if value is None)
    token = issuer.token("items:read", claims=token_claims, without=without)
    response = await auth_client.get(ITEMS, headers=bearer(token))
    assert response.status_code == 200, response.text


async def test_an_unsigned_token_alg_none_is_refused(auth_client: Client, issuer: Issuer) -> None:
    claims = claims_of(issuer.token("items:read"))
    for algorithm in ("none", "None", "NONE"):
        await assert_refused(auth_client, forged({"alg": algorithm, "kid": "rsa-1"}, claims), "algorithm")


async def test_an_hs256_token_signed_with_the_public_key_is_refused(auth_client: Client, issuer: Issuer) -> None:
    # Key confusion: a verifier that let the header pick HMAC would take the public key for the secret.
    rsa = issuer.keys[0].private.public_key()
    claims = claims_of(issuer.token("items:write"))
    for public in (
        rsa.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        rsa.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
        json.dumps(issuer.keys[0].jwk()).encode(),
    ):
        for algorithm, digest in (("HS256", hashlib.sha256), ("HS512", hashlib.sha512)):
            header = {"alg": algorithm, "kid": "rsa-1", "typ": "JWT"}
            unsigned = forged(header, claims).rstrip(".")
            token = f"{unsigned}.{b64url(hmac.new(public, unsigned.encode(), digest).digest())}"
            await assert_refused(auth_client, token, "algorithm")


async def test_a_token_whose_algorithm_does_not_match_its_key_is_refused(auth_client: Client, issuer: Issuer) -> None:
    ec, ed = issuer.keys[1], issuer.keys[2]
    # Signed by the EC key but naming the RSA key; an EdDSA signature presented as ES256 for the EC key.
    await assert_refused(auth_client, issuer.token("items:read", key=ec, header={"kid": "rsa-1"}), "algorithm")
    await assert_refused(auth_client, issuer.token("items:read", key=ed, header={"kid": "ec-1"}), "algorithm")
    es384 = {"alg": "ES384", "kid": "ec-1"}  # P-256 is ES256's curve only
    await assert_refused(auth_client, with_header(issuer.token("items:read", key=ec), es384), "algorithm")


async def test_a_tampered_payload_is_refused(auth_client: Client, issuer: Issuer) -> None:
    header, _, signature = issuer.token("items:read").split(".")
    claims = claims_of(issuer.token("items:read items:write"))
    tampered = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
    await assert_refused(auth_client, tampered, "signature does not verify")


async def test_a_token_signed_by_a_key_the_issuer_does_not_publish_is_refused(
    auth_client: Client, issuer: Issuer
) -> None:
    impostor = ec_key("ec-1")  # same kid as a published key, another private key
    await assert_refused(auth_client, issuer.token("items:read", key=impostor), "signature does not verify")
    stranger = rsa_key("unknown-kid")
    await assert_refused(auth_client, issuer.token("items:read", key=stranger), "does not publish")


def with_header(token: str, header: dict[str, Any]) -> str:
    _, claims, signature = token.split(".")
    return f"{b64url(json.dumps(header).encode())}.{claims}.{signature}"


async def test_a_token_without_kid_is_refused_when_the_issuer_has_several_keys(
    auth_client: Client, issuer: Issuer
) -> None:
    await assert_refused(auth_client, issuer.token("items:read", header={"kid": None}), "does not publish")


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"alg": "RS256", "kid": 7}, "not a well-formed JWT"),
        ({"alg": ["RS256"], "kid": "rsa-1"}, "algorithm"),
        ({"alg": {"RS256": 1}, "kid": "rsa-1"}, "algorithm"),
        ({"alg": None, "kid": "rsa-1"}, "algorithm"),
    ],
)
async def test_a_header_field_of_the_wrong_type_is_refused(
    auth_client: Client, issuer: Issuer, header: dict[str, Any], reason: str
) -> None:
    await assert_refused(auth_client, with_header(issuer.token("items:read"), header), reason)


async def test_a_signed_token_whose_payload_is_not_a_claims_object_is_refused(
    auth_client: Client, issuer: Issuer
) -> None:
    token = jwt.PyJWS().encode(b"[1]", issuer.keys[0].private, algorithm="RS256", headers={"kid": "rsa-1"})
    await assert_refused(auth_client, token, "malformed")


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("x" * 10_000, "longer than 8192"),
        ("...", "not a well-formed JWT"),
        ("a.b.c", "not a well-formed JWT"),
        ("not-a-jwt", "not a well-formed JWT"),
        ("e30.e30.e30", "algorithm"),  # {} as header: no alg
        (f"{RS256_HEADER}.%%%.abc", "not a well-formed JWT"),
        (f"{RS256_HEADER}.WzFd.abc", "signature does not verify"),
        ("W10.e30.abc", "not a well-formed JWT"),  # the header []: not an object
    ],
)
async def test_a_malformed_or_oversized_token_is_refused(auth_client: Client, token: str, reason: str) -> None:
    await assert_refused(auth_client, token, reason)


async def test_a_token_of_10_kb_signed_by_the_issuer_is_refused_for_its_size(
    auth_client: Client, issuer: Issuer
) -> None:
    token = issuer.token("items:read", claims={"padding": "p" * 10_000})
    await assert_refused(auth_client, token, "longer than 8192")


async def test_a_token_signed_with_a_weak_rsa_key_is_refused(issuer: Issuer, tmp_path: Path) -> None:
    weak = rsa_key("weak", bits=1024)
    issuer.keys.append(weak)
    with pytest.warns(InsecureKeyLengthWarning):  # PyJWT signs with it, warning; the service refuses to verify
        token = issuer.token("items:read", key=weak)
    async with AsyncTestClient(app=create_app(auth_settings(issuer, tmp_path))) as client:
        await assert_refused(client, token, "too weak")


@pytest.mark.parametrize("typ", ["logout+jwt", "dpop+jwt", "secevent+jwt", "application/secevent+jwt", "JOSE", 7])
async def test_a_token_of_another_type_than_an_access_token_is_refused(
    auth_client: Client, issuer: Issuer, typ: Any
) -> None:
    # RFC 8725, section 3.11: a token of another kind, signed by the same keys, is no access token.
    await assert_refused(auth_client, issuer.token("items:read", header={"typ": typ}), "not an access token")


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "at+jwt", "application/at+jwt", "AT+JWT"])
async def test_an_access_token_typed_as_providers_type_them_is_accepted(
    auth_client: Client, issuer: Issuer, typ: str | None
) -> None:
    token = issuer.token("items:read", header={"typ": typ})
    assert (await auth_client.get(ITEMS, headers=bearer(token))).status_code == 200


async def test_a_token_that_names_no_caller_is_refused(auth_client: Client, issuer: Issuer) -> None:
    # RFC 9068, section 2.2: an access token names its subject and its client; with neither, callers could not be
    # told apart (their Idempotency-Keys would be shared).
    token = issuer.token("items:read", without=("sub", "azp"))
    await assert_refused(auth_client, token, "names neither a subject (sub) nor a client")


@pytest.mark.parametrize(
    ("without", "claims"),
    [(("sub",), {}), (("azp",), {}), (("sub", "azp"), {"client_id": "a-client"})],
    ids=["a client only", "a subject only", "client_id only"],
)
async def test_a_token_that_names_its_subject_or_its_client_is_accepted(
    auth_client: Client, issuer: Issuer, without: tuple[str, ...], claims: dict[str, Any]
) -> None:
    token = issuer.token("items:read", without=without, claims=claims)
    assert (await auth_client.get(ITEMS, headers=bearer(token))).status_code == 200


@pytest.mark.parametrize(
    "claims",
    [{"exp": 100 * 365 * 86400}, {"exp": 10**400}, {"iat": -2 * 86400, "exp": 60}],
    ids=["a hundred years", "beyond any float", "issued two days ago"],
)
async def test_a_token_valid_for_longer_than_the_service_accepts_is_refused(
    auth_client: Client, issuer: Issuer, claims: dict[str, Any]
) -> None:
    # AUTH_MAX_TOKEN_LIFETIME, a day unless set: a token leaked once must not open the service for a century.
    await assert_refused(auth_client, issuer.token("items:read", claims=from_now(claims)), "valid for longer than")


async def test_a_token_valid_for_as_long_as_the_service_accepts_is_accepted(
    auth_client: Client, issuer: Issuer
) -> None:
    token = issuer.token("items:read", claims=from_now({"iat": -60, "exp": 86400 - 60}))
    assert (await auth_client.get(ITEMS, headers=bearer(token))).status_code == 200


@pytest.mark.parametrize("claim", ["exp", "iat"])
async def test_a_time_sent_as_text_is_refused(auth_client: Client, issuer: Issuer, claim: str) -> None:
    # PyJWT takes whatever int() takes; the lifetime's arithmetic did not (a 500).
    token = issuer.token("items:read", claims={claim: str(int(time.time()) + (60 if claim == "exp" else 0))})
    await assert_refused(auth_client, token, "not both numbers")


async def test_an_empty_subject_names_no_caller(auth_client: Client, issuer: Issuer) -> None:
    token = issuer.token("items:read", without=("azp",), claims={"sub": ""})
    await assert_refused(auth_client, token, "names neither a subject (sub) nor a client")
