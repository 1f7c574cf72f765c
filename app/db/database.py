"""The one database every resource keeps its rows in, as a store sees it, whichever backend serves it.

Each backend (app.db.sqlite, app.db.postgres) has the shape of `Database` without deriving from it: `app.db.
database_for` returns each as a `Database`, so pyright refuses a backend that lacks a method or takes other types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Protocol

from app.db.statements import Parameters, Rows, Statement

Step = tuple[Statement, Parameters]
# PostgreSQL settings made with SET LOCAL for a statement's transaction alone, which row-level security reads (the
# tenant, app.items.store); never SET for a session, which a transaction-mode pooler would hand to another client.
# SQLite has no settings: its statements filter for themselves.
Local = Mapping[str, str]
NO_LOCAL: Local = MappingProxyType({})
# The tenant of every row made while tenancy is off: everyone's then, and reached by no tenant once it is on.
NO_TENANT = ""
# What row-level security reads on PostgreSQL (app/db/migrations/postgresql/0004_tenancy.sql), beneath each
# statement's own `tenant = :tenant`; a tenant's reads set it themselves (0005_tenant_reads.sql).
TENANT_SETTING = "app.tenant"


def tenant_local(tenant: str) -> Local:
    """A tenant's statement's transaction settings: its tenant for row-level security; none while tenancy is off,
    which costs no round trip."""
    return NO_LOCAL if tenant == NO_TENANT else {TENANT_SETTING: tenant}


class Database(Protocol):
    """Rows in and out by name. Every call raises `StorageUnavailable` when the database cannot be reached."""

    async def open(self) -> None:
        """Connect (retrying for DATABASE_CONNECT_TIMEOUT) and bring the schema up to date, or check that it is."""
        ...

    async def close(self) -> None:
        """Wait for the writes under way, then release connections and threads."""
        ...

    async def ping(self) -> None:
        """Return when the database answers, on a connection of its own; raise `StorageUnavailable` if it does not."""
        ...

    async def fetch(self, statement: Statement, parameters: Parameters, local: Local = NO_LOCAL) -> Rows:
        """Run one statement (durably committed before returning, if it writes) and return the rows it returns."""
        ...

    async def fetch_together(self, steps: Sequence[Step], local: Local = NO_LOCAL) -> list[Rows]:
        """Run writes in one transaction, all or none of them, and return each one's rows."""
        ...
