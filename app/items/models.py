"""Request and response bodies of the items API."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import msgspec

# NUL is refused because PostgreSQL cannot store it in text; both backends accept the same strings.
NO_NUL = "^[^\u0000]*$"
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL, description="1 to 200 characters")]
Description = Annotated[str, msgspec.Meta(max_length=2000, pattern=NO_NUL, description="0 to 2000 characters")]


class ItemCreate(msgspec.Struct, frozen=True):
    """A new item, or the full replacement of one (PUT)."""

    name: Name
    description: Description


class ItemPatch(msgspec.Struct, frozen=True):
    """Any subset of an item's fields (PATCH)."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET


class Item(msgspec.Struct, frozen=True):
    """A stored item. Ids are UUIDv7: they sort by creation time, which gives lists a stable order."""

    id: UUID
    name: str
    description: str
    created_at: datetime
    updated_at: datetime


def new_item(data: ItemCreate) -> Item:
    """The item a create of `data` stores: a new id, and its time of creation."""
    now = utc_now()
    return Item(id=new_id(), created_at=now, updated_at=now, **msgspec.structs.asdict(data))


def replacement(data: ItemCreate) -> ItemPatch:
    """A PUT is a PATCH that sets every field."""
    return ItemPatch(**msgspec.structs.asdict(data))


def utc_now() -> datetime:
    return datetime.now(UTC)


class UUID7Generator:
    """UUIDs version 7 (RFC 9562) that sort by creation time and strictly increase per generator.

    48 bits of Unix milliseconds, 12 bits of sub-millisecond time (the RFC's method 3), then 62 bits
    of which the first is kept zero, so that bumping a clashing value by one can never carry into
    the variant bits. A clock that stands still or steps back still yields increasing ids.

    The random bits make ids of different processes distinct, not unguessable (the items API lists
    every id anyway): Python's generator, seeded by the OS and reseeded in forked children, draws
    them without a system call on every request.
    """

    def __init__(self, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._clock_ns = clock_ns
        self._last = 0
        self._lock = threading.Lock()

    def __call__(self) -> UUID:
        milliseconds, nanoseconds = divmod(self._clock_ns(), 1_000_000)
        value = (
            (milliseconds & (2**48 - 1)) << 80
            | 0x7 << 76  # version
            | (nanoseconds * 4096 // 1_000_000) << 64
            | 0b10 << 62  # variant
            | random.getrandbits(61)
        )
        with self._lock:
            if value <= self._last:
                value = self._last + 1
            self._last = value
        return UUID(int=value)


new_id = UUID7Generator()
