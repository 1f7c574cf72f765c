"""The items API: /api/v1/items, reading under items:read (or items:write) and changing under items:write where tokens
are checked."""

from __future__ import annotations

import base64
from http import HTTPStatus
from typing import Annotated, Any, cast
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter

from app.auth.access import caller_of, requires
from app.http.conditional import (
    MAX_PRECONDITION_LENGTH,
    PRECONDITION_PATTERN,
    entity_tag,
    must_match,
    none_match,
)
from app.http.errors import RepeatedHeader
from app.http.injected import Injected
from app.http.problems import ProblemType, problem_handlers, problem_responses
from app.items.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyMalformed,
    IdempotencyKeyReused,
    ItemInUnwantedVersion,
    ItemNotFound,
    ItemVersionMismatch,
    TenantUnknown,
)
from app.items.idempotency import IdempotencyKeyHeader
from app.items.models import Item, ItemCreate, ItemPatch, replacement
from app.items.service import ItemService
from app.items.store import FIRST_VERSION

ITEMS_PATH = "/api/v1/items"
ITEMS_READ = "items:read"
# A write answers with the item, so a token that may write may read: reading under items:write alone, not only
# through a write's answer (a PATCH of nothing was a read that bumped the version).
ITEMS_WRITE = "items:write"
ONE_ITEM = "/{item_id:str}"

ItemId = Annotated[str, PathParameter(description="The item's id (a UUID).")]
# Strings, absent as empty (an empty list names no tag either): "null" is no value these headers can have.
IfMatch = Annotated[
    str,
    HeaderParameter(
        name="If-Match",
        pattern=PRECONDITION_PATTERN,
        max_length=MAX_PRECONDITION_LENGTH,
        description='Only while the item is in this version: the `ETag` last read (`"3"`), a list of them, or `*` '
        "for any existing version. Otherwise 412, and a write changes nothing.",
    ),
]
IfNoneMatch = Annotated[
    str,
    HeaderParameter(
        name="If-None-Match",
        pattern=PRECONDITION_PATTERN,
        max_length=MAX_PRECONDITION_LENGTH,
        description="The `ETag` of the copy the client holds: a read is a 304 without a body while the item is in that "
        "version; a write is a 412 and changes nothing (`*`: while the item exists).",
    ),
]
Limit = Annotated[int, QueryParameter(ge=1, le=500, description="How many items a page holds at most.")]
Cursor = Annotated[
    str | None,
    QueryParameter(
        description="Where the page starts: copy it from the `Link` header of the previous page.",
        pattern=r"^[A-Za-z0-9_-]{22}$",
    ),
]

# Litestar gives a documented header the schema of its `value`'s type, and never sends a
# documentation-only value: these values exist so the headers are typed as strings.
LOCATION_HEADER = ResponseHeader(
    name="Location",
    value=f"{ITEMS_PATH}/{{id}}",
    documentation_only=True,
    required=True,
    description="The new item's URL.",
)
LINK_HEADER = ResponseHeader(
    name="Link",
    value=f'<{ITEMS_PATH}?limit=50&cursor=...>; rel="next"',
    documentation_only=True,
    description="RFC 8288 link to the next page, present when more items follow: a reference relative to the "
    "request's URL.",
)
ETAG_HEADER = ResponseHeader(
    name="ETag",
    value='"1"',
    documentation_only=True,
    required=True,
    description="The item's version, a strong entity tag: send it in If-Match to change the item only in that version.",
)
NOT_MODIFIED = ResponseSpec(
    data_container=None,
    description="Not Modified: the item is still in the version If-None-Match names (its ETag, no body).",
    generate_examples=False,
)

