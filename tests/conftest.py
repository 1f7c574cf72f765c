"""Fixtures: isolated apps on each storage backend, driven over ASGI with Litestar's test client."""

from __future__ import annotations

import asyncio
import fcntl
import inspect
import os
import socket
import subprocess
import sysconfig
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from litestar.types import ASGIApp

from app.asgi import create_app
from app.settings import Settings
from tests.auth.issuer import Issuer, SigningKey, ec_key, ed25519_key, rsa_key, running_issuer
from tests.postgres import EMPTY_SCHEMA, OwnedDatabase, owned_database, run_statements, throwaway_postgres

Client = AsyncTestClient[ASGIApp]


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'items.db'}"


async def start_and_stop(database_url: str, **environ: str) -> None:
    """Start the app on `database_url` (opening and migrating its store), then stop it."""
    settings = Settings.from_environ({"DATABASE_URL": database_url, **environ})
    async with AsyncTestClient(app=create_app(settings)):
        pass


# `coverage run` (patch = ["subprocess"]) measures a Python subprocess when it finds this in its environment.
COVERAGE_OF_SUBPROCESSES = "COVERAGE_PROCESS_CONFIG"


@pytest.fixture(scope="session", autouse=True)
def subprocess_coverage_config() -> Iterator[str | None]:
    """Subprocesses go unmeasured unless a test asks: measured, a service process costs half as much CPU again, and
    measuring every one took a third of the suite's CPU time, though most tests start a service only to talk to it
    and reach no line the in-process tests do not. Taken out for the session, so that services started by fixtures
    of any scope go unmeasured too."""
    config = os.environ.pop(COVERAGE_OF_SUBPROCESSES, None)
    yield config
    if config is not None:
        os.environ[COVERAGE_OF_SUBPROCESSES] = config


@pytest.fixture(autouse=True)
def measured_subprocesses(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, subprocess_coverage_config: str | None
) -> None:
    """`@pytest.mark.measure_subprocesses`: coverage measures the processes this test starts. It goes on the tests
    that reach what runs only in a process of its own (start-up and its refusals, signals, workers, the migrate
    command, the exception hooks, a real server's outages); when the report shows a line that only some other
    process reaches, mark the one test that reaches it, or better, reach it in-process."""
    if subprocess_coverage_config is not None and request.node.get_closest_marker("measure_subprocesses"):
        monkeypatch.setenv(COVERAGE_OF_SUBPROCESSES, subprocess_coverage_config)


# Set for the session: a process a test starts without it was given an environment of its own, without uv's cache,
# the machine's certificates and proxies (a test that failed on a fresh machine did so).
INHERITED = "ITEMS_TESTS_ENVIRONMENT_INHERITED"
PORT_WINDOWS = 32


