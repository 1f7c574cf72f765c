"""A client's first session with the service, through the package openapi-python-client generated.

tests/test_openapi.py runs this script in a subprocess, with the package `items_client` on PYTHONPATH
and the service's URL as its argument, followed by an access token when the service checks them; a
failed assertion exits non-zero. The package exists only
once generated, so pyright cannot see its types here.
"""
# pyright: basic, reportMissingImports=false

from __future__ import annotations

import re
import sys
from typing import Any
from uuid import uuid4

import httpx
from items_client import AuthenticatedClient, Client
from items_client.api.calculate import calculate
from items_client.api.items import create_item, delete_item, get_item, list_items, update_item
from items_client.models import (
    CalculationRequest,
    CalculationRequestOperation,
    CalculationResult,
    Item,
    ItemCreate,
    ItemPatch,
    Problem,
)

PROBLEM_TYPE_PREFIX = "tag:items-service,2026:problems/"
NEXT_LINK = re.compile(r'<(?P<url>[^>]+)>; rel="next"')


def create(client: Client, name: str) -> Item:
    response = create_item.sync_detailed(client=client, body=ItemCreate(name=name, description=f"about {name}"))
    item = response.parsed
    assert response.status_code == 201, response
    assert isinstance(item, Item), item
    assert response.headers["Location"] == f"/api/v1/items/{item.id}"
    return item


def check_items(client: Client) -> None:
    first, second = create(client, "first"), create(client, "second")
    assert get_item.sync(client=client, item_id=str(first.id)) == first

    page = list_items.sync_detailed(client=client, limit=1)
    assert page.parsed == [first]
    link = NEXT_LINK.fullmatch(page.headers["Link"])
    assert link is not None, page.headers["Link"]
    next_page = client.get_httpx_client().get(link["url"])
    assert [Item.from_dict(entry) for entry in next_page.json()] == [second]
    assert "Link" not in next_page.headers

    deleted = delete_item.sync_detailed(client=client, item_id=str(second.id))
    assert deleted.status_code == 204, deleted


def check_conditional_update(client: Client) -> None:
    item = create(client, "edited")
    read = get_item.sync_detailed(client=client, item_id=str(item.id))
    etag = read.headers["ETag"]

    updated = update_item.sync_detailed(
        client=client, item_id=str(item.id), body=ItemPatch(name="edited once"), if_match=etag
    )
    assert updated.status_code == 200, updated
    assert updated.headers["ETag"] != etag
    # A second edit from the same stale copy would overwrite the first: refused, and nothing changes.
    stale = update_item.sync(client=client, item_id=str(item.id), body=ItemPatch(name="lost"), if_match=etag)
    check_problem(stale, 412, "precondition-failed")
    current = get_item.sync(client=client, item_id=str(item.id))
    assert isinstance(current, Item), current
    assert current.name == "edited once"


def check_idempotent_create(client: Client) -> None:
    # A create whose answer was lost (a timeout, a dropped connection) is sent again under the same key.
    key = str(uuid4())
    body = ItemCreate(name="ordered once", description="retried")
    first = create_item.sync_detailed(client=client, body=body, idempotency_key=key)
    retried = create_item.sync_detailed(client=client, body=body, idempotency_key=key)
    assert (first.status_code, retried.status_code) == (201, 201), (first, retried)
    assert retried.parsed == first.parsed
    assert retried.headers["Location"] == first.headers["Location"]
    other = ItemCreate(name="something else", description="")
    check_problem(create_item.sync(client=client, body=other, idempotency_key=key), 422, "idempotency-key-reused")
    check_problem(create_item.sync(client=client, body=body, idempotency_key=""), 400, "idempotency-key-malformed")


def check_calculate(client: Client) -> None:
    request = CalculationRequest(a=6, b=7, operation=CalculationRequestOperation.MULTIPLY)
    result = calculate.sync(client=client, body=request)
    assert isinstance(result, CalculationResult), result
    assert result.result == 42


def check_problem(problem: Any, status: int, slug: str) -> Problem:
    assert isinstance(problem, Problem), problem
    assert (problem.status, problem.type_) == (status, PROBLEM_TYPE_PREFIX + slug)
    assert problem.detail
    return problem


def check_problems(client: Client) -> None:
    check_problem(get_item.sync(client=client, item_id=str(uuid4())), 404, "item-not-found")
    division = CalculationRequest(a=1, b=0, operation=CalculationRequestOperation.DIVIDE)
    check_problem(calculate.sync(client=client, body=division), 400, "division-by-zero")
    invalid = check_problem(
        create_item.sync(client=client, body=ItemCreate(name="", description="")), 422, "validation-error"
    )
    assert [error.field for error in invalid.errors] == ["name"]


def check_access_refused(url: str) -> None:
    with Client(base_url=url, timeout=httpx.Timeout(5), raise_on_unexpected_status=True) as anonymous:
        problem = check_problem(list_items.sync(client=anonymous), 401, "authentication-required")
        assert "Bearer" in problem.detail


def main(url: str, token: str | None) -> None:
    # Undocumented statuses raise instead of parsing as None: the document must list every answer.
    options: dict[str, Any] = {"base_url": url, "timeout": httpx.Timeout(5), "raise_on_unexpected_status": True}
    # The generated AuthenticatedClient sends `Authorization: Bearer <token>` with every call.
    with AuthenticatedClient(token=token, **options) if token else Client(**options) as client:
        check_items(client)
        check_conditional_update(client)
        check_idempotent_create(client)
        check_calculate(client)
        check_problems(client)
    if token:
        check_access_refused(url)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
