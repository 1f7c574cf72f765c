"""Every pooled PostgreSQL connection held by a slow request: the next is a quick 503, and readiness holds."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.service import running_service

POOL_TIMEOUT_S = 0.3


@pytest.mark.measure_subprocesses
@pytest.mark.parametrize("pool_size", [1, 3])
async def test_a_request_that_finds_every_connection_busy_is_503_within_the_pool_timeout(
    tmp_path: Path, postgres_url: str, pool_size: int
) -> None:
    environ = {
        "DATABASE_URL": postgres_url,
        "DATABASE_POOL_SIZE": str(pool_size),
        "DATABASE_POOL_TIMEOUT": str(POOL_TIMEOUT_S),
    }
    with running_service(environ, tmp_path / "log") as service:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            assert (await client.get("/api/v1/items")).status_code == 200  # the table exists
            blocker = await asyncpg.connect(postgres_url)
            transaction = blocker.transaction()
            await transaction.start()
            # Every read of items now waits for this lock, holding its pooled connection meanwhile.
            await blocker.execute("LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
            slow = [asyncio.create_task(client.get("/api/v1/items")) for _ in range(pool_size)]
            await asyncio.sleep(0.5)  # each has its connection, and waits on the lock

            started = time.monotonic()
            refused = await client.get("/api/v1/items")
            waited = time.monotonic() - started
            ready = await client.get("/health/ready")

            await transaction.rollback()
            await blocker.close()
            served = await asyncio.gather(*slow)

    assert refused.status_code == 503, refused.text
    assert refused.json()["type"].endswith("/storage-busy"), refused.text
    assert refused.headers["retry-after"] == "1"
    assert POOL_TIMEOUT_S <= waited < POOL_TIMEOUT_S + 2
    assert ready.status_code == 200, "a busy pool made a healthy replica look unready"
    assert [response.status_code for response in served] == [200] * pool_size
