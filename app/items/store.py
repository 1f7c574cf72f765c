"""Items in the database: every statement by name, its columns the fields of the models (app.items.models).

A field added to `Item` (and to `ItemCreate` and `ItemPatch`, where clients send it) is stored, read, replaced and
patched by the statements below as they are: they list no column of their own. The schema comes from the migrations
(app/db/migrations/). One store serves both backends; where their SQL differs, a statement says so.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, NamedTuple
from uuid import UUID

import msgspec

from app.db.database import NO_TENANT, Database, Local, tenant_local
from app.db.statements import Rows, Statement, columns, placeholders
from app.http.conditional import UNCONDITIONAL, Preconditions
from app.items.errors import IdempotencyKeyReused, ItemInUnwantedVersion, ItemNotFound, ItemVersionMismatch
from app.items.idempotency import KeyedCreate
from app.items.models import Item, ItemPatch, utc_now

FIRST_VERSION = 1
FIELDS = Item.__struct_fields__
COLUMNS = columns(FIELDS)
# The ids sort by creation time; the first page starts after the smallest.
BEFORE_EVERY_ID = UUID(int=0)
# The purge's leave to see every tenant's keys, which row-level security grants on PostgreSQL.
PURGING: Local = {"app.purging": "on"}


# What a conditional write compares, in the statement that writes, so that no other write comes between: the
# versions If-Match names, and those If-None-Match does; each one parameter, a list, as each backend takes one.
IF_MATCH = (" AND version IN (SELECT value FROM json_each(:versions))", " AND version = ANY(:versions::bigint[])")
IF_NONE_MATCH = (
    " AND version NOT IN (SELECT value FROM json_each(:unwanted_versions))",
    " AND version <> ALL(:unwanted_versions::bigint[])",
)


@cache
def _conditional(template: str, conditions: tuple[tuple[str, str], ...]) -> Statement:
    """`template` (a write whose `{condition}` follows its WHERE) under `conditions`, in each backend's words."""
    sqlite, postgresql = ("".join(condition[dialect] for condition in conditions) for dialect in (0, 1))
    return Statement(template.format(condition=sqlite), postgresql_sql=template.format(condition=postgresql))


@cache
def _update(fields: tuple[str, ...]) -> str:
    """The write that sets `fields` (those a patch sends, all of them for a replacement). PostgreSQL's trigger raises
    the version as this does: a release that predates the column still changes it."""
    changes = "".join(f"{field} = :{field}, " for field in fields)
    return (
        f"UPDATE items SET {changes}updated_at = :updated_at, version = version + 1 "
        f"WHERE id = :id AND tenant = :tenant{{condition}} RETURNING {COLUMNS}, version"
    )


INSERT_ITEM = Statement(
    f"INSERT INTO items ({COLUMNS}, tenant, version) VALUES ({placeholders(FIELDS)}, :tenant, {FIRST_VERSION})"
)
# The reads: a change to one is a change to its function for a tenant on PostgreSQL too, below (in a new migration).
SELECT_ITEM = Statement(f"SELECT {COLUMNS}, version FROM items WHERE id = :id AND tenant = :tenant")
# One range over the index of (tenant, id) whatever plan PostgreSQL caches for the prepared statement.
PAGE = f"SELECT {COLUMNS} FROM items WHERE tenant = :tenant AND id > :after ORDER BY id LIMIT :limit"
# With tenancy off, every row served is NO_TENANT's: SQLite reads the page in the order of the key itself, which
# the unary + keeps it to, rather than from that index with a lookup of each row (PostgreSQL looks up rows either way).
# Where tenancy was on once, that order passes over the tenants' rows too.
SELECT_PAGE = Statement(
    f"SELECT {COLUMNS} FROM items WHERE +tenant = :tenant AND id > :after ORDER BY id LIMIT :limit",
    postgresql_sql=PAGE,
)
# A tenant's reads: on PostgreSQL, functions of the schema (postgresql/0005_tenant_reads.sql) that name the tenant
# for row-level security and then read as above, in one round trip where a transaction would take four. Each runs as
# a statement of its own, without a `Local`: the tenant it names lasts as long as the transaction it runs in.
SELECT_ITEM_OF_TENANT = Statement(
    SELECT_ITEM.sql, postgresql_sql=f"SELECT {COLUMNS}, version FROM item_of_tenant(:tenant, :id)"
)
SELECT_PAGE_OF_TENANT = Statement(
    PAGE, postgresql_sql=f"SELECT {COLUMNS} FROM items_page_of_tenant(:tenant, :after, :limit) ORDER BY id"
)
SELECT_VERSION = Statement("SELECT version FROM items WHERE id = :id AND tenant = :tenant")
DELETE_ITEM = "DELETE FROM items WHERE id = :id AND tenant = :tenant{condition} RETURNING id"

