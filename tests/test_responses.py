"""JSONResponse answers exactly as Litestar's Response would, on its fast path and off it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
import pytest
from litestar import Litestar, Response, get
from litestar.datastructures import Cookie
from litestar.params import Parameter
from litestar.testing import AsyncTestClient

from app.responses import JSONResponse


class Thing(msgspec.Struct):
    id: UUID
    at: datetime
    names: list[str]


THING = Thing(UUID("01890a5d-ac96-774b-bcce-b302099a8057"), datetime(2026, 11, 26, 8, 0, tzinfo=UTC), ["a", "é"])

Case = Annotated[str, Parameter()]


def year_of(moment: datetime) -> int:
    return moment.year


ResponseClass = type[Response[Any]]
CASES: dict[str, Callable[[ResponseClass], Response[Any]]] = {
    "struct": lambda cls: cls(THING),
    "status and headers": lambda cls: cls(THING, status_code=201, headers={"Location": "/things/1", "X-A": "b"}),
    "problem media type": lambda cls: cls({"status": 503}, status_code=503, media_type="application/problem+json"),
    "bytes": lambda cls: cls(b'{"raw":true}'),
    "no content": lambda cls: cls(None, status_code=204),
    "text": lambda cls: cls("plain words", media_type="text/plain"),
    "cookies": lambda cls: cls(THING, cookies=[Cookie(key="session", value="s1")]),
    "cookie mapping": lambda cls: cls(THING, cookies={"session": "s1"}),
    "header list": lambda cls: cls(THING, headers=[]),
    "type encoders": lambda cls: cls({"at": THING.at}, type_encoders={datetime: year_of}),
}


def app_answering_with(response_class: ResponseClass) -> Litestar:
    def answer(case: str) -> Response[Any]:
        return CASES[case](response_class)

    @get("/{case:str}", sync_to_thread=False)
    def by_get(case: Case) -> Response[Any]:
        return answer(case)

    return Litestar([by_get], response_class=response_class, openapi_config=None, logging_config=None)


async def answers(response_class: ResponseClass, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
    async with AsyncTestClient(app_answering_with(response_class)) as client:
        response = await client.get(path)
    headers = sorted((name, value) for name, value in response.headers.multi_items() if name != "date")
    return response.status_code, headers, response.content


@pytest.mark.parametrize("path", [f"/{case}" for case in CASES])
async def test_json_response_answers_as_litestar_does(path: str) -> None:
    ours = await answers(JSONResponse, path)

    assert ours == await answers(Response, path)
    assert ours[0] != 500, "the case itself must answer, not fail"
