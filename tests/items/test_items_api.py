"""The items contract, run against every storage backend."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from tests.conftest import Client

URL = "/api/v1/items"


async def create(client: Client, name: str = "widget", description: str = "a thing") -> dict[str, Any]:
    response = await client.post(URL, json={"name": name, "description": description})
    assert response.status_code == 201, response.text
    item: dict[str, Any] = response.json()
    return item


async def test_create_returns_201_with_the_stored_item_and_its_location(client: Client) -> None:
    response = await client.post(URL, json={"name": "widget", "description": "a thing"})

    assert response.status_code == 201
    item = response.json()
    assert UUID(item["id"]).version == 7
    assert item["name"] == "widget"
    assert item["description"] == "a thing"
    assert item["created_at"] == item["updated_at"]
    assert response.headers["location"] == f"{URL}/{item['id']}"
    assert (await client.get(response.headers["location"])).json() == item


async def test_unicode_round_trips_exactly(client: Client) -> None:
    name = 'Zoë 🧪 名前 \\ " \u200b'
    description = "e\u0301 — ñ ✓ \n\t \u0001\u001f\u007f\u2028 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"

    item = await create(client, name, description)
    item_url = f"{URL}/{item['id']}"

    fetched = (await client.get(item_url)).json()
    listed = (await client.get(URL)).json()
    patched = (await client.patch(item_url, json={"name": name})).json()
    for answer in (item, fetched, *listed, patched):
        assert (answer["name"], answer["description"]) == (name, description)


async def test_field_lengths_at_their_limits_are_accepted(client: Client) -> None:
    item = await create(client, "n" * 200, "d" * 2000)

    assert len(item["name"]) == 200
    assert len(item["description"]) == 2000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "description": "d"}, "name"),
        ({"name": "n" * 201, "description": "d"}, "name"),
        ({"name": "n", "description": "d" * 2001}, "description"),
        ({"name": "n"}, "body"),
        ({"description": "d"}, "body"),
        ({"name": 5, "description": "d"}, "name"),
        ({"name": "n", "description": None}, "description"),
        ({"name": ["n"], "description": "d"}, "name"),
        ({"name": "nul\u0000", "description": "d"}, "name"),
        ({"name": "n", "description": "\u0000"}, "description"),
        ("just a string", "body"),
    ],
)
async def test_invalid_items_are_a_422_and_store_nothing(sqlite_client: Client, body: Any, field: str) -> None:
    client = sqlite_client  # refused before any store call: a defect here fails on either backend
    response = await client.post(URL, json=body)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    assert (await client.get(URL)).json() == []


async def test_get_an_unknown_item_is_a_404(client: Client) -> None:
    response = await client.get(f"{URL}/01890a5d-ac96-774b-bcce-b302099a8057")

    assert response.status_code == 404
    assert response.json()["type"].endswith("/item-not-found")


@pytest.mark.parametrize("item_id", ["42", "not-a-uuid", "01890a5d-ac96-774b-bcce-b302099a805", "%F0%9F%A7%AA"])
async def test_ids_that_are_not_uuids_are_a_404(client: Client, item_id: str) -> None:
    assert (await client.get(f"{URL}/{item_id}")).status_code == 404
    assert (await client.delete(f"{URL}/{item_id}")).status_code == 404


async def test_list_returns_a_bare_array_in_creation_order(client: Client) -> None:
    created = [await create(client, f"item {number}") for number in range(3)]

    response = await client.get(URL)

    assert response.status_code == 200
    assert response.json() == created
    assert "link" not in response.headers


async def test_put_replaces_both_fields(client: Client) -> None:
    item = await create(client)

    response = await client.put(f"{URL}/{item['id']}", json={"name": "new", "description": "fresh"})

    assert response.status_code == 200
    updated = response.json()
    assert (updated["name"], updated["description"]) == ("new", "fresh")
    assert updated["created_at"] == item["created_at"]
    assert updated["updated_at"] >= item["updated_at"]
    assert (await client.get(f"{URL}/{item['id']}")).json() == updated


async def test_put_requires_both_fields(client: Client) -> None:
    item = await create(client)

    response = await client.put(f"{URL}/{item['id']}", json={"name": "only"})

    assert response.status_code == 422
    assert (await client.get(f"{URL}/{item['id']}")).json() == item


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"name": "renamed"}, ("renamed", "a thing")),
        ({"description": ""}, ("widget", "")),
        ({"name": "both", "description": "changed"}, ("both", "changed")),
        ({}, ("widget", "a thing")),
    ],
)
async def test_patch_changes_only_the_fields_it_names(
    client: Client, patch: dict[str, str], expected: tuple[str, str]
) -> None:
    item = await create(client)

    response = await client.patch(f"{URL}/{item['id']}", json=patch)

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["description"]) == expected
    assert (await client.get(f"{URL}/{item['id']}")).json() == response.json()


@pytest.mark.parametrize("patch", [{"name": ""}, {"name": None}, {"description": 3}, {"description": "d" * 2001}])
async def test_invalid_patches_are_a_422_and_change_nothing(sqlite_client: Client, patch: dict[str, Any]) -> None:
    client = sqlite_client  # refused before any store call: a defect here fails on either backend
    item = await create(client)

    response = await client.patch(f"{URL}/{item['id']}", json=patch)

    assert response.status_code == 422
    assert (await client.get(f"{URL}/{item['id']}")).json() == item


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_changing_an_unknown_item_is_a_404(client: Client, method: str) -> None:
    body = {"name": "n", "description": "d"} if method != "DELETE" else None

    response = await client.request(method, f"{URL}/01890a5d-ac96-774b-bcce-b302099a8057", json=body)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_delete_removes_the_item(client: Client) -> None:
    item = await create(client)
    kept = await create(client, "kept")

    response = await client.delete(f"{URL}/{item['id']}")

    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"{URL}/{item['id']}")).status_code == 404
    assert (await client.delete(f"{URL}/{item['id']}")).status_code == 404
    assert (await client.get(URL)).json() == [kept]
