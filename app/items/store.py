"""The storage interface of items, and the choice of backend from the database URL."""

from __future__ import annotations

from abc import ABC, abstractmethod
from uuid import UUID

from litestar.di import NamedDependency

from app.items.models import Item, ItemPatch
from app.settings import Settings


class ItemStore(ABC):
    """Persistent items. Every method raises `StorageUnavailable` when the database cannot be reached.

    A base class rather than a protocol: Litestar checks each injected value against its declared type,
    and an isinstance check against a runtime protocol costs a request microseconds.
    """

    @abstractmethod
    async def add(self, item: Item) -> None:
        """Store a new item durably before returning."""
        ...

    @abstractmethod
    async def get(self, item_id: UUID) -> Item:
        """The item with this id, or `ItemNotFound`."""
        ...

    @abstractmethod
    async def list_after(self, after: UUID | None, limit: int) -> list[Item]:
        """Up to `limit` items with ids greater than `after`, in id order."""
        ...

    @abstractmethod
    async def update(self, item_id: UUID, patch: ItemPatch) -> Item:
        """Apply the set fields of `patch` and return the result, or raise `ItemNotFound`."""
        ...

    @abstractmethod
    async def delete(self, item_id: UUID) -> None:
        """Remove the item, or raise `ItemNotFound`."""
        ...

    @abstractmethod
    async def ping(self) -> None:
        """Return when the database answers; raise `StorageUnavailable` when it does not."""
        ...

    @abstractmethod
    async def close(self) -> None:
        """Release connections and threads."""
        ...


Store = NamedDependency[ItemStore]
"""A handler parameter `store: Store` gets the app's item store (see `app.asgi`)."""


async def open_store(settings: Settings) -> ItemStore:
    """Connect to the configured database (retrying for a bounded time) and bring its schema up to date."""
    if settings.database.kind == "postgresql":
        from app.items.postgres import PostgresItemStore  # noqa: PLC0415 - only PostgreSQL deployments need asyncpg

        return await PostgresItemStore.open(settings)
    from app.items.sqlite import SQLiteItemStore  # noqa: PLC0415

    return await SQLiteItemStore.open(settings)
