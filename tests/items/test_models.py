from __future__ import annotations

from app.items.models import UUID7Generator

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
