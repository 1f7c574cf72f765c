from __future__ import annotations

from app.items.idempotency import KeyedCreate
from app.items.models import Item, ItemPatch, UUID7Generator

NOW_NS = 1_764_000_000_123_456_789


def test_ids_are_version_7_and_strictly_increasing_even_when_the_clock_stands_still() -> None:
    new_id = UUID7Generator(lambda: NOW_NS)

    ids = [new_id() for _ in range(3)]

    assert all(item_id.version == 7 for item_id in ids)
    assert ids[0] < ids[1] < ids[2]
    assert str(ids[0]) < str(ids[1]), "text order, as SQLite stores them, must match"


def test_ids_keep_increasing_when_the_clock_steps_back() -> None:
    readings = iter([NOW_NS, NOW_NS - 10**9])
    new_id = UUID7Generator(lambda: next(readings))

    first, second = new_id(), new_id()

    assert second.int == first.int + 1


def test_ids_carry_the_creation_millisecond() -> None:
    item_id = UUID7Generator(lambda: NOW_NS)()

    assert item_id.int >> 80 == NOW_NS // 1_000_000


def test_no_item_field_shares_a_name_with_the_other_parameters_of_the_stores_statements() -> None:
    # The statements take an item's fields and a key's (or a condition's) by name, side by side in one mapping: a
    # field named like one of those would silently stand for the other.
    others = {*KeyedCreate._fields, "versions", "unwanted_versions", "after", "limit", "now", "tenant"}
    assert not set(Item.__struct_fields__) & others
    assert not set(ItemPatch.__struct_fields__) & others
