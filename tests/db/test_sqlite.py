"""The SQLite database: group commits on the writer thread, callers that stop waiting, reads on the loop (long ones on
a thread of their own); driven through the item store."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from app.db.database import NO_TENANT
from app.db.errors import StorageUnavailable
from app.db.sqlite import SQLiteDatabase
from app.items.models import Item, ItemCreate
from app.items.models import new_item as new_item_from
from app.items.store import ItemStore
from app.settings import Settings
from tests.conftest import sqlite_url


class OpenStore(ItemStore):
    """An item store on an SQLite database of its own, as the app opens it."""

    async def close(self) -> None:
        await self.database.close()


async def open_store(tmp_path: Path) -> OpenStore:
    settings = Settings.from_environ({"DATABASE_URL": sqlite_url(tmp_path), "DATABASE_LOCK_TIMEOUT": "5"})
    database = SQLiteDatabase(settings)
    await database.open()
    return OpenStore(database)


def new_item(name: str, description: str) -> Item:
    return new_item_from(ItemCreate(name, description))


async def test_concurrent_writes_are_all_stored_and_answered(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    items = [new_item(f"item {number}", "") for number in range(200)]

    await asyncio.gather(*(store.add(item, NO_TENANT) for item in items))

    assert await store.list_after(None, 500, NO_TENANT) == items
    await store.close()


async def test_a_caller_that_stops_waiting_does_not_disturb_the_others(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    blocker = sqlite3.connect(tmp_path / "items.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer thread waits on this lock
    abandoned = asyncio.create_task(store.add(new_item("abandoned", ""), NO_TENANT))
    await asyncio.sleep(0)  # let the task submit its write
    kept = new_item("kept", "")
    waiting = asyncio.create_task(store.add(kept, NO_TENANT))
    abandoned.cancel()
    blocker.execute("COMMIT")
    blocker.close()

    await waiting

    assert abandoned.cancelled()
    assert kept in await store.list_after(None, 10, NO_TENANT)
    await store.close()


def poison(database: Path, action: str) -> None:
    """A trigger, written behind the store's back, that fails every insert of an item named "poison"."""
    with sqlite3.connect(database) as connection:
        connection.execute(
            "CREATE TRIGGER poison BEFORE INSERT ON items WHEN NEW.name = 'poison' "
            f"BEGIN SELECT RAISE({action}, 'poisoned'); END"
        )


async def test_a_failing_write_does_not_fail_the_writes_committed_with_it(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    poison(tmp_path / "items.db", "ABORT")  # undoes the failing statement only
    before, after = new_item("before", ""), new_item("after", "")

    outcomes = await asyncio.gather(
        store.add(before, NO_TENANT),
        store.add(new_item("poison", ""), NO_TENANT),
        store.add(after, NO_TENANT),
        return_exceptions=True,
    )

    assert outcomes[0] is None
    assert isinstance(outcomes[1], sqlite3.IntegrityError)
    assert outcomes[2] is None
    assert await store.list_after(None, 10, NO_TENANT) == [before, after]
    await store.close()


async def test_a_write_that_rolls_back_its_whole_group_leaves_nothing_of_it_stored(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    poison(tmp_path / "items.db", "ROLLBACK")  # undoes the whole transaction, as a full disk does
    items = [new_item("before", ""), new_item("poison", ""), new_item("after", "")]

    outcomes = await asyncio.gather(*(store.add(item, NO_TENANT) for item in items), return_exceptions=True)

    assert all(isinstance(outcome, sqlite3.IntegrityError) for outcome in outcomes), outcomes
    assert await store.list_after(None, 10, NO_TENANT) == []
    await store.close()


async def test_closing_commits_the_writes_still_waiting(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    items = [new_item(f"item {number}", "") for number in range(10)]
    writes = [asyncio.create_task(store.add(item, NO_TENANT)) for item in items]
    await asyncio.sleep(0)  # let the writes queue up

    await store.close()

    await asyncio.gather(*writes)
    with sqlite3.connect(tmp_path / "items.db") as connection:
        assert connection.execute("SELECT count(*) FROM items").fetchone() == (len(items),)


async def test_reads_see_every_acknowledged_write_at_once(tmp_path: Path) -> None:
    # Reads use their own connection; a write is committed before it is acknowledged.
    store = await open_store(tmp_path)
    for number in range(20):
        item = new_item(f"item {number}", "")
        await store.add(item, NO_TENANT)
        assert await store.get(item.id, NO_TENANT) == (item, 1)
    await store.close()


async def test_a_read_the_database_cannot_serve_is_storage_unavailable(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    item = new_item("gone", "")
    await store.add(item, NO_TENANT)
    saboteur = sqlite3.connect(tmp_path / "items.db", isolation_level=None)
    saboteur.execute("DROP TABLE items")
    saboteur.close()

    with pytest.raises(StorageUnavailable):
        await store.get(item.id, NO_TENANT)
    await store.close()


async def test_a_write_after_closing_fails_instead_of_waiting_for_ever(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    await store.close()

    with pytest.raises(RuntimeError):
        await asyncio.wait_for(store.add(new_item("late", ""), NO_TENANT), timeout=5)
    # And the next write is not left behind a commit that never ends.
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(store.add(new_item("later", ""), NO_TENANT), timeout=5)
