"""The issuer's key set over its life: discovery, rotation, an unreachable provider, forged key ids."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs
from structlog.typing import EventDict

from app.asgi import create_app
from app.auth.errors import KeysUnavailable
from app.auth.keys import IssuerKeys
from app.auth.tokens import TokenVerifier
from app.settings import AuthSettings, Settings
from tests.auth.conftest import auth_settings, bearer
from tests.auth.issuer import AUDIENCE, Issuer, ec_key, rsa_key
from tests.conftest import Client, sqlite_url

ITEMS = "/api/v1/items"
DEADLINE_S = 10.0


def not_fetched(records: list[EventDict]) -> list[EventDict]:
    """The records of failed key fetches, as structlog made them, whatever format the output renders them in."""
    return [record for record in records if record["event"] == "identity provider keys not fetched"]


async def eventually(check: Callable[[], Awaitable[bool]], deadline_s: float = DEADLINE_S) -> None:
    """Poll `check` until it holds, or fail at the deadline."""
    deadline = time.monotonic() + deadline_s
    while not await check():
        assert time.monotonic() < deadline, "not within the deadline"
        await asyncio.sleep(0.05)


async def status_of(client: Client, token: str) -> int:
    return (await client.get(ITEMS, headers=bearer(token))).status_code


async def test_a_key_added_by_the_issuer_is_used_without_a_restart(auth_client: Client, issuer: Issuer) -> None:
    rotated_in = ec_key("ec-2")
    issuer.keys.append(rotated_in)
    token = issuer.token("items:read", key=rotated_in)

    # The first token naming it makes the service fetch the key set again (at most every second here).
    await eventually(lambda: _is(status_of(auth_client, token), 200))


async def test_a_key_removed_by_the_issuer_is_refused_after_the_refresh(issuer: Issuer, tmp_path: Path) -> None:
    settings = auth_settings(issuer, tmp_path, AUTH_JWKS_MAX_AGE="1")  # refetched after a second
    async with AsyncTestClient(app=create_app(settings)) as client:
        retired = issuer.keys.pop(0)
        token = issuer.token("items:read", key=retired)
        assert await status_of(client, token) == 200  # the cached set still holds it

        # Once the set is older than its maximum age, a request triggers a refresh in the background.
        await eventually(lambda: _is(status_of(client, token), 401))
        response = await client.get(ITEMS, headers=bearer(token))
        assert "does not publish" in response.json()["detail"]
        assert await status_of(client, issuer.token("items:read")) == 200


async def test_forged_key_ids_do_not_make_the_service_hammer_the_provider(issuer: Issuer, tmp_path: Path) -> None:
    settings = auth_settings(issuer, tmp_path, AUTH_JWKS_MIN_INTERVAL="30")
    async with AsyncTestClient(app=create_app(settings)) as client:
        fetched_at_start = issuer.jwks_fetches
        tokens = [issuer.token("items:read", key=rsa_key(f"forged-{number}")) for number in range(3)] * 20
        statuses = await asyncio.gather(*(status_of(client, token) for token in tokens))

    assert set(statuses) == {401}
    assert fetched_at_start == 1
    assert issuer.jwks_fetches == fetched_at_start  # within 30 s of the last fetch: none more


def key_set_of(issuer: Issuer, min_interval: float = 30.0) -> IssuerKeys:
    """The key set as the service holds it, driven directly: requests on one event loop, truly concurrent."""
    return IssuerKeys(AuthSettings(issuer.url, AUDIENCE, jwks_min_interval=min_interval))


async def test_concurrent_tokens_naming_a_new_key_share_one_fetch(issuer: Issuer) -> None:
    keys = key_set_of(issuer, min_interval=0.0)
    try:
        await keys.refresh()
        issuer.keys.append(ec_key("ec-2"))
        issuer.delay_s = 0.3  # every lookup below starts while the fetch is under way
        found = await asyncio.gather(*(keys.key("ec-2", "ES256") for _ in range(20)))
    finally:
        await keys.close()

    assert {key.key_id for key in found} == {"ec-2"}
    assert issuer.jwks_fetches == 2  # the first, then one for all twenty


async def test_a_lookup_that_gives_up_waiting_does_not_stop_the_fetch_others_wait_for(issuer: Issuer) -> None:
    keys = key_set_of(issuer, min_interval=0.0)
    try:
        issuer.delay_s = 0.3
        impatient = asyncio.create_task(keys.key("rsa-1", "RS256"))
        patient = asyncio.create_task(keys.key("rsa-1", "RS256"))
        await asyncio.sleep(0.05)  # both wait on the fetch
        impatient.cancel()
        assert (await patient).key_id == "rsa-1"
    finally:
        await keys.close()
    assert impatient.cancelled()
    assert issuer.jwks_fetches == 1


async def test_closing_stops_a_fetch_under_way_without_waiting_for_the_provider(issuer: Issuer) -> None:
    keys = key_set_of(issuer)
    issuer.delay_s = 5.0
    fetching = asyncio.create_task(keys.refresh())
    await asyncio.sleep(0.1)  # the request is with the provider

    started = time.monotonic()
    await keys.close()

    assert time.monotonic() - started < 1.0
    with pytest.raises(asyncio.CancelledError):
        await fetching


async def test_with_the_provider_down_at_start_up_protected_operations_answer_503_until_it_is_back(
    issuer: Issuer, tmp_path: Path
) -> None:
    issuer.stop()
    async with AsyncTestClient(app=create_app(auth_settings(issuer, tmp_path))) as client:
        response = await client.get(ITEMS, headers=bearer(issuer.token("items:read")))
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/identity-provider-unavailable")
        assert int(response.headers["retry-after"]) >= 1
        # What needs no token is served all the same.
        assert (await client.get("/health/ready")).status_code == 200
        assert (await client.get("/health")).status_code == 200

        issuer.start()
        await eventually(lambda: _is(status_of(client, issuer.token("items:read")), 200))


async def test_with_the_provider_down_after_start_up_cached_keys_keep_working(
    auth_client: Client, issuer: Issuer
) -> None:
    issuer.stop()
    assert await status_of(auth_client, issuer.token("items:read")) == 200

    # A key the service has never seen cannot be checked while the provider is down: once the service has
    # tried to fetch it (at most every second here), a 503, not a 401.
    stranger = issuer.token("items:read", key=ec_key("ec-new"))
    await eventually(lambda: _is(status_of(auth_client, stranger), 503))
    response = await auth_client.get(ITEMS, headers=bearer(stranger))
    assert int(response.headers["retry-after"]) >= 1
    assert await status_of(auth_client, issuer.token("items:read")) == 200


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "rsa-1", "alg": "HS256"}]}), "no usable"),
        (json.dumps({"keys": [{"kty": "RSA", "kid": "rsa-1", "n": "AQAB", "e": "AQAB", "use": "enc"}]}), "no usable"),
        (json.dumps({"keys": [{"kty": "RSA", "kid": "rsa-1", "alg": "HS256", "n": "AQAB", "e": "AQAB"}]}), "no usable"),
        (json.dumps({"keys": [{"kty": "RSA", "kid": "rsa-1", "n": "!!", "e": "AQAB"}]}), "no usable"),
        (json.dumps({"keys": []}), "no usable"),
        (json.dumps({"keys": "none"}), "Expected `array`"),
        (json.dumps([]), "Expected `object`"),
        ("not json", "JSON"),
        (json.dumps({"keys": [], "padding": "x" * (1024 * 1024)}), "more than 1048576 bytes"),
    ],
)
async def test_a_key_set_without_a_usable_signing_key_verifies_nothing(
    issuer: Issuer, tmp_path: Path, body: str, reason: str
) -> None:
    issuer.jwks_body = body.encode()
    with capture_logs() as records:
        async with AsyncTestClient(app=create_app(auth_settings(issuer, tmp_path))) as client:
            assert (await client.get(ITEMS, headers=bearer(issuer.token("items:read")))).status_code == 503

    assert any(reason in record.get("reason", "") for record in not_fetched(records)), records


async def test_symmetric_and_encryption_keys_in_the_set_are_left_out(issuer: Issuer, tmp_path: Path) -> None:
    # A symmetric key under the RSA key's id would let anyone holding it sign: it must never verify.
    issuer.extra_jwks = [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "shared", "alg": "HS256"},
        {**issuer.keys[1].jwk(), "kid": "enc-1", "use": "enc"},
    ]
    async with AsyncTestClient(app=create_app(auth_settings(issuer, tmp_path))) as client:
        assert await status_of(client, issuer.token("items:read")) == 200
        enc = issuer.token("items:read", key=issuer.keys[1], header={"kid": "enc-1"})
        assert await status_of(client, enc) == 401


async def test_a_single_key_verifies_tokens_that_name_no_key(tmp_path: Path) -> None:
    lone = ec_key("only")
    issuer = Issuer([lone])
    issuer.start()
    try:
        async with AsyncTestClient(app=create_app(auth_settings(issuer, tmp_path))) as client:
            assert await status_of(client, issuer.token("items:read", key=lone)) == 200
            assert await status_of(client, issuer.token("items:read", key=lone, header={"kid": None})) == 200
    finally:
        issuer.stop()


@pytest.mark.parametrize(
    ("discovery_issuer", "reason"),
    [("https://attacker.example", "names the issuer"), (None, "jwks_uri")],
)
async def test_a_discovery_document_that_cannot_be_trusted_is_not_used(
    issuer: Issuer, tmp_path: Path, discovery_issuer: str | None, reason: str
) -> None:
    if discovery_issuer is None:
        # Served over plain http from another host: whoever sits on the path could swap the keys.
        issuer.discovery = lambda: json.dumps({"issuer": issuer.url, "jwks_uri": "http://keys.example/jwks"}).encode()
    else:
        issuer.discovery_issuer = discovery_issuer
    with capture_logs() as records:
        async with AsyncTestClient(app=create_app(auth_settings(issuer, tmp_path))) as client:
            assert await status_of(client, issuer.token("items:read")) == 503

    assert any(reason in record.get("reason", "") for record in not_fetched(records)), records
    assert issuer.jwks_fetches == 0


async def test_a_key_set_url_skips_discovery(issuer: Issuer, tmp_path: Path) -> None:
    issuer.discovery_issuer = "https://never-consulted.example"
    settings = auth_settings(issuer, tmp_path, AUTH_JWKS_URL=f"{issuer.url}/jwks.json")
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert await status_of(client, issuer.token("items:read")) == 200


async def test_a_key_set_that_answers_an_error_status_is_not_used(issuer: Issuer, tmp_path: Path) -> None:
    settings = auth_settings(issuer, tmp_path, AUTH_JWKS_URL=f"{issuer.url}/missing.json")
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert await status_of(client, issuer.token("items:read")) == 503


async def test_a_key_set_file_serves_local_development(tmp_path: Path, issuer: Issuer) -> None:
    key_set = tmp_path / "jwks.json"
    key_set.write_bytes(issuer.key_set())
    issuer.stop()  # nothing is fetched over the network
    settings = Settings.from_environ(
        {"DATABASE_URL": sqlite_url(tmp_path), **issuer.environ(AUTH_JWKS_URL=key_set.as_uri())}
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert await status_of(client, issuer.token("items:read")) == 200


async def test_the_service_never_calls_the_provider_per_request(auth_client: Client, issuer: Issuer) -> None:
    token = issuer.token("items:read")
    before = issuer.jwks_fetches
    for _ in range(20):
        assert await status_of(auth_client, token) == 200
    assert issuer.jwks_fetches == before


async def _is(status: Awaitable[int], expected: int) -> bool:
    return await status == expected


async def test_a_token_verified_once_is_refused_once_it_expires(auth_client: Client, issuer: Issuer) -> None:
    # Expired 25 s ago: accepted within the 30 s leeway, for four or five seconds more.
    token = issuer.token("items:read", claims={"exp": int(time.time()) - 25})
    assert await status_of(auth_client, token) == 200
    assert await status_of(auth_client, token) == 200  # served from the verified tokens

    await eventually(lambda: _is(status_of(auth_client, token), 401), deadline_s=10)


async def test_two_entries_under_one_key_id_verify_together(tmp_path: Path) -> None:
    # One RSA key published twice, once per algorithm, as some providers do.
    key = rsa_key("twice", publish_algorithm=True)
    issuer = Issuer([key])
    issuer.extra_jwks = [{**key.jwk(), "alg": "PS256"}]
    issuer.start()
    try:
        async with AsyncTestClient(app=create_app(auth_settings(issuer, tmp_path))) as client:
            assert await status_of(client, issuer.token("items:read", key=key)) == 200
            assert await status_of(client, issuer.token("items:read", key=key, algorithm="PS256")) == 200
            assert await status_of(client, issuer.token("items:read", key=key, algorithm="RS512")) == 401
    finally:
        issuer.stop()


async def test_an_unexpected_failure_of_a_fetch_is_logged_and_the_service_keeps_serving(
    issuer: Issuer, tmp_path: Path
) -> None:
    # A discovery document whose key set URL httpx cannot even parse (a port that is no number).
    issuer.discovery = lambda: json.dumps({"issuer": issuer.url, "jwks_uri": "https://keys.example:99999999/"}).encode()
    with capture_logs() as records:
        async with AsyncTestClient(app=create_app(auth_settings(issuer, tmp_path))) as client:
            assert (await client.get(ITEMS, headers=bearer(issuer.token("items:read")))).status_code == 503
            assert (await client.get("/health")).status_code == 200

    assert not_fetched(records), records


async def test_a_key_set_url_that_failed_is_discovered_again_and_named_without_its_secrets(issuer: Issuer) -> None:
    # A discovery document that once named a dead key set URL, then was fixed: every token stayed at 503 or 401
    # until every replica restarted.
    keys = key_set_of(issuer, min_interval=0.0)
    issuer.jwks_path = "/gone.json?api_key=secret-key"
    try:
        with capture_logs() as records:
            await keys.refresh()
        issuer.jwks_path = "/jwks.json"
        found = await keys.key("rsa-1", "RS256")
    finally:
        await keys.close()

    assert found.key_id == "rsa-1"
    (failure,) = not_fetched(records)
    assert failure["url"] == f"{issuer.url}/gone.json"
    assert "secret-key" not in repr(records)


async def test_a_compressed_key_set_is_refused_before_it_is_decompressed(issuer: Issuer) -> None:
    # Counted as decompressed, about 200 KB of gzip took a process from 79 to 210 MB before the cap refused it.
    keys = key_set_of(issuer, min_interval=0.0)
    issuer.gzip_key_set = True
    try:
        with capture_logs() as records:
            await keys.refresh()
    finally:
        await keys.close()

    (failure,) = not_fetched(records)
    assert "compressed" in str(failure["reason"])
    assert failure["keeping_cached_keys"] is False


async def test_cached_keys_are_trusted_no_longer_than_the_stale_limit_while_the_issuer_is_unreachable(
    issuer: Issuer,
) -> None:
    # AUTH_JWKS_MAX_STALE: keys the provider may have withdrawn meanwhile verify nothing once that long has passed
    # without a fetch that worked, and neither does a token verified with them before, kept among the verified.
    settings = AuthSettings(issuer.url, AUDIENCE, jwks_min_interval=0.0, jwks_max_stale=0.5)
    keys = IssuerKeys(settings)
    verifier = TokenVerifier(settings, keys)
    token = issuer.token("items:read")
    try:
        await keys.refresh()
        assert "items:read" in (await verifier.verify(token)).scopes
        issuer.stop()
        await asyncio.sleep(0.6)
        with capture_logs() as records, pytest.raises(KeysUnavailable):
            await verifier.verify(token)
    finally:
        await keys.close()
    assert any(record["event"] == "identity provider keys dropped, unrefreshed too long" for record in records)