# Every operation may find the database unreachable: 503.
BODY_ERRORS = (
    HTTPStatus.BAD_REQUEST,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    HTTPStatus.UNPROCESSABLE_ENTITY,
    HTTPStatus.SERVICE_UNAVAILABLE,
)
# 422: an If-Match or If-None-Match that is no list of entity tags.
READ_ERRORS = (
    HTTPStatus.BAD_REQUEST,
    HTTPStatus.NOT_FOUND,
    HTTPStatus.UNPROCESSABLE_ENTITY,
    HTTPStatus.SERVICE_UNAVAILABLE,
)
# A write under If-Match that names no current version; one without it where REQUIRE_IF_MATCH is set.
CONDITIONAL_ERRORS = (HTTPStatus.PRECONDITION_FAILED, HTTPStatus.PRECONDITION_REQUIRED)

PROBLEMS: dict[type[Exception], ProblemType] = {
    ItemNotFound: ProblemType(HTTPStatus.NOT_FOUND, "item-not-found"),
    ItemVersionMismatch: ProblemType(HTTPStatus.PRECONDITION_FAILED, "precondition-failed"),
    ItemInUnwantedVersion: ProblemType(HTTPStatus.PRECONDITION_FAILED, "precondition-failed"),
    IdempotencyKeyMalformed: ProblemType(HTTPStatus.BAD_REQUEST, "idempotency-key-malformed"),
    IdempotencyKeyReused: ProblemType(HTTPStatus.UNPROCESSABLE_ENTITY, "idempotency-key-reused"),
    IdempotencyKeyInUse: ProblemType(HTTPStatus.CONFLICT, "idempotency-key-in-use", retry_after=1),
    TenantUnknown: ProblemType(HTTPStatus.FORBIDDEN, "tenant-unknown"),
}


