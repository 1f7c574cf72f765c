"""The benchmark compares like with like: its reference apps answer every scenario as the service does."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.bench import baseline, framework
from tests.bench.bench import SCENARIOS, Scenario
from tests.conftest import Client

NEW_ITEM = {"name": "reference", "description": "an item to read"}


def shape(value: Any) -> Any:
    """The JSON document with its values replaced by their types, and each array by its first member:
    ids, times and how many items each app holds differ, shapes must not."""
    if isinstance(value, dict):
        return {key: shape(member) for key, member in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [shape(member) for member in value[:1]]  # pyright: ignore[reportUnknownVariableType]
    return type(value).__name__


async def answer(client: Any, scenario: Scenario) -> tuple[int, Any, str | None, bool]:
    """The status, the body's shape and the ETag of the scenario's request; whether its repeat answers the same."""
    created = await client.post("/api/v1/items", json=NEW_ITEM)
    path = scenario.path.replace("{id}", created.json()["id"])
    headers = scenario.headers | ({"Idempotency-Key": "reference"} if scenario.new_idempotency_keys else {})

    async def send() -> Any:
        return await client.request(scenario.method, path, content=scenario.body or None, headers=headers)

    response, repeat = await send(), await send()
    body = shape(response.json()) if response.content else None
    return response.status_code, body, response.headers.get("etag"), repeat.content == response.content


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
@pytest.mark.parametrize("reference", [baseline.app, framework.app], ids=["baseline", "framework"])
async def test_reference_answers_like_the_service(sqlite_client: Client, reference: Any, scenario: Scenario) -> None:
    async with AsyncTestClient(app=reference) as reference_client:
        assert await answer(reference_client, scenario) == await answer(sqlite_client, scenario)
