"""Schema changes as files: a new numbered file in each backend's folder is all a new column takes."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from app.db import postgres, sqlite
from app.db.migrations import BUNDLED, MalformedMigrations, Migration, load, statements_of
from app.items.models import ItemCreate, new_item
from app.items.store import ItemStore
from app.settings import Settings
from tests.conftest import sqlite_url


def with_one_more(tmp_path: Path, dialect: str, name: str, script: str) -> tuple[Migration, ...]:
    """This release's migrations, copied, with one more file numbered after the last: as a developer adds a column."""
    copy = tmp_path / dialect
    shutil.copytree(BUNDLED / dialect, copy)
    (copy / f"{len(load(copy)) + 1:04d}_{name}.sql").write_text(script)
    return load(copy)


def test_a_new_file_is_applied_on_sqlite(tmp_path: Path) -> None:
    migrations = with_one_more(tmp_path, "sqlite", "item_colour", "ALTER TABLE items ADD COLUMN colour TEXT;\n")
    settings = Settings.from_environ({"DATABASE_URL": sqlite_url(tmp_path)})

    sqlite.migrate(settings, migrations)

    with sqlite3.connect(settings.database.sqlite_path) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(items)")]
        (version,) = connection.execute("PRAGMA user_version").fetchone()
    assert "colour" in columns
    assert version == len(sqlite.MIGRATIONS) + 1


async def test_a_new_expand_only_file_is_applied_on_postgresql_and_the_release_before_still_starts(
    tmp_path: Path, postgres_url: str
) -> None:
    script = "-- expand-only\n-- A column the release before ignores.\nALTER TABLE items ADD COLUMN colour text;\n"
    migrations = with_one_more(tmp_path, "postgresql", "item_colour", script)
    settings = Settings.from_environ({"DATABASE_URL": postgres_url})
    serving = postgres.PostgresDatabase(settings)  # this release, which knows one migration fewer, serving meanwhile
    await serving.open()
    store, item = ItemStore(serving), new_item(ItemCreate(name="before", description=""))
    await store.add(item, "org-1")
    assert (await store.get(item.id, "org-1")).item == item  # a tenant's read, planned on a connection of the pool

    await postgres.migrate(settings, migrations)
    # The function behind it returns the table's rows, the new column too: planned again, it still answers.
    assert (await store.get(item.id, "org-1")).item == item
    await serving.close()
    database = postgres.PostgresDatabase(settings)  # and it starts again on the schema the migration left
    await database.open()
    await database.close()

    connection = await asyncpg.connect(postgres_url)
    try:
        column = await connection.fetchval(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'colour'"
        )
        recorded = await connection.fetch("SELECT version, expand_only FROM schema_migrations ORDER BY version")
    finally:
        await connection.close()
    assert column == 1
    assert [(row["version"], row["expand_only"]) for row in recorded][-1] == (len(postgres.MIGRATIONS) + 1, True)


def test_a_trigger_stays_one_statement_on_sqlite() -> None:
    script = (
        "-- Statements end where SQLite says they do.\n"
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n"
        "CREATE TRIGGER notes_body BEFORE INSERT ON notes BEGIN\n"
        "    SELECT RAISE(ABORT, 'empty; really') WHERE NEW.body = '';\n"
        "END;\n"
        "-- A closing comment.\n"
    )
    migration = Migration(1, "0001_notes", script, expand_only=False)

    statements = statements_of(migration)

    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER")
    assert statements[1].endswith("END;")


@pytest.mark.parametrize(
    ("names", "complaint"),
    [
        (["0001_items.sql", "0003_next.sql"], "expected 0002_"),
        (["0001_items.sql", "0002_Next Step.sql"], "expected 0002_"),
        (["1_items.sql"], "expected 0001_"),
    ],
    ids=["a gap", "a name with spaces", "no four digits"],
)
def test_misnamed_or_missing_files_are_refused(tmp_path: Path, names: list[str], complaint: str) -> None:
    for name in names:
        (tmp_path / name).write_text("SELECT 1;\n")

    with pytest.raises(MalformedMigrations, match=complaint):
        load(tmp_path)


def test_an_unfinished_statement_is_refused() -> None:
    with pytest.raises(MalformedMigrations, match="not finished"):
        statements_of(Migration(1, "0001_broken", "CREATE TABLE broken (id INTEGER)\n", expand_only=False))
