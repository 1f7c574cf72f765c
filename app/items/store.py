"""The storage interface of items, and the choice of backend from the database URL."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from litestar import Request

from app.items.models import Item, ItemPatch
from app.settings import Settings


class ItemStore(Protocol):
    """Persistent items. Every method raises `StorageUnavailable` when the database cannot be reached."""

    async def add(self, item: Item) -> None:
        """Store a new item durably before returning."""
        ...

    async def get(self, item_id: UUID) -> Item:
        """The item with this id, or `ItemNotFound`."""
        ...

    async def list_after(self, after: UUID | None, limit: int) -> list[Item]:
        """Up to `limit` items with ids greater than `after`, in id order."""
        ...

    async def update(self, item_id: UUID, patch: ItemPatch) -> Item:
        """Apply the set fields of `patch` and return the result, or raise `ItemNotFound`."""
        ...

    async def delete(self, item_id: UUID) -> None:
        """Remove the item, or raise `ItemNotFound`."""
        ...

    async def ping(self) -> None:
        """Return when the database answers; raise `StorageUnavailable` when it does not."""
        ...

    async def close(self) -> None:
        """Release connections and threads."""
        ...


def store_of(request: Request[Any, Any, Any]) -> ItemStore:
    """The item store the app opened when it started (`app.asgi`).

    Read from the app's state rather than injected: Litestar's dependency injection cost more than a tenth
    of a read item request (tests/bench/README.md).
    """
    store: ItemStore = request.app.state.store
    return store


async def open_store(settings: Settings) -> ItemStore:
    """Connect to the configured database (retrying for a bounded time) and bring its schema up to date."""
    if settings.database.kind == "postgresql":
        from app.items.postgres import PostgresItemStore  # noqa: PLC0415 - only PostgreSQL deployments need asyncpg

        return await PostgresItemStore.open(settings)
    from app.items.sqlite import SQLiteItemStore  # noqa: PLC0415

    return await SQLiteItemStore.open(settings)
