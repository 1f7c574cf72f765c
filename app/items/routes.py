"""The items API: /api/v1/items, each operation behind the scope it needs where tokens are checked."""

from __future__ import annotations

import base64
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Request, Response, Router, delete, get, patch, post, put
from litestar.datastructures import ResponseHeader
from litestar.params import JSONBody, Parameter

from app.auth.access import ITEMS_READ, ITEMS_WRITE, AccessRules
from app.http.problems import problem_responses
from app.items.errors import ItemNotFound
from app.items.models import Item, ItemCreate, ItemPatch, new_item
from app.items.store import store_of

ItemId = Annotated[str, Parameter(description="The item's id (a UUID).")]
Limit = Annotated[int, Parameter(ge=1, le=500, description="How many items a page holds at most.")]
Cursor = Annotated[
    str | None,
    Parameter(
        description="Where the page starts: copy it from the `Link` header of the previous page.",
        pattern=r"^[A-Za-z0-9_-]{22}$",
    ),
]

# Litestar gives a documented header the schema of its `value`'s type, and never sends a
# documentation-only value: these values exist so the headers are typed as strings.
LOCATION_HEADER = ResponseHeader(
    name="Location",
    value="/api/v1/items/{id}",
    documentation_only=True,
    required=True,
    description="The new item's URL.",
)
LINK_HEADER = ResponseHeader(
    name="Link",
    value='<http://host/api/v1/items?limit=50&cursor=...>; rel="next"',
    documentation_only=True,
    description="RFC 8288 link to the next page, present when more items follow.",
)

ITEMS_PATH = "/api/v1/items"

AnyRequest = Request[Any, Any, Any]

# Every operation may find the database unreachable: 503.
BODY_ERRORS = (
    HTTPStatus.BAD_REQUEST,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    HTTPStatus.UNPROCESSABLE_ENTITY,
    HTTPStatus.SERVICE_UNAVAILABLE,
)


async def create_item(data: JSONBody[ItemCreate], request: AnyRequest) -> Response[Item]:
    item = new_item(data.name, data.description)
    await store_of(request).add(item)
    return Response(item, status_code=HTTPStatus.CREATED, headers={"Location": f"{ITEMS_PATH}/{item.id}"})


async def list_items(request: AnyRequest, limit: Limit = 50, cursor: Cursor = None) -> Response[list[Item]]:
    after = None if cursor is None else decode_cursor(cursor)
    # One more than asked tells whether another page follows without a second query.
    items = await store_of(request).list_after(after, limit + 1)
    headers: dict[str, str] = {}
    if len(items) > limit:
        items = items[:limit]
        next_query = urlencode({"limit": limit, "cursor": encode_cursor(items[-1].id)})
        url = request.url
        headers["Link"] = f'<{url.scheme}://{url.netloc}{url.path}?{next_query}>; rel="next"'
    return Response(items, headers=headers)


async def get_item(item_id: ItemId, request: AnyRequest) -> Item:
    return await store_of(request).get(parse_item_id(item_id))


async def replace_item(item_id: ItemId, data: JSONBody[ItemCreate], request: AnyRequest) -> Item:
    return await store_of(request).update(
        parse_item_id(item_id), ItemPatch(name=data.name, description=data.description)
    )


async def update_item(item_id: ItemId, data: JSONBody[ItemPatch], request: AnyRequest) -> Item:
    return await store_of(request).update(parse_item_id(item_id), data)


async def delete_item(item_id: ItemId, request: AnyRequest) -> None:
    await store_of(request).delete(parse_item_id(item_id))


def item_routes(access: AccessRules) -> Router:
    """The operations under /api/v1/items: reading needs items:read, changing needs items:write."""
    read, write = access.requires(ITEMS_READ), access.requires(ITEMS_WRITE)
    one = "/{item_id:str}"
    body_errors = (*access.refusals, *BODY_ERRORS)
    not_found = (*access.refusals, HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND, HTTPStatus.SERVICE_UNAVAILABLE)
    return Router(
        path=ITEMS_PATH,
        tags=["items"],
        route_handlers=[
            post(
                "",
                operation_id="createItem",
                summary="Create an item",
                response_headers=[LOCATION_HEADER],
                responses=problem_responses(*body_errors),
                **write,
            )(create_item),
            get(
                "",
                operation_id="listItems",
                summary="List items",
                description="Items in creation order, a page at a time. When more follow, the `Link` header "
                'holds the next page\'s URL with `rel="next"`.',
                response_headers=[LINK_HEADER],
                responses=problem_responses(
                    *access.refusals,
                    HTTPStatus.BAD_REQUEST,
                    HTTPStatus.UNPROCESSABLE_ENTITY,
                    HTTPStatus.SERVICE_UNAVAILABLE,
                ),
                **read,
            )(list_items),
            get(one, operation_id="getItem", summary="Read an item", responses=problem_responses(*not_found), **read)(
                get_item
            ),
            put(
                one,
                operation_id="replaceItem",
                summary="Replace an item",
                responses=problem_responses(HTTPStatus.NOT_FOUND, *body_errors),
                **write,
            )(replace_item),
            patch(
                one,
                operation_id="updateItem",
                summary="Update some fields of an item",
                responses=problem_responses(HTTPStatus.NOT_FOUND, *body_errors),
                **write,
            )(update_item),
            delete(
                one,
                operation_id="deleteItem",
                summary="Delete an item",
                responses=problem_responses(*not_found),
                **write,
            )(delete_item),
        ],
    )


def parse_item_id(raw: str) -> UUID:
    """An id that is not a UUID names no item: 404, as for any unknown id."""
    try:
        return UUID(raw)
    except ValueError:
        raise ItemNotFound(raw) from None


def encode_cursor(last_id: UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> UUID:
    # The parameter's pattern admits exactly 22 base64url characters, which always decode to 16 bytes.
    return UUID(bytes=base64.urlsafe_b64decode(cursor + "=="))
