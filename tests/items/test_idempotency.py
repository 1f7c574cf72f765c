"""Idempotent creates (draft-ietf-httpapi-idempotency-key-header-07): a keyed POST creates once, on each backend."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.db.database import NO_TENANT
from app.items.idempotency import PURGE_BATCH, KeyedCreate
from app.items.models import utc_now
from app.settings import Settings
from tests.auth.conftest import auth_settings, bearer
from tests.auth.issuer import Issuer
from tests.conftest import Client, sqlite_url
from tests.db.test_sqlite import OpenStore, new_item, open_store, poison
from tests.service import running_service

URL = "/api/v1/items"
ITEM = {"name": "Widget", "description": "A very useful widget"}
CONCURRENT_CREATES = 20


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


async def all_items(client: Client) -> list[Any]:
    response = await client.get(URL, params={"limit": 500})
    assert response.status_code == 200
    items: list[Any] = response.json()
    return items


def keys_in_sqlite(database_url: str) -> int:
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
        (count,) = connection.execute("SELECT count(*) FROM idempotency_keys").fetchone()
        return int(count)


async def stored_keys(database_url: str) -> int:
    if database_url.startswith("sqlite"):
        return keys_in_sqlite(database_url)
    connection = await asyncpg.connect(database_url)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM idempotency_keys"))
    finally:
        await connection.close()


async def keys_left_after_purging(database_url: str, within_s: float = 10) -> int:
    """The keys still stored once none are left, or after `within_s`."""
    for _ in range(round(within_s / 0.2)):
        if not await stored_keys(database_url):
            return 0
        await asyncio.sleep(0.2)
    return await stored_keys(database_url)


async def test_a_repeated_keyed_create_answers_the_original_201_and_creates_nothing(client: Client) -> None:
    first = await client.post(URL, json=ITEM, headers=keyed("order-17"))
    await asyncio.sleep(0.01)  # a repeat made later must still answer the original times
    repeat = await client.post(URL, json=ITEM, headers=keyed("order-17"))

    assert (first.status_code, repeat.status_code) == (201, 201)
    assert repeat.content == first.content  # same id, same times, same body
    for header in ("location", "etag", "content-type"):
        assert repeat.headers[header] == first.headers[header]
    assert await all_items(client) == [first.json()]


async def test_the_original_answer_outlives_changes_to_the_item(client: Client) -> None:
    # The draft replays the create's answer: a retry arriving late must not create the item again.
    first = await client.post(URL, json=ITEM, headers=keyed("k"))
    item_id = first.json()["id"]
    assert (await client.patch(f"{URL}/{item_id}", json={"name": "Renamed"})).status_code == 200
    assert (await client.delete(f"{URL}/{item_id}")).status_code == 204

    repeat = await client.post(URL, json=ITEM, headers=keyed("k"))

    assert (repeat.status_code, repeat.content) == (201, first.content)
    assert await all_items(client) == []


async def test_the_same_key_with_another_body_is_422_and_creates_nothing(client: Client) -> None:
    first = await client.post(URL, json=ITEM, headers=keyed("k"))
    other = await client.post(URL, json={**ITEM, "description": "another"}, headers=keyed("k"))

    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert await all_items(client) == [first.json()]


async def test_the_body_is_compared_by_content_not_by_spelling(client: Client) -> None:
    first = await client.post(URL, json=ITEM, headers=keyed("k"))
    spelled_otherwise = b'{ "description" : "A very useful widget",\n"name":"Widget" }'
    repeat = await client.post(
        URL, content=spelled_otherwise, headers={**keyed("k"), "Content-Type": "application/json"}
    )

    assert (repeat.status_code, repeat.content) == (201, first.content)


async def test_different_keys_create_different_items(client: Client) -> None:
    one = await client.post(URL, json=ITEM, headers=keyed("a"))
    other = await client.post(URL, json=ITEM, headers=keyed("b"))
    unkeyed = await client.post(URL, json=ITEM)

    assert len({one.json()["id"], other.json()["id"], unkeyed.json()["id"]}) == 3
    assert len(await all_items(client)) == 3


@pytest.mark.parametrize(
    "key",
    [b"", b" ", b"x" * 256, b"a\x01b", b"tab\tinside", b"del\x7f", "café".encode()],
    ids=["empty", "blank", "256 characters", "control", "tab", "delete", "not ascii"],
)
async def test_a_malformed_key_is_400_and_creates_nothing(sqlite_client: Client, key: bytes) -> None:
    response = await sqlite_client.post(URL, json=ITEM, headers={b"Idempotency-Key": key})

    assert response.status_code == 400, response.text
    assert response.json()["type"].endswith("/idempotency-key-malformed")
    assert await all_items(sqlite_client) == []


@pytest.mark.parametrize("key", ["x" * 255, '"8e03978e-40d5-43e8-bc93-6894a57f9324"', "with spaces inside", "!~"])
async def test_keys_of_up_to_255_printable_characters_are_accepted(sqlite_client: Client, key: str) -> None:
    first = await sqlite_client.post(URL, json=ITEM, headers=keyed(key))
    repeat = await sqlite_client.post(URL, json=ITEM, headers=keyed(key))

    assert (first.status_code, repeat.content) == (201, first.content)


async def test_a_keyed_create_with_a_bad_body_stores_no_key(sqlite_client: Client) -> None:
    assert (await sqlite_client.post(URL, json={"name": ""}, headers=keyed("k"))).status_code == 422
    assert (await sqlite_client.post(URL, json=ITEM, headers=keyed("k"))).status_code == 201
    assert len(await all_items(sqlite_client)) == 1


@pytest.mark.measure_subprocesses
async def test_of_concurrent_creates_under_one_key_one_item_is_made(tmp_path: Path, database_url: str) -> None:
    with running_service({"DATABASE_URL": database_url, "ACCESS_LOG": "false"}, tmp_path / "log") as service:
        limits = httpx.Limits(max_connections=CONCURRENT_CREATES)
        async with httpx.AsyncClient(base_url=service.url, limits=limits, timeout=30) as http:
            responses = await asyncio.gather(
                *(http.post(URL, json=ITEM, headers=keyed("once")) for _ in range(CONCURRENT_CREATES))
            )
            items = (await http.get(URL)).json()

    assert len(items) == 1
    statuses = {response.status_code for response in responses}
    assert statuses <= {201, 409}
    for response in responses:
        if response.status_code == 201:
            assert response.json() == items[0]
        else:
            assert response.json()["type"].endswith("/idempotency-key-in-use")
            assert response.headers["retry-after"] == "1"


async def test_of_concurrent_creates_under_one_key_on_two_replicas_one_item_is_made(
    tmp_path: Path, postgres_url: str
) -> None:
    # Replicas share nothing but PostgreSQL: there the second waits for the first's key, then answers as a repeat.
    environment = {"DATABASE_URL": postgres_url, "ACCESS_LOG": "false"}
    with ExitStack() as stack:
        replicas = [stack.enter_context(running_service(environment, tmp_path / f"log{number}")) for number in range(2)]
        async with httpx.AsyncClient(timeout=30) as http:
            for round_number in range(10):
                key = f"round {round_number}"
                responses = await asyncio.gather(
                    *(http.post(f"{replica.url}{URL}", json=ITEM, headers=keyed(key)) for replica in replicas * 5)
                )
                created = {response.content for response in responses if response.status_code == 201}
                assert {response.status_code for response in responses} <= {201, 409}
                assert len(created) == 1
            items = (await http.get(f"{replicas[0].url}{URL}")).json()

    assert len(items) == 10


async def test_an_expired_key_is_accepted_again_and_purged(database_url: str) -> None:
    settings = Settings.from_environ({"DATABASE_URL": database_url, "IDEMPOTENCY_TTL": "1"})
    async with AsyncTestClient(app=create_app(settings)) as client:
        first = await client.post(URL, json=ITEM, headers=keyed("k"))
        await asyncio.sleep(1.1)
        again = await client.post(URL, json=ITEM, headers=keyed("k"))
        assert again.status_code == 201
        assert again.json()["id"] != first.json()["id"]
        assert len(await all_items(client)) == 2
        # Purged in the background every TTL (here a second): the key expires again, then goes.
        assert await keys_left_after_purging(database_url) == 0


async def test_the_purge_leaves_the_keys_that_have_not_expired(database_url: str) -> None:
    # Every other purge test expires its keys within a second: a purge that took every key passed them all.
    settings = Settings.from_environ({"DATABASE_URL": database_url, "IDEMPOTENCY_TTL": "1"})
    async with AsyncTestClient(app=create_app(settings)) as client:
        await add_expired_keys(database_url, 3, expire_in=timedelta(hours=1))
        assert (await client.post(URL, json=ITEM, headers=keyed("expires"))).status_code == 201
        assert await stored_keys(database_url) == 4
        # Purged in the background every second: the key that expired goes, the three valid for an hour stay.
        for _ in range(50):
            if await stored_keys(database_url) == 3:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # and a purge after that one leaves them too
        assert await stored_keys(database_url) == 3


async def test_a_backlog_of_expired_keys_is_purged_batch_after_batch(database_url: str) -> None:
    # As after a long outage of the purge: more than one batch (PURGE_BATCH) waits.
    backlog = PURGE_BATCH * 2 + 500
    settings = Settings.from_environ({"DATABASE_URL": database_url, "IDEMPOTENCY_TTL": "1"})
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.post(URL, json=ITEM, headers=keyed("k"))).status_code == 201
        await add_expired_keys(database_url, backlog)
        assert await stored_keys(database_url) == backlog + 1
        assert await keys_left_after_purging(database_url) == 0


async def add_expired_keys(database_url: str, count: int, expire_in: timedelta = timedelta(hours=-1)) -> None:
    """Keys written behind the service's back, expired an hour ago (or expiring `expire_in` from now)."""
    expires = utc_now() + expire_in
    rows = [(f"scope {number}", "k", b"", new_item("x", "").id, expires, expires) for number in range(count)]
    insert = "INSERT INTO idempotency_keys (scope, key, fingerprint, item_id, created_at, expires_at) VALUES "
    if database_url.startswith("sqlite"):
        text_rows = [
            (
                *row[:3],
                str(row[3]),
                row[4].isoformat(timespec="microseconds"),
                row[5].isoformat(timespec="microseconds"),
            )
            for row in rows
        ]
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            connection.executemany(insert + "(?, ?, ?, ?, ?, ?)", text_rows)
        return
    connection = await asyncpg.connect(database_url)
    try:
        await connection.executemany(insert + "($1, $2, $3, $4, $5, $6)", rows)
    finally:
        await connection.close()


