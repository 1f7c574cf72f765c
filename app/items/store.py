"""The storage interface of items, which each backend implements (app.items.sqlite, app.items.postgres); the choice
of backend from the settings lives apart, in app.items.backends, so that neither imports the other's module."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from litestar import Request

from app.http.conditional import Precondition, PreconditionFailed
from app.http.errors import ServiceError
from app.items.errors import ItemNotFound
from app.items.idempotency import KeyedCreate
from app.items.models import Item, ItemPatch


class Versioned(NamedTuple):
    """An item and its version, which the database raises with every change (its ETag)."""

    item: Item
    version: int


class ItemStore(Protocol):
    """Persistent items. Every method raises `StorageUnavailable` when the database cannot be reached."""

    async def add(self, item: Item) -> None:
        """Store a new item durably before returning; its version is 1."""
        ...

    async def add_once(self, item: Item, keyed: KeyedCreate) -> Item:
        """Store `item` and `keyed` in one transaction unless `keyed.key` is stored already (and not expired), and
        return what the key created: `item`, or the original item (`KeyedCreate.original`, which raises
        `IdempotencyKeyReused` when the original came from another body)."""
        ...

    async def purge_expired_keys(self, now: datetime, limit: int) -> int:
        """Forget up to `limit` Idempotency-Keys that expired before `now`; return how many."""
        ...

    async def get(self, item_id: UUID) -> Versioned:
        """The item with this id, or `ItemNotFound`."""
        ...

    async def list_after(self, after: UUID | None, limit: int) -> list[Item]:
        """Up to `limit` items with ids greater than `after`, in id order."""
        ...

    async def update(self, item_id: UUID, patch: ItemPatch, if_match: Precondition | None) -> Versioned:
        """Apply the set fields of `patch` and return the result, in one statement that also checks `if_match`;
        raise `ItemNotFound`, or `PreconditionFailed` when `if_match` names no current version."""
        ...

    async def delete(self, item_id: UUID, if_match: Precondition | None) -> None:
        """Remove the item, in one statement that also checks `if_match`, or raise as `update` does."""
        ...

    async def ping(self) -> None:
        """Return when the database answers; raise `StorageUnavailable` when it does not."""
        ...

    async def close(self) -> None:
        """Release connections and threads."""
        ...


FIRST_VERSION = 1


def not_changed(item_id: UUID, if_match: Precondition | None) -> ServiceError:
    """Why a write changed no row: no such item, or (with If-Match) no such item in the version asked for.

    RFC 9110 (section 13.1.1) makes If-Match false for a missing item too, so both are a 412 then.
    """
    if if_match is None:
        return ItemNotFound(item_id)
    return PreconditionFailed(
        f"The item {item_id} is not in the version If-Match names (it changed, or no longer exists): "
        "read it again for its current ETag."
    )


def statement_for(
    plain: str,
    comparing: str,
    parameters: tuple[object, ...],
    if_match: Precondition | None,
    versions_parameter: Callable[[list[int]], object],
) -> tuple[str, tuple[object, ...]]:
    """The statement a write runs: `plain`, or, when If-Match names versions, `comparing`, which takes them (as
    `versions_parameter` makes them) after `parameters`. With If-Match: * any version matches: `plain` does."""
    if if_match is None or if_match.any_version:
        return plain, parameters
    return comparing, (*parameters, versions_parameter(sorted(if_match.versions)))


def store_of(request: Request[Any, Any, Any]) -> ItemStore:
    """The item store the app opened when it started (`app.asgi`).

    Read from the app's state rather than injected: Litestar's dependency injection cost more than a tenth
    of a read item request (tests/bench/README.md).
    """
    store: ItemStore = request.app.state.store
    return store