@pytest.fixture(scope="session", autouse=True)
def subprocesses_inherit_the_environment() -> Iterator[None]:
    """Fail a test that starts a process with an environment that replaces the tests' instead of adding to it."""
    start = subprocess.Popen.__init__
    tests, standard_library = str(Path(__file__).parent), sysconfig.get_paths()["stdlib"]

    def checked(process: subprocess.Popen[Any], *args: Any, env: Any = None, **kwargs: Any) -> None:
        # Who asked for the process: the first caller outside the standard library (subprocess.run, asyncio).
        frames = inspect.stack(context=0)[1:]
        caller = next((frame.filename for frame in frames if not frame.filename.startswith(standard_library)), "")
        if env is not None and INHERITED not in env and caller.startswith(tests):
            raise AssertionError(f"{caller} starts a process with env= that drops the environment: add to os.environ")
        start(process, *args, env=env, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(INHERITED, "1")
        patch.setattr(subprocess.Popen, "__init__", checked)
        yield


@pytest.fixture(scope="session")
def signing_keys() -> list[SigningKey]:
    """Generated once a run: RSA (published without `alg`, so any RSA algorithm), EC P-256 and Ed25519."""
    return [rsa_key("rsa-1"), ec_key("ec-1"), ed25519_key("ed-1")]


@pytest.fixture(scope="session")
def issuer_port() -> Iterator[int]:
    """Each session's issuers listen on one port: the settings of the apps trusting them are then equal (built_apps).
    Below the kernel's ephemeral range, where no `free_port()` of another test can be handed it while it is closed,
    and in a window of 100 ports that the session claims for its life with a lock: no other session on the machine
    (another worker, or one a test started in a copy of the checkout) binds there meanwhile."""
    ephemeral_from = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for window in range(PORT_WINDOWS):
        with (Path(tempfile.gettempdir()) / f"items-tests-ports-{window}.lock").open("w") as claim:
            try:
                fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            window_end = ephemeral_from - 100 * window
            for port in range(window_end - 1, window_end - 100, -1):
                with socket.socket() as probe:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the issuer's server binds it
                    try:
                        probe.bind(("127.0.0.1", port))
                    except OSError:
                        continue
                yield port
                return
    pytest.fail(f"no free port below {ephemeral_from} in a window no other test session holds")


@pytest.fixture
def issuer(signing_keys: list[SigningKey], issuer_port: int) -> Iterator[Issuer]:
    """An identity provider on loopback, serving discovery and those keys, minting tokens with them: a new one for each
    test, which may change what it serves."""
    with running_issuer(*signing_keys, port=issuer_port) as running:
        yield running


@pytest.fixture(scope="session")
def postgres_server(worker_id: str) -> Iterator[str]:
    """A PostgreSQL database for the session: one on TEST_DATABASE_URL's server, or else on a throw-away one.

    Each pytest-xdist worker ("gw0", "gw1"...) has a database of its own, since every test empties its database.
    """
    external = os.environ.get("TEST_DATABASE_URL", "")
    if not external:
        with throwaway_postgres() as url:
            yield url
        return
    if worker_id == "master":  # not distributed: the database named, as it is
        yield external
        return
    with database_of_its_own(external, f"items_test_{worker_id}") as url:
        yield url


@contextmanager
def database_of_its_own(server_url: str, name: str) -> Generator[str]:
    """A new database `name` on the server of `server_url` (made afresh, dropped afterwards), as a URL."""
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    asyncio.run(run_statements(server_url, drop, f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        asyncio.run(run_statements(server_url, drop))


@pytest.fixture
async def postgres_url(postgres_server: str) -> str:
    """The PostgreSQL test database emptied, so each test starts from nothing."""
    connection = await asyncpg.connect(postgres_server)
    try:
        await connection.execute(EMPTY_SCHEMA)
    finally:
        await connection.close()
    return postgres_server


@pytest.fixture
async def owned_postgres(postgres_url: str, worker_id: str) -> OwnedDatabase:
    """A database made afresh on the same server, owned by a role of its own: held by row-level security, as the
    service is (tests.postgres.OwnedDatabase)."""
    return await owned_database(postgres_url, f"items_owned_{worker_id}")


@pytest.fixture(scope="session")
def sqlite_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sqlite")


@pytest.fixture
def sqlite_path(sqlite_directory: Path) -> Path:
    """Where an empty SQLite database starts: the same path for every test of a worker (as postgres_url's database is
    the same one, emptied), so that the settings naming it are equal and `client` can start the app it built before."""
    for file in sqlite_directory.iterdir():
        file.unlink()
    return sqlite_directory / "items.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that uses it runs once per storage backend."""
    if request.param == "sqlite":
        return f"sqlite:///{request.getfixturevalue('sqlite_path')}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings.from_environ({"DATABASE_URL": database_url, "ENVIRONMENT": "test"})


@pytest.fixture(scope="session")
def built_apps() -> dict[Settings, ASGIApp]:
    """The apps `client`, `sqlite_client` and `auth_client` built, by their settings. Building one takes Litestar
    20 ms (40 under coverage), most of what a test of a few requests costs. Each test starts the app again (its
    lifespan: the store opened and migrated, the issuer's keys fetched) on an emptied database, as a process serving
    many requests with one app would. What outlives a start: the metrics (a test that counts what they saw builds an
    app of its own), Litestar's cached API document, and state every request leaves as it found it (keys in flight)."""
    return {}


@asynccontextmanager
async def started(settings: Settings, built_apps: dict[Settings, ASGIApp]) -> AsyncGenerator[Client]:
    """A client of the app built for `settings`, started (and stopped after the test) on its database; an app of its
    own where a test starts a second one with the same settings (one app's state holds one store)."""
    app = built_apps.pop(settings, None) or create_app(settings)
    try:
        async with AsyncTestClient(app=app) as test_client:
            yield test_client
    finally:
        built_apps.setdefault(settings, app)


@pytest.fixture
async def client(settings: Settings, built_apps: dict[Settings, ASGIApp]) -> AsyncIterator[Client]:
    async with started(settings, built_apps) as test_client:
        yield test_client


@pytest.fixture
def sqlite_settings(sqlite_path: Path) -> Settings:
    return Settings.from_environ({"DATABASE_URL": f"sqlite:///{sqlite_path}", "ENVIRONMENT": "test"})


@pytest.fixture
async def sqlite_client(sqlite_settings: Settings, built_apps: dict[Settings, ASGIApp]) -> AsyncIterator[Client]:
    """For behaviour that does not depend on the storage backend: runs once."""
    async with started(sqlite_settings, built_apps) as test_client:
        yield test_client
