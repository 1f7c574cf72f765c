"""Schema migrations as SQL files, one folder per backend (their dialects differ), applied in the order of their
numbers.

To change the schema, add the next numbered file to each folder (each numbers its own: `NNNN_what_it_does.sql`) and
run `just migrate` (or start the service). A PostgreSQL file whose first
line is `-- expand-only` changes nothing the previous release reads (ci/deploy/README.md#schema-migrations-under-a-
rolling-update), so that release may still start on the schema it leaves.

This module only reads the files; each backend applies them under its own lock, in one transaction, with its own
timeouts (app.db.sqlite, app.db.postgres). Not yoyo-migrations or Alembic: both drive the database through a
DB-API driver (psycopg for PostgreSQL), a second driver beside asyncpg; Alembic brings SQLAlchemy besides; and
neither knows expand-only migrations, a lock timeout on their own lock, or a refusal to start on a schema a newer
release changed.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

EXPAND_ONLY_MARKER = "-- expand-only"
FILE_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
BUNDLED = Path(__file__).parent


@dataclass(frozen=True, slots=True)
class Migration:
    number: int
    name: str
    script: str
    expand_only: bool


class MalformedMigrations(Exception):
    """The migration files are misnamed, out of order, or hold an unfinished statement: a bug of the release."""


def bundled(dialect: Literal["sqlite", "postgresql"]) -> tuple[Migration, ...]:
    """The migrations this release brings for a backend."""
    return load(BUNDLED / dialect)


def load(directory: Path) -> tuple[Migration, ...]:
    """Every `NNNN_name.sql` of `directory`, numbered 1, 2, 3… without a gap."""
    migrations: list[Migration] = []
    for number, path in enumerate(sorted(directory.glob("*.sql")), start=1):
        matched = FILE_NAME.fullmatch(path.name)
        if matched is None or int(matched[1]) != number:
            raise MalformedMigrations(f"{path}: expected {number:04d}_<lower-case words>.sql, numbered without a gap")
        script = path.read_text()
        migrations.append(Migration(number, path.stem, script, script.startswith(EXPAND_ONLY_MARKER)))
    return tuple(migrations)


def statements_of(migration: Migration) -> list[str]:
    """A migration's statements, one by one, for SQLite, whose driver runs one at a time (and whose
    `executescript` would commit the transaction the migrations run in). Split where SQLite itself finds a statement
    complete, so that a trigger's body, semicolons and all, stays whole."""
    statements: list[str] = []
    pending = ""
    for line in migration.script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if any(line.strip() and not line.strip().startswith("--") for line in pending.splitlines()):
        raise MalformedMigrations(f"{migration.name}: the last statement is not finished (a missing ';'?)")
    return statements