# Claims a key, or finds it claimed: an expired key is taken over, one still valid kept as it is. Either way it
# returns the key's row. Every assignment is evaluated against the old row's values, so the expiry is judged once.
TAKE_KEY_IF_EXPIRED = ", ".join(
    f"{column} = CASE WHEN idempotency_keys.expires_at <= excluded.created_at "
    f"THEN excluded.{column} ELSE idempotency_keys.{column} END"
    for column in ("fingerprint", "item_id", "created_at", "expires_at")
)
# A key never sent before, the usual case and the cheapest: stored, and returned; one stored already is left as it is.
# The owner (app.items.idempotency.key_owner) names the tenant too: one tenant's key never meets another's.
INSERT_NEW_KEY = Statement(
    "INSERT INTO idempotency_keys (scope, key, fingerprint, item_id, created_at, expires_at, tenant) "
    "VALUES (:owner, :key, :fingerprint, :id, :created_at, :expires_at, :tenant) ON CONFLICT (scope, key) DO NOTHING "
    "RETURNING item_id"
)
CLAIM_KEY = Statement(
    "INSERT INTO idempotency_keys (scope, key, fingerprint, item_id, created_at, expires_at, tenant) "
    "VALUES (:owner, :key, :fingerprint, :id, :created_at, :expires_at, :tenant) "
    f"ON CONFLICT (scope, key) DO UPDATE SET {TAKE_KEY_IF_EXPIRED} RETURNING fingerprint, item_id, created_at"
)
# In the claim's transaction: the item is stored only when the key names it, that is when this create claimed it. A
# concurrent create with the same key waits in PostgreSQL on the key's row until this one commits.
INSERT_CLAIMED_ITEM = Statement(
    f"INSERT INTO items ({COLUMNS}, tenant, version) SELECT {placeholders(FIELDS)}, :tenant, {FIRST_VERSION} "
    "WHERE EXISTS (SELECT 1 FROM idempotency_keys WHERE scope = :owner AND key = :key AND item_id = :id)"
)
# Rows other replicas are purging at the same moment are skipped, not waited for (PostgreSQL; SQLite has one writer).
PURGE_KEYS = Statement(
    "DELETE FROM idempotency_keys WHERE (scope, key) IN "
    "(SELECT scope, key FROM idempotency_keys WHERE expires_at <= :now LIMIT :limit) RETURNING 1",
    postgresql_sql="DELETE FROM idempotency_keys WHERE (scope, key) IN (SELECT scope, key FROM idempotency_keys "
    "WHERE expires_at <= :now LIMIT :limit FOR UPDATE SKIP LOCKED) RETURNING 1",
)


class Versioned(NamedTuple):
    """An item and its version, which the database raises with every change (its ETag)."""

    item: Item
    version: int


class ClaimedKey(msgspec.Struct, frozen=True):
    """What a key's row says of the create that claimed it."""

    fingerprint: bytes
    item_id: UUID
    created_at: datetime


