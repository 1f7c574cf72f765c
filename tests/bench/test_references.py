"""The benchmark compares like with like: its reference apps answer every scenario as the service does."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from tests.bench import baseline, framework
from tests.bench.bench import SCENARIOS, Scenario
from tests.conftest import Client
from tests.service import free_port

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


async def test_the_logged_reference_answers_like_the_service_and_writes_one_json_line_a_request(
    sqlite_client: Client, tmp_path: Path
) -> None:
    # In a process of its own: its StructlogPlugin configures structlog for the whole process it runs in.
    port = free_port()
    log = tmp_path / "logged.log"
    command = [sys.executable, "-m", "uvicorn", "--port", str(port), "--no-access-log", "--factory"]
    command.append("tests.bench.framework:logged")
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(*command, stdout=output, stderr=asyncio.subprocess.STDOUT)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(100):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/health")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            for scenario in SCENARIOS:
                assert await answer(client, scenario) == await answer(sqlite_client, scenario), scenario.name
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "request"]
    assert len(requests) >= 3 * len(SCENARIOS)  # each answer() sends three
    assert all(isinstance(line["status"], int) and line["path"].startswith("/") for line in requests)
