"""What the item operations are given: the store, and the rules a create and a write follow, as one dependency.

One, because Litestar resolves a handler's several dependencies at once in a task group of their own, which made a
create a sixth slower (tests/bench/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.access import AccessToken
from app.http.conditional import PreconditionRequired, Preconditions, precondition
from app.items.idempotency import KeysInFlight, key_owner, keyed_create
from app.items.models import Item, ItemCreate, new_item
from app.items.store import ItemStore


@dataclass(frozen=True, slots=True)
class ItemService:
    store: ItemStore
    idempotency_ttl: int  # IDEMPOTENCY_TTL
    require_if_match: bool  # REQUIRE_IF_MATCH
    keys_in_flight: KeysInFlight  # of this process

    async def create(self, data: ItemCreate, idempotency_key: str | None, caller: AccessToken | None) -> Item:
        """The item `data` makes; under an Idempotency-Key, the one the key made first, if any."""
        item = new_item(data)
        if idempotency_key is None:
            await self.store.add(item)
            return item
        keyed = keyed_create(key_owner(caller), idempotency_key, data, item, self.idempotency_ttl)
        with self.keys_in_flight.running(keyed):
            return await self.store.add_once(item, keyed)

    def write_preconditions(self, if_match: str, if_none_match: str) -> Preconditions:
        """What If-Match and If-None-Match ask of a write; without If-Match, a write goes through unless
        REQUIRE_IF_MATCH says otherwise (If-None-Match guards against no lost update)."""
        if not if_match.strip() and self.require_if_match:
            raise PreconditionRequired
        return Preconditions(
            if_match=precondition(if_match) if if_match.strip() else None,
            if_none_match=precondition(if_none_match) if if_none_match.strip() else None,
        )
