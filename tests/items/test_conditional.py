"""Conditional requests (RFC 9110, section 13): ETags, If-None-Match on reads, If-Match on writes, on each backend."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.db.postgres import MIGRATIONS as POSTGRES_MIGRATIONS
from app.settings import Settings
from tests.conftest import Client
from tests.service import running_service

URL = "/api/v1/items"
ITEM = {"name": "Widget", "description": "A very useful widget"}
CONCURRENT_EDITS = 50


async def created(client: Client) -> tuple[str, str]:
    response = await client.post(URL, json=ITEM)
    assert response.status_code == 201
    return response.json()["id"], response.headers["etag"]


async def stored(client: Client, item_id: str) -> Any:
    return (await client.get(f"{URL}/{item_id}")).json()


async def test_every_answer_carrying_an_item_has_a_strong_etag_that_changes_with_it(client: Client) -> None:
    item_id, first = await created(client)
    read = await client.get(f"{URL}/{item_id}")
    again = await client.get(f"{URL}/{item_id}")
    patched = await client.patch(f"{URL}/{item_id}", json={"name": "Renamed"})
    replaced = await client.put(f"{URL}/{item_id}", json=ITEM)

    assert first.startswith('"')  # strong: no W/
    assert read.headers["etag"] == again.headers["etag"] == first  # reading changes nothing
    tags = [first, patched.headers["etag"], replaced.headers["etag"]]
    assert len(set(tags)) == 3  # each write makes a new one
    assert (await client.get(f"{URL}/{item_id}")).headers["etag"] == tags[-1]


@pytest.mark.parametrize("if_none_match", ["{tag}", "W/{tag}", "*", '"999", {tag}'])
async def test_a_read_with_a_matching_if_none_match_is_304_with_the_etag_and_no_body(
    client: Client, if_none_match: str
) -> None:
    item_id, tag = await created(client)
    response = await client.get(f"{URL}/{item_id}", headers={"If-None-Match": if_none_match.format(tag=tag)})

    assert response.status_code == 304
    assert response.headers["etag"] == tag
    assert response.content == b""


@pytest.mark.parametrize("if_none_match", ['"999"', 'W/"999"', '"not-ours"'])
async def test_a_read_with_another_if_none_match_is_served_whole(client: Client, if_none_match: str) -> None:
    item_id, _ = await created(client)
    response = await client.get(f"{URL}/{item_id}", headers={"If-None-Match": if_none_match})

    assert response.status_code == 200
    assert response.json()["name"] == ITEM["name"]


async def test_a_read_under_if_match_is_served_only_in_that_version(client: Client) -> None:
    # RFC 9110, section 13.1.1: a client that must not act on another version asks for this one.
    item_id, tag = await created(client)
    for if_match in (tag, "*", f'"998", {tag}'):
        assert (await client.get(f"{URL}/{item_id}", headers={"If-Match": if_match})).status_code == 200
    for if_match in ('"998"', f"W/{tag}"):  # strong comparison: a weak tag matches nothing
        response = await client.get(f"{URL}/{item_id}", headers={"If-Match": if_match})
        assert response.status_code == 412
        assert response.json()["type"].endswith("/precondition-failed")
    # If-Match is judged before If-None-Match (section 13.2.2).
    both = {"If-Match": '"998"', "If-None-Match": tag}
    assert (await client.get(f"{URL}/{item_id}", headers=both)).status_code == 412
    missing = "0193f0c4-7a51-7cc4-9a6e-3f1d2b8c4e10"  # preconditions cannot turn a 404 into anything else
    assert (await client.get(f"{URL}/{missing}", headers={"If-Match": "*"})).status_code == 404


@pytest.mark.parametrize(
    ("method", "body", "expected"),
    [("PATCH", {"name": "Renamed"}, 200), ("PUT", {"name": "New", "description": "d"}, 200), ("DELETE", None, 204)],
)
async def test_a_write_under_the_current_etag_goes_through(
    client: Client, method: str, body: dict[str, str] | None, expected: int
) -> None:
    for listed in ("{tag}", '"998", {tag}', ", {tag},,"):  # alone, among others, among empty list elements
        item_id, tag = await created(client)
        if_match = listed.format(tag=tag)
        response = await client.request(method, f"{URL}/{item_id}", json=body, headers={"If-Match": if_match})
        assert response.status_code == expected, response.text


@pytest.mark.parametrize(
    ("method", "body"),
    [("PATCH", {"name": "Lost update"}), ("PUT", {"name": "Lost", "description": ""}), ("DELETE", None)],
)
@pytest.mark.parametrize("stale", ["old", "W/current", '"not-ours"', '"0"'])
async def test_a_write_under_another_etag_is_412_and_changes_nothing(
    client: Client, method: str, body: dict[str, str] | None, stale: str
) -> None:
    item_id, old = await created(client)
    current = (await client.patch(f"{URL}/{item_id}", json={"description": "changed"})).headers["etag"]
    before = await stored(client, item_id)
    if_match = {"old": old, "W/current": f"W/{current}"}.get(stale, stale)

    response = await client.request(method, f"{URL}/{item_id}", json=body, headers={"If-Match": if_match})

    assert response.status_code == 412
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/precondition-failed")
    assert await stored(client, item_id) == before
    assert (await client.get(f"{URL}/{item_id}")).headers["etag"] == current  # not even the version moved


@pytest.mark.parametrize(("method", "body"), [("PATCH", {"name": "x"}), ("DELETE", None)])
async def test_if_match_star_matches_any_existing_item_and_no_missing_one(
    client: Client, method: str, body: dict[str, str] | None
) -> None:
    item_id, _ = await created(client)
    assert (await client.request(method, f"{URL}/{item_id}", json=body, headers={"If-Match": "*"})).status_code < 300

    missing = "0193f0c4-7a51-7cc4-9a6e-3f1d2b8c4e10"
    for if_match in ("*", '"1"'):
        response = await client.request(method, f"{URL}/{missing}", json=body, headers={"If-Match": if_match})
        assert response.status_code == 412


# Refused before any store call: a defect here fails on either backend, so one is enough.
@pytest.mark.parametrize("header", ["If-Match", "If-None-Match"])
@pytest.mark.parametrize("value", ["1", '"1', 'W/ "1"', "**", '"a b"', "null", '*, "1"', '"1"' + " " * 1024])
async def test_a_malformed_precondition_is_422_and_changes_nothing(
    sqlite_client: Client, header: str, value: str
) -> None:
    client = sqlite_client
    item_id, _ = await created(client)
    before = await stored(client, item_id)
    method = "PATCH" if header == "If-Match" else "GET"
    body = {"name": "x"} if method == "PATCH" else None

    response = await client.request(method, f"{URL}/{item_id}", json=body, headers={header: value})

    assert response.status_code == 422
    problem = response.json()
    assert problem["type"].endswith("/validation-error")
    assert problem["errors"][0]["field"] == header
    assert await stored(client, item_id) == before


async def test_writes_without_if_match_behave_as_before(client: Client) -> None:
    item_id, _ = await created(client)
    assert (await client.patch(f"{URL}/{item_id}", json={"name": "Renamed"})).status_code == 200
    assert (await client.delete(f"{URL}/{item_id}")).status_code == 204
    assert (await client.delete(f"{URL}/{item_id}")).status_code == 404


async def test_with_require_if_match_a_write_without_it_is_428_and_changes_nothing(settings: Settings) -> None:
    required = Settings.from_environ({"DATABASE_URL": settings.database.url, "REQUIRE_IF_MATCH": "true"})
    async with AsyncTestClient(app=create_app(required)) as client:
        item_id, tag = await created(client)
        before = await stored(client, item_id)
        for method, body in (("PATCH", {"name": "x"}), ("PUT", ITEM), ("DELETE", None)):
            response = await client.request(method, f"{URL}/{item_id}", json=body)
            assert response.status_code == 428
            assert response.json()["type"].endswith("/precondition-required")
        assert await stored(client, item_id) == before
        assert (
            await client.patch(f"{URL}/{item_id}", json={"name": "x"}, headers={"If-Match": tag})
        ).status_code == 200


async def test_of_concurrent_edits_under_one_etag_exactly_one_wins(tmp_path: Path, database_url: str) -> None:
    with running_service({"DATABASE_URL": database_url, "ACCESS_LOG": "false"}, tmp_path / "log") as service:
        limits = httpx.Limits(max_connections=CONCURRENT_EDITS)
        async with httpx.AsyncClient(base_url=service.url, limits=limits, timeout=30) as http:
            response = await http.post(URL, json=ITEM)
            item_id, tag = response.json()["id"], response.headers["etag"]

            async def edit(number: int) -> httpx.Response:
                body = {"description": f"edit {number}"}
                return await http.patch(f"{URL}/{item_id}", json=body, headers={"If-Match": tag})

            responses = await asyncio.gather(*(edit(number) for number in range(CONCURRENT_EDITS)))
            final = (await http.get(f"{URL}/{item_id}")).json()

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [412] * (CONCURRENT_EDITS - 1)
    winner = next(response for response in responses if response.status_code == 200)
    assert final == winner.json()


async def test_the_api_document_declares_the_headers_and_answers(sqlite_client: Client) -> None:
    document = (await sqlite_client.get("/schema/openapi.json")).json()
    item = document["paths"]["/api/v1/items/{item_id}"]

    def headers(operation: dict[str, Any]) -> set[str]:
        return {parameter["name"] for parameter in operation["parameters"] if parameter["in"] == "header"}

    assert headers(item["get"]) == {"If-Match", "If-None-Match"}
    assert {"304", "200", "412"} <= set(item["get"]["responses"])
    assert "ETag" in item["get"]["responses"]["200"]["headers"]
    for method in ("put", "patch", "delete"):
        assert headers(item[method]) == {"If-Match", "If-None-Match"}
        assert {"412", "428"} <= set(item[method]["responses"])
    assert "ETag" in document["paths"]["/api/v1/items"]["post"]["responses"]["201"]["headers"]


def test_a_hostile_precondition_is_refused_at_once(tmp_path: Path) -> None:
    # Hundreds of empty list elements and a wrong last character: a pattern with two ways through each comma
    # took exponential time on this, and held the event loop (every request of the worker) meanwhile.
    hostile = ", " * 500 + "!"
    with running_service({"DATABASE_URL": f"sqlite:///{tmp_path / 'items.db'}"}, tmp_path / "log") as service:
        item = httpx.post(f"{service.url}{URL}", json=ITEM).json()
        for header, method in (("If-None-Match", "GET"), ("If-Match", "DELETE")):
            response = httpx.request(method, f"{service.url}{URL}/{item['id']}", headers={header: hostile}, timeout=5)
            assert response.status_code == 422


async def test_on_postgresql_a_change_made_without_the_version_still_changes_the_etag(postgres_url: str) -> None:
    # A replica of the previous release, still serving during a rollout, updates items without knowing of versions.
    settings = Settings.from_environ({"DATABASE_URL": postgres_url})
    async with AsyncTestClient(app=create_app(settings)) as client:
        item_id, tag = await created(client)
        connection = await asyncpg.connect(postgres_url)
        try:
            await connection.execute("UPDATE items SET name = 'by an older release' WHERE id = $1", UUID(item_id))
        finally:
            await connection.close()

        assert (await client.get(f"{URL}/{item_id}")).headers["etag"] != tag
        stale = await client.patch(f"{URL}/{item_id}", json={"name": "lost"}, headers={"If-Match": tag})
        assert stale.status_code == 412


async def test_on_postgresql_items_stored_before_versions_existed_get_the_first_one(postgres_url: str) -> None:
    connection = await asyncpg.connect(postgres_url)
    try:
        # The schema as the release before versions left it: migration 1, recorded, with an item in it.
        async with connection.transaction():
            await connection.execute(POSTGRES_MIGRATIONS[0].script)
            await connection.execute(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL "
                "DEFAULT now(), expand_only boolean NOT NULL DEFAULT false)"
            )
            await connection.execute("INSERT INTO schema_migrations (version) VALUES (1)")
            await connection.execute(
                "INSERT INTO items VALUES ('0193f0c4-7a51-7cc4-9a6e-3f1d2b8c4e10', 'old', '', now(), now())"
            )
    finally:
        await connection.close()

    async with AsyncTestClient(app=create_app(Settings.from_environ({"DATABASE_URL": postgres_url}))) as client:
        response = await client.get(f"{URL}/0193f0c4-7a51-7cc4-9a6e-3f1d2b8c4e10")
        assert (response.status_code, response.headers["etag"]) == (200, '"1"')


# Each write, and the body it sends.
WRITES: dict[str, dict[str, str] | None] = {
    "PUT": {"name": "Replaced", "description": ""},
    "PATCH": {"name": "Patched"},
    "DELETE": None,
}


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize("if_none_match", ["*", "{tag}", "W/{tag}", '"999", {tag}'])
async def test_a_write_whose_if_none_match_names_the_item_is_412_and_changes_nothing(
    client: Client, method: str, if_none_match: str
) -> None:
    # RFC 9110, section 13.1.2: If-None-Match is a precondition of a write too, false while the item is in a version
    # it names (weak comparison), or exists at all for *.
    item_id, tag = await created(client)
    headers = {"If-None-Match": if_none_match.format(tag=tag)}

    response = await client.request(method, f"{URL}/{item_id}", headers=headers, json=WRITES[method])

    assert response.status_code == 412, response.text
    assert response.json()["type"].endswith("/precondition-failed")
    after = await client.get(f"{URL}/{item_id}")
    assert after.headers["etag"] == tag
    assert after.json()["name"] == ITEM["name"]


@pytest.mark.parametrize("method", WRITES)
async def test_a_write_whose_if_none_match_names_another_version_goes_through(client: Client, method: str) -> None:
    item_id, tag = await created(client)
    await client.patch(f"{URL}/{item_id}", json={"description": "changed"})

    response = await client.request(method, f"{URL}/{item_id}", headers={"If-None-Match": tag}, json=WRITES[method])

    assert response.status_code == (204 if method == "DELETE" else 200), response.text


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize("if_none_match", ["*", '"1"'])
async def test_a_write_with_if_none_match_to_no_item_is_404(client: Client, method: str, if_none_match: str) -> None:
    response = await client.request(
        method, f"{URL}/{UUID(int=1)}", headers={"If-None-Match": if_none_match}, json=WRITES[method]
    )

    assert response.status_code == 404, response.text


async def test_if_match_and_if_none_match_together_must_both_hold(client: Client) -> None:
    item_id, tag = await created(client)

    both = await client.patch(f"{URL}/{item_id}", json={"name": "n"}, headers={"If-Match": tag, "If-None-Match": tag})
    then = await client.patch(f"{URL}/{item_id}", json={"name": "n"}, headers={"If-Match": tag, "If-None-Match": '"9"'})

    assert both.status_code == 412
    assert then.status_code == 200