async def test_an_expired_key_the_purge_has_not_reached_is_taken_by_the_next_create(
    client: Client, database_url: str
) -> None:
    # Expired behind the service's back, long before its purge runs (every 300 s here): the create finds the key
    # stored and takes it over, which waiting for a real expiry leaves to the race with the purge.
    first = await client.post(URL, json=ITEM, headers=keyed("k"))
    await expire_every_key(database_url)

    again = await client.post(URL, json=ITEM, headers=keyed("k"))

    assert again.status_code == 201
    assert again.json()["id"] != first.json()["id"]
    assert len(await all_items(client)) == 2
    assert await stored_keys(database_url) == 1, "the key was taken over, not stored twice"
    repeated = await client.post(URL, json=ITEM, headers=keyed("k"))
    assert repeated.json()["id"] == again.json()["id"], "and it now names the new item"


async def expire_every_key(database_url: str) -> None:
    expired = utc_now() - timedelta(hours=1)
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            connection.execute(
                "UPDATE idempotency_keys SET expires_at = ?", (expired.isoformat(timespec="microseconds"),)
            )
        return
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("UPDATE idempotency_keys SET expires_at = $1", expired)
    finally:
        await connection.close()


async def test_a_key_expired_with_another_body_creates_the_new_one(sqlite_settings: Settings) -> None:
    settings = Settings.from_environ({"DATABASE_URL": sqlite_settings.database.url, "IDEMPOTENCY_TTL": "1"})
    async with AsyncTestClient(app=create_app(settings)) as client:
        await client.post(URL, json=ITEM, headers=keyed("k"))
        await asyncio.sleep(1.1)
        other = await client.post(URL, json={**ITEM, "name": "Other"}, headers=keyed("k"))
        assert other.status_code == 201
        assert other.json()["name"] == "Other"


