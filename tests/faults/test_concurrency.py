"""Many concurrent writers through real HTTP: every acknowledged write is stored, once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.service import TLS, running_service

CREATES = 300
UPDATES_PER_ITEM = 20
CONCURRENCY = 64

Result = TypeVar("Result")


async def on_connections(url: str, calls: list[Callable[[httpx.AsyncClient], Awaitable[Result]]]) -> list[Result]:
    """Make `calls` over CONCURRENCY connections at once, each a client of its own, and give their results in order.

    With one client and a pool of CONCURRENCY connections, httpcore, not the service, was the cost of this test: it
    walks every connection for every waiting request whenever one frees.
    """
    results: list[Result | None] = [None] * len(calls)

    async def connection(first: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30, verify=TLS) as client:
            for number in range(first, len(calls), CONCURRENCY):
                results[number] = await calls[number](client)

    await asyncio.gather(*(connection(first) for first in range(CONCURRENCY)))
    return [result for result in results if result is not None]


async def hammer(url: str) -> None:
    def create(number: int) -> Callable[[httpx.AsyncClient], Awaitable[dict[str, Any]]]:
        async def call(client: httpx.AsyncClient) -> dict[str, Any]:
            response = await client.post("/api/v1/items", json={"name": f"item {number}", "description": ""})
            assert response.status_code == 201
            item: dict[str, Any] = response.json()
            return item

        return call

    created = await on_connections(url, [create(number) for number in range(CREATES)])
    assert len(created) == CREATES
    targets = created[:5]

    def update(item: dict[str, Any], round_number: int) -> Callable[[httpx.AsyncClient], Awaitable[str]]:
        async def call(client: httpx.AsyncClient) -> str:
            description = f"update {round_number}"
            response = await client.patch(f"/api/v1/items/{item['id']}", json={"description": description})
            assert response.status_code == 200
            return description

        return call

    await on_connections(url, [update(item, number) for item in targets for number in range(UPDATES_PER_ITEM)])

    async with httpx.AsyncClient(base_url=url, timeout=30, verify=TLS) as client:
        listed: list[dict[str, Any]] = (await client.get("/api/v1/items", params={"limit": 500})).json()
        ids = [item["id"] for item in listed]
        assert len(ids) == len(set(ids)) == CREATES, "nothing duplicated, nothing lost"
        assert set(ids) == {item["id"] for item in created}
        for item in targets:
            stored = (await client.get(f"/api/v1/items/{item['id']}")).json()
            assert stored["name"] == item["name"], "a patch of the description must not touch the name"
            assert stored["description"].startswith("update ")


async def test_concurrent_creates_and_updates_lose_and_duplicate_nothing(tmp_path: Path, database_url: str) -> None:
    with running_service({"DATABASE_URL": database_url, "ACCESS_LOG": "false"}, tmp_path / "log") as service:
        await hammer(service.url)
        assert service.stop() == 0