class ItemController(Controller):
    path = ITEMS_PATH
    tags = ["items"]  # noqa: RUF012 - Litestar's declaration
    exception_handlers = problem_handlers(PROBLEMS)

    @post(
        operation_id="createItem",
        summary="Create an item",
        description="With an `Idempotency-Key`, retries of a create that timed out or failed are safe: "
        "the item is created once, and every retry answers the original 201.",
        response_headers=[LOCATION_HEADER, ETAG_HEADER],
        # 400 also for a malformed Idempotency-Key, 422 for a key reused with another body.
        responses=problem_responses(*BODY_ERRORS, HTTPStatus.CONFLICT),
        opt=requires(ITEMS_WRITE),
    )
    async def create_item(
        self,
        data: JSONBody[ItemCreate],
        items: Injected[ItemService],
        request: Request[Any, Any, Any],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[Item]:
        if idempotency_key is not None and sum(name == b"idempotency-key" for name, _ in request.scope["headers"]) > 1:
            raise RepeatedHeader("Idempotency-Key")
        return created(await items.create(data, idempotency_key, caller_of(request.scope)))

    @get(
        operation_id="listItems",
        summary="List items",
        description="Items in creation order, a page at a time. When more follow, the `Link` header "
        'holds the next page\'s URL with `rel="next"`.',
        response_headers=[LINK_HEADER],
        responses=problem_responses(
            HTTPStatus.BAD_REQUEST, HTTPStatus.UNPROCESSABLE_ENTITY, HTTPStatus.SERVICE_UNAVAILABLE
        ),
        opt=requires(ITEMS_READ, ITEMS_WRITE),
    )
    async def list_items(
        self,
        items: Injected[ItemService],
        request: Request[Any, Any, Any],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[list[Item]]:
        after = None if cursor is None else decode_cursor(cursor)
        # One more than asked tells whether another page follows without a second query.
        page = await items.list_after(after, limit + 1, caller_of(request.scope))
        headers: dict[str, str] = {}
        if len(page) > limit:
            page = page[:limit]
            # A reference relative to the request (RFC 8288, section 3.1): right behind any proxy and any TLS, and
            # never an echo of whatever Host the client sent. A number and base64url need no escaping: no urlencode,
            # and no URL object built from the scope (together 5% of a page's time, tests/bench/README.md).
            root_path: str = request.scope.get("root_path", "")  # pyright: ignore[reportUnknownMemberType] - optional in ASGI
            path = root_path + ITEMS_PATH
            headers["Link"] = f'<{path}?limit={limit}&cursor={encode_cursor(page[-1].id)}>; rel="next"'
        return Response(page, headers=headers)

    @get(
        ONE_ITEM,
        operation_id="getItem",
        summary="Read an item",
        response_headers=[ETAG_HEADER],
        responses={HTTPStatus.NOT_MODIFIED.value: NOT_MODIFIED}
        | problem_responses(*READ_ERRORS, HTTPStatus.PRECONDITION_FAILED),
        opt=requires(ITEMS_READ, ITEMS_WRITE),
    )
    async def get_item(
        self,
        item_id: ItemId,
        items: Injected[ItemService],
        request: Request[Any, Any, Any],
        if_match: IfMatch = "",
        if_none_match: IfNoneMatch = "",
    ) -> Response[Item]:
        item, version = await items.get(parse_item_id(item_id), caller_of(request.scope))
        # RFC 9110, section 13.2.2: If-Match first, then If-None-Match.
        must_match(if_match, version)
        if none_match(if_none_match, version):
            return not_modified(version)
        return with_entity_tag(item, version)

    @put(
        ONE_ITEM,
        operation_id="replaceItem",
        summary="Replace an item",
        response_headers=[ETAG_HEADER],
        responses=problem_responses(HTTPStatus.NOT_FOUND, *CONDITIONAL_ERRORS, *BODY_ERRORS),
        opt=requires(ITEMS_WRITE),
    )
    async def replace_item(
        self,
        item_id: ItemId,
        data: JSONBody[ItemCreate],
        items: Injected[ItemService],
        request: Request[Any, Any, Any],
        if_match: IfMatch = "",
        if_none_match: IfNoneMatch = "",
    ) -> Response[Item]:
        preconditions = items.write_preconditions(if_match, if_none_match)
        caller = caller_of(request.scope)
        return with_entity_tag(*await items.update(parse_item_id(item_id), replacement(data), caller, preconditions))

    @patch(
        ONE_ITEM,
        operation_id="updateItem",
        summary="Update some fields of an item",
        response_headers=[ETAG_HEADER],
        responses=problem_responses(HTTPStatus.NOT_FOUND, *CONDITIONAL_ERRORS, *BODY_ERRORS),
        opt=requires(ITEMS_WRITE),
    )
    async def update_item(
        self,
        item_id: ItemId,
        data: JSONBody[ItemPatch],
        items: Injected[ItemService],
        request: Request[Any, Any, Any],
        if_match: IfMatch = "",
        if_none_match: IfNoneMatch = "",
    ) -> Response[Item]:
        preconditions = items.write_preconditions(if_match, if_none_match)
        caller = caller_of(request.scope)
        return with_entity_tag(*await items.update(parse_item_id(item_id), data, caller, preconditions))

    @delete(
        ONE_ITEM,
        operation_id="deleteItem",
        summary="Delete an item",
        responses=problem_responses(*READ_ERRORS, *CONDITIONAL_ERRORS),
        opt=requires(ITEMS_WRITE),
    )
    async def delete_item(
        self,
        item_id: ItemId,
        items: Injected[ItemService],
        request: Request[Any, Any, Any],
        if_match: IfMatch = "",
        if_none_match: IfNoneMatch = "",
    ) -> None:
        preconditions = items.write_preconditions(if_match, if_none_match)
        await items.delete(parse_item_id(item_id), caller_of(request.scope), preconditions)


def created(item: Item) -> Response[Item]:
    headers = {"Location": f"{ITEMS_PATH}/{item.id}", "ETag": entity_tag(FIRST_VERSION)}
    return Response(item, status_code=HTTPStatus.CREATED, headers=headers)


def not_modified(version: int) -> Response[Item]:
    """RFC 9110, section 15.4.5: the validator comes back, the content does not. Returned, not raised: an exception
    handler cost more than the read itself. Typed as the 200 for the API document, which documents the 304 apart."""
    no_content = Response(None, status_code=HTTPStatus.NOT_MODIFIED, headers={"ETag": entity_tag(version)})
    return cast("Response[Item]", no_content)


def with_entity_tag(item: Item, version: int) -> Response[Item]:
    return Response(item, headers={"ETag": entity_tag(version)})


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
