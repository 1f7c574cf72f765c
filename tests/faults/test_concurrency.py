"""Many concurrent writers through real HTTP: every acknowledged write is stored, once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.service import running_service

CREATES = 300
UPDATES_PER_ITEM = 20
CONCURRENCY = 64


async def hammer(url: str) -> None:
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def create(number: int) -> dict[str, Any]:
            response = await client.post("/api/v1/items", json={"name": f"item {number}", "description": ""})
            assert response.status_code == 201
            item: dict[str, Any] = response.json()
            return item

        created = await asyncio.gather(*(create(number) for number in range(CREATES)))
        targets = created[:5]

        async def update(item: dict[str, Any], round_number: int) -> str:
            description = f"update {round_number}"
            response = await client.patch(f"/api/v1/items/{item['id']}", json={"description": description})
            assert response.status_code == 200
            return description

        updates = [update(item, number) for item in targets for number in range(UPDATES_PER_ITEM)]
        await asyncio.gather(*updates)

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