async def test_keys_belong_to_the_caller_where_tokens_are_checked(issuer: Issuer, tmp_path: Path) -> None:
    async with AsyncTestClient(app=create_app(auth_settings(issuer, tmp_path))) as client:
        alice = bearer(issuer.token("items:write", claims={"sub": "alice"}))
        bob = bearer(issuer.token("items:write", claims={"sub": "bob"}))
        other_client = bearer(issuer.token("items:write", claims={"sub": "alice", "azp": "another-client"}))
        alice_again = bearer(issuer.token("items:write", claims={"sub": "alice", "jti": "a second token"}))

        mine = await client.post(URL, json=ITEM, headers={**alice, **keyed("k")})
        theirs = await client.post(URL, json=ITEM, headers={**bob, **keyed("k")})
        elsewhere = await client.post(URL, json=ITEM, headers={**other_client, **keyed("k")})
        retried = await client.post(URL, json=ITEM, headers={**alice_again, **keyed("k")})
        # Bob cannot learn what Alice's key created, nor block it by sending another body under it.
        probe = await client.post(URL, json={**ITEM, "name": "probe"}, headers={**bob, **keyed("k")})

    assert len({mine.json()["id"], theirs.json()["id"], elsewhere.json()["id"]}) == 3
    assert retried.content == mine.content
    assert probe.status_code == 422
    assert probe.json()["detail"].startswith("This Idempotency-Key already created an item")


