"""Idempotent creates (draft-ietf-httpapi-idempotency-key-header-07): a POST with an Idempotency-Key creates once.

The key is stored in the same transaction as the item it created (`ItemStore.add_once`), so a create is either
wholly done, key and item, or not at all, whichever replica ran it and whenever it crashed. A repeat with the same
key and the same body answers the original 201 again (the stored id and time, with the body that made them); one
with another body is a 422; one that arrives while this process is still creating the first is a 409, which the
client retries. A repeat that runs on another replica at that moment waits in PostgreSQL for the first to commit,
then answers as a repeat.

Keys belong to the caller: its token's client and subject where tokens are checked, one shared owner where they
are not. They are remembered for IDEMPOTENCY_TTL, then accepted again, and purged in the background.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import datetime, timedelta
from typing import Annotated, NamedTuple, Protocol

import msgspec
from litestar.params import HeaderParameter

from app.auth.access import AccessToken
from app.items.errors import MAX_KEY_LENGTH, IdempotencyKeyInUse, IdempotencyKeyMalformed
from app.items.models import Item, ItemCreate, utc_now
from app.observability.logs import get_logger

# Often enough that expired keys never pile up, seldom enough to cost nothing.
MAX_PURGE_INTERVAL_S = 300
# Each batch is one short statement: requests' writes go on between them.
PURGE_BATCH = 1000

logger = get_logger("app.items.idempotency")

# Read as sent (None when absent), and checked by the handler: a malformed key is a 400 (the draft's answer), where
# Litestar's own check of a header's pattern would answer 422. The document states the rules, and the string type
# alone: a header has no `null`.
IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        description="A key the client makes unique for this create (a UUID, say), sent again with every retry of "
        "it: the item is created once, and each retry answers the original 201. The same key with another body "
        "is a 422; a retry while the first is still being processed, a 409. 1 to 255 printable ASCII "
        'characters, compared as sent (the draft\'s quoted form `"…"` works too); remembered for a day unless '
        "IDEMPOTENCY_TTL says otherwise.",
        schema_extra={
            "oneOf": None,
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_KEY_LENGTH,
            "pattern": "^[\\x20-\\x7e]+$",
        },
    ),
]


class KeyedCreate(NamedTuple):
    """A create under an Idempotency-Key, as the store records it beside the item."""

    owner: str  # whose key it is
    key: str
    fingerprint: bytes  # of the request's content: a repeat must send the same
    expires_at: datetime


def keyed_create(owner: str, raw_key: str, data: ItemCreate, item: Item, ttl_s: int) -> KeyedCreate:
    """What the store records of `owner`'s create of `item` from `data` under the Idempotency-Key `raw_key`."""
    key = raw_key.strip(" \t")
    if not (0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()):
        raise IdempotencyKeyMalformed
    return KeyedCreate(
        owner=owner,
        key=key,
        fingerprint=hashlib.sha256(msgspec.json.encode(data)).digest(),
        expires_at=item.created_at + timedelta(seconds=ttl_s),
    )


def key_owner(caller: AccessToken | None, tenant: str) -> str:
    """Whose keys these are: the token's client and subject within its tenant, or everyone's where tokens are not
    checked. Without a tenant, as before tenancy was: the keys stored then keep their owner."""
    if caller is None:
        return ""
    who = [caller.client_id, caller.subject]
    return msgspec.json.encode([*who, tenant] if tenant else who).decode()


class KeysInFlight:
    """The keys whose create this process is running now: a repeat meanwhile is told to retry (409)."""

    def __init__(self) -> None:
        self._running: set[tuple[str, str]] = set()

    @contextmanager
    def running(self, keyed: KeyedCreate) -> Generator[None]:
        """Note the create as running while the block runs, or raise `IdempotencyKeyInUse`."""
        running = (keyed.owner, keyed.key)
        if running in self._running:
            raise IdempotencyKeyInUse
        self._running.add(running)
        try:
            yield
        finally:
            self._running.discard(running)


class ExpiringKeys(Protocol):
    """Where keys are stored (`ItemStore`)."""

    async def purge_expired_keys(self, now: datetime, limit: int) -> int:
        """Forget up to `limit` keys that expired before `now`; return how many."""
        ...


@asynccontextmanager
async def expired_keys_purged(store: ExpiringKeys, ttl_s: int) -> AsyncGenerator[None]:
    """Purge expired keys in the background while the service runs (every replica: each batch is cheap)."""
    purging = asyncio.create_task(purge_forever(store, interval_s=min(ttl_s, MAX_PURGE_INTERVAL_S)))
    try:
        yield
    finally:
        purging.cancel()
        with suppress(asyncio.CancelledError):
            await purging


async def purge_forever(store: ExpiringKeys, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            while await store.purge_expired_keys(utc_now(), PURGE_BATCH) == PURGE_BATCH:
                pass
        except Exception:  # the next round tries again; expired keys are accepted again all the same
            logger.exception("expired idempotency keys not purged")
