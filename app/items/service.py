"""What the item operations are given: the store, and the rules every operation follows (whose items a caller
reaches, what a create and a write require), as one dependency.

One, because Litestar resolves a handler's several dependencies at once in a task group of their own, which made a
create a sixth slower (tests/bench/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from app.auth.access import AccessToken
from app.db.database import NO_TENANT
from app.http.conditional import UNCONDITIONAL, PreconditionRequired, Preconditions, precondition
from app.items.errors import TenantUnknown
from app.items.idempotency import KeysInFlight, key_owner, keyed_create
from app.items.models import Item, ItemCreate, ItemPatch, new_item
from app.items.store import ItemStore, Versioned


@dataclass(frozen=True, slots=True)
class ItemService:
    store: ItemStore
    idempotency_ttl: int  # IDEMPOTENCY_TTL
    require_if_match: bool  # REQUIRE_IF_MATCH
    keys_in_flight: KeysInFlight  # of this process
    tenant_claim: str | None = None  # AUTH_TENANT_CLAIM: None, every item is everyone's

    def tenant_of(self, caller: AccessToken | None) -> str:
        """The tenant whose items `caller` reaches: the one its token names where tenancy is on (`TenantUnknown` if
        none), else NO_TENANT, whose items are everyone's."""
        if self.tenant_claim is None:
            return NO_TENANT
        if caller is None or caller.tenant is None:
            raise TenantUnknown(self.tenant_claim)
        return caller.tenant

    async def create(self, data: ItemCreate, idempotency_key: str | None, caller: AccessToken | None) -> Item:
        """The item `data` makes; under an Idempotency-Key, the one the key made first, if any."""
        tenant, item = self.tenant_of(caller), new_item(data)
        if idempotency_key is None:
            await self.store.add(item, tenant)
            return item
        keyed = keyed_create(key_owner(caller, tenant), idempotency_key, data, item, self.idempotency_ttl)
        with self.keys_in_flight.running(keyed):
            return await self.store.add_once(item, keyed, tenant)

    async def get(self, item_id: UUID, caller: AccessToken | None) -> Versioned:
        return await self.store.get(item_id, self.tenant_of(caller))

    async def list_after(self, after: UUID | None, limit: int, caller: AccessToken | None) -> list[Item]:
        return await self.store.list_after(after, limit, self.tenant_of(caller))

    async def update(
        self, item_id: UUID, patch: ItemPatch, caller: AccessToken | None, preconditions: Preconditions = UNCONDITIONAL
    ) -> Versioned:
        return await self.store.update(item_id, patch, self.tenant_of(caller), preconditions)

    async def delete(
        self, item_id: UUID, caller: AccessToken | None, preconditions: Preconditions = UNCONDITIONAL
    ) -> None:
        await self.store.delete(item_id, self.tenant_of(caller), preconditions)

    def write_preconditions(self, if_match: str, if_none_match: str) -> Preconditions:
        """What If-Match and If-None-Match ask of a write; without If-Match, a write goes through unless
        REQUIRE_IF_MATCH says otherwise (If-None-Match guards against no lost update)."""
        if not if_match.strip() and self.require_if_match:
            raise PreconditionRequired
        return Preconditions(
            if_match=precondition(if_match) if if_match.strip() else None,
            if_none_match=precondition(if_none_match) if if_none_match.strip() else None,
        )
