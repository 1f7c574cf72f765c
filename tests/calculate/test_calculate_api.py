from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Client

URL = "/api/v1/calculate"


async def calculate(client: Client, body: Any) -> tuple[int, Any]:
    response = await client.post(URL, json=body)
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("a", "b", "operation", "result"),
    [
        (2, 3, "add", 5),
        (2, 3, "subtract", -1),
        (4, 3, "multiply", 12),
        (7, 2, "divide", 3.5),
        (6, 3, "divide", 2.0),
        (0.1, 0.2, "add", 0.30000000000000004),
        (2.5, 4, "multiply", 10.0),
        (-(2**62), -(2**62), "add", -(2**63)),
        (2**31, 2**31, "multiply", 2**62),
    ],
)
async def test_calculates_and_echoes_the_operands(
    sqlite_client: Client, a: float, b: float, operation: str, result: float
) -> None:
    status, body = await calculate(sqlite_client, {"a": a, "b": b, "operation": operation})

    assert status == 200
    assert body == {"a": a, "b": b, "operation": operation, "result": result}
    assert type(body["result"]) is type(result)


async def test_integer_operands_give_exact_integer_results(sqlite_client: Client) -> None:
    status, body = await calculate(sqlite_client, {"a": 2**53 + 1, "b": 2**53, "operation": "add"})

    assert status == 200
    assert body["result"] == 2**54 + 1


async def test_divide_returns_a_float_even_for_integers(sqlite_client: Client) -> None:
    response = await sqlite_client.post(URL, json={"a": 6, "b": 3, "operation": "divide"})

    assert b'"result":2.0' in response.content


@pytest.mark.parametrize("zero", [0, 0.0, -0.0])
async def test_division_by_zero_is_a_400_problem(sqlite_client: Client, zero: float) -> None:
    response = await sqlite_client.post(URL, json={"a": 1, "b": zero, "operation": "divide"})

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/division-by-zero")
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("a", "b", "operation"),
    [
        (2**62, 2**62, "add"),
        (-(2**63), 1, "subtract"),
        (2**32, 2**32, "multiply"),
        (1e308, 1e308, "add"),
        (1e308, 10, "multiply"),
        (1e308, 1e-308, "divide"),
    ],
)
async def test_results_out_of_range_are_a_400_problem_not_infinity(
    sqlite_client: Client, a: float, b: float, operation: str
) -> None:
    response = await sqlite_client.post(URL, json={"a": a, "b": b, "operation": operation})

    assert response.status_code == 400
    assert response.json()["type"].endswith("/result-out-of-range")
    assert b"Infinity" not in response.content


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"a": "5", "b": 1, "operation": "add"}, "a"),
        ({"a": 5, "b": "1.5", "operation": "add"}, "b"),
        ({"a": True, "b": 1, "operation": "add"}, "a"),
        ({"a": None, "b": 1, "operation": "add"}, "a"),
        ({"a": [1], "b": 1, "operation": "add"}, "a"),
        ({"a": {"n": 1}, "b": 1, "operation": "add"}, "a"),
        ({"a": 1, "b": 1, "operation": "power"}, "operation"),
        ({"a": 1, "b": 1, "operation": "ADD"}, "operation"),
        ({"a": 1, "operation": "add"}, "body"),
        ({"a": 2**63, "b": 1, "operation": "add"}, "body"),
        ({"a": 1, "b": -(2**63) - 1, "operation": "add"}, "body"),
        ([1, 2, "add"], "body"),
    ],
)
async def test_operands_must_be_json_numbers_and_fields_valid_or_422(
    sqlite_client: Client, body: Any, field: str
) -> None:
    status, problem = await calculate(sqlite_client, body)

    assert status == 422
    assert problem["type"].endswith("/validation-error")
    assert problem["errors"][0]["field"] == field
    assert problem["errors"][0]["message"]


async def test_a_number_beyond_the_float_range_is_a_422(sqlite_client: Client) -> None:
    response = await sqlite_client.post(
        URL, content=b'{"a": 1e999, "b": 1, "operation": "add"}', headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "a"