async def test_a_keyed_create_without_a_valid_token_stores_no_key(issuer: Issuer, tmp_path: Path) -> None:
    settings = auth_settings(issuer, tmp_path)
    async with AsyncTestClient(app=create_app(settings)) as client:
        refused = await client.post(URL, json=ITEM, headers=keyed("k"))
        assert refused.status_code == 401
    assert await stored_keys(settings.database.url) == 0


async def test_the_api_document_declares_the_key_and_its_answers(sqlite_client: Client) -> None:
    document = (await sqlite_client.get("/schema/openapi.json")).json()
    create = document["paths"]["/api/v1/items"]["post"]
    (header,) = [parameter for parameter in create["parameters"] if parameter["in"] == "header"]

    assert header["name"] == "Idempotency-Key"
    assert header["required"] is False
    assert header["schema"]["maxLength"] == 255
    assert {"201", "400", "409", "422"} <= set(create["responses"])


@pytest.mark.measure_subprocesses
def test_a_purge_the_database_refuses_is_logged_and_tried_again(tmp_path: Path) -> None:
    database = tmp_path / "items.db"
    environment = {"DATABASE_URL": sqlite_url(tmp_path), "IDEMPOTENCY_TTL": "1", "DATABASE_LOCK_TIMEOUT": "0"}
    with running_service(environment, tmp_path / "log") as service:
        assert httpx.post(f"{service.url}{URL}", json=ITEM, headers=keyed("k")).status_code == 201
        blocker = sqlite3.connect(database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # the purge cannot write now
        time.sleep(2.5)
        blocker.execute("ROLLBACK")
        blocker.close()
        deadline = time.monotonic() + 10
        while keys_in_sqlite(sqlite_url(tmp_path)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert keys_in_sqlite(sqlite_url(tmp_path)) == 0

    failures = [record for record in service.records() if record["event"] == "expired idempotency keys not purged"]
    assert failures
    assert failures[0]["level"] == "error"


def key_for(name: str) -> KeyedCreate:
    return KeyedCreate(owner="", key="k", fingerprint=name.encode(), expires_at=utc_now() + timedelta(hours=1))


@pytest.mark.parametrize("action", ["ABORT", "ROLLBACK"])
async def test_on_sqlite_a_create_whose_item_cannot_be_stored_leaves_its_key_free(tmp_path: Path, action: str) -> None:
    # ABORT undoes the failing statement only (the key's savepoint undoes the claim); ROLLBACK undoes the whole
    # group, as a full disk does.
    store: OpenStore = await open_store(tmp_path)
    poison(tmp_path / "items.db", action)
    failing = new_item("poison", "")

    with pytest.raises(sqlite3.IntegrityError):
        await store.add_once(failing, key_for("poison"), NO_TENANT)
    retried = new_item("retried", "")
    assert await store.add_once(retried, key_for("retried"), NO_TENANT) is retried

    assert await store.list_after(None, 10, NO_TENANT) == [retried]
    await store.close()


async def test_a_keyed_create_that_fails_leaves_its_key_free_for_the_retry(
    sqlite_client: Client, sqlite_path: Path
) -> None:
    # In this process too: a key left among those in flight would answer every retry 409, for good.
    poison(sqlite_path, "ABORT")  # every item named "poison" fails to be stored
    poisoned = {"name": "poison", "description": ""}

    failed = await sqlite_client.post(URL, json=poisoned, headers=keyed("retried"))
    retried = await sqlite_client.post(URL, json=poisoned, headers=keyed("retried"))

    assert (failed.status_code, retried.status_code) == (500, 500)