class ItemStore:
    """Persistent items, each a tenant's: every method reads and writes only the rows of the `tenant` it is given
    (NO_TENANT where tenancy is off). Every method raises `StorageUnavailable` when the database cannot be reached."""

    __slots__ = ("database",)

    def __init__(self, database: Database) -> None:
        self.database = database

    async def add(self, item: Item, tenant: str) -> None:
        """Store a new item durably before returning; its version is 1."""
        await self.database.fetch(INSERT_ITEM, {**msgspec.structs.asdict(item), "tenant": tenant}, tenant_local(tenant))

    async def add_once(self, item: Item, keyed: KeyedCreate, tenant: str) -> Item:
        """Store `item` and `keyed` in one transaction unless `keyed.key` is stored already (and not expired), and
        return what the key created: `item`, or the original item as its create answered it; `IdempotencyKeyReused`
        when the original came from another body."""
        parameters = {**msgspec.structs.asdict(item), **keyed._asdict(), "tenant": tenant}
        local = tenant_local(tenant)
        inserted, _ = await self.database.fetch_together(
            [(INSERT_NEW_KEY, parameters), (INSERT_CLAIMED_ITEM, parameters)], local
        )
        if inserted.records:
            return item
        # Stored before: by an earlier create, or expired and free again (an upsert costs twice a plain insert on
        # SQLite's one writer, so only such keys pay for it).
        claims, _ = await self.database.fetch_together(
            [(CLAIM_KEY, parameters), (INSERT_CLAIMED_ITEM, parameters)], local
        )
        (claimed,) = claims.into(ClaimedKey)
        if claimed.item_id == item.id:
            return item
        if claimed.fingerprint != keyed.fingerprint:
            raise IdempotencyKeyReused
        # The same fingerprint means the same body as the original request's.
        return msgspec.structs.replace(
            item, id=claimed.item_id, created_at=claimed.created_at, updated_at=claimed.created_at
        )

    async def purge_expired_keys(self, now: datetime, limit: int) -> int:
        """Forget up to `limit` Idempotency-Keys, every tenant's, that expired before `now`; return how many."""
        return len((await self.database.fetch(PURGE_KEYS, {"now": now, "limit": limit}, PURGING)).records)

    async def get(self, item_id: UUID, tenant: str) -> Versioned:
        """The item with this id, or `ItemNotFound`."""
        statement = SELECT_ITEM if tenant == NO_TENANT else SELECT_ITEM_OF_TENANT
        rows = await self.database.fetch(statement, {"id": item_id, "tenant": tenant})
        if not rows.records:
            raise ItemNotFound(item_id)
        return _versioned(rows)

    async def list_after(self, after: UUID | None, limit: int, tenant: str) -> list[Item]:
        """Up to `limit` items with ids greater than `after`, in id order."""
        parameters = {"after": after or BEFORE_EVERY_ID, "limit": limit, "tenant": tenant}
        rows = await self.database.fetch(SELECT_PAGE if tenant == NO_TENANT else SELECT_PAGE_OF_TENANT, parameters)
        return rows.into(Item)

    async def update(
        self, item_id: UUID, patch: ItemPatch, tenant: str, preconditions: Preconditions = UNCONDITIONAL
    ) -> Versioned:
        """Apply the set fields of `patch` and return the result, in one statement that also checks `preconditions`;
        raise `ItemNotFound`, or `ItemVersionMismatch` or `ItemInUnwantedVersion` when a precondition fails."""
        changes = {field: value for field, value in msgspec.structs.asdict(patch).items() if value is not msgspec.UNSET}
        parameters = {**changes, "updated_at": utc_now(), "id": item_id, "tenant": tenant}
        rows = await self._write(_update(tuple(changes)), parameters, preconditions)
        return _versioned(rows)

    async def delete(self, item_id: UUID, tenant: str, preconditions: Preconditions = UNCONDITIONAL) -> None:
        """Remove the item, in one statement that also checks `preconditions`, or raise as `update` does."""
        await self._write(DELETE_ITEM, {"id": item_id, "tenant": tenant}, preconditions)

    async def _write(self, template: str, parameters: dict[str, Any], preconditions: Preconditions) -> Rows:
        item_id: UUID = parameters["id"]
        tenant: str = parameters["tenant"]
        if_match, if_none_match = preconditions
        conditions: list[tuple[str, str]] = []
        if if_match is not None and not if_match.any_version:
            conditions.append(IF_MATCH)
            parameters["versions"] = sorted(if_match.versions)
        if if_none_match is not None:
            if if_none_match.any_version:  # false for any item there is: nothing to write
                raise await self._why_not_changed(item_id, tenant, preconditions)
            conditions.append(IF_NONE_MATCH)
            # Weak comparison (RFC 9110, section 13.1.2): W/"3" names version 3 too.
            parameters["unwanted_versions"] = sorted(if_none_match.versions | if_none_match.weak_versions)
        rows = await self.database.fetch(_conditional(template, tuple(conditions)), parameters, tenant_local(tenant))
        if not rows.records:
            raise await self._why_not_changed(item_id, tenant, preconditions)
        return rows

    async def _why_not_changed(self, item_id: UUID, tenant: str, preconditions: Preconditions) -> Exception:
        """Why a write changed no row, told in the order RFC 9110 (section 13.2.2) evaluates the preconditions:
        If-Match (false for a missing item too), then If-None-Match, then no such item."""
        if_match, if_none_match = preconditions
        rows = await self.database.fetch(SELECT_VERSION, {"id": item_id, "tenant": tenant}, tenant_local(tenant))
        version: int | None = rows.value("version") if rows.records else None
        if if_match is not None and (version is None or not (if_match.any_version or version in if_match.versions)):
            return ItemVersionMismatch(item_id)
        if version is not None and if_none_match is not None:
            return ItemInUnwantedVersion(item_id)
        return ItemNotFound(item_id)


def _versioned(rows: Rows) -> Versioned:
    (item,) = rows.into(Item)
    return Versioned(item, rows.value("version"))
