"""`just bench`: the service against plain Litestar and a raw ASGI baseline, under wrk, interleaved rounds, medians.

    python -m tests.bench.bench [--rounds 3] [--duration 5] [--connections 64] [--output bench.json]

The service runs as in production (JSON access lines to a file, metrics on, one uvicorn worker);
the raw ASGI baseline (tests/bench/baseline.py), the same endpoints written plainly in Litestar
(tests/bench/framework.py: the framework's own cost, nothing of the service's) and the same again
writing one JSON line per request through Litestar's StructlogPlugin (the reference of the floors)
run under the same uvicorn, and so does the service with its access line off, and with access tokens checked (its
reads then carry a bearer token, RS256 as most identity providers sign, verified against a key set
on disk: the cost of verification, not of a network): once with one token, as a client sends it for
its whole life (verified once, then found among the verified tokens), and once with a new token on
every request, more than the service keeps (every one verified by PyJWT). Servers are pinned to CPU 0 and wrk to
CPU 1 where there are two. Item scenarios run on SQLite, and on PostgreSQL too when TEST_DATABASE_URL
is set. A benchmark, not a test (neither `just test` nor CI runs it): it reports, compares against the floors of
tests/bench/README.md, and exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from tests.otlp import running_receiver
from tests.postgres import EMPTY_SCHEMA, owned_database
from tests.service import TLS, free_port

if TYPE_CHECKING:
    from tests.auth.issuer import Issuer

ROOT = Path(__file__).parents[2]
SEED_ITEMS = 10_000
# The service's share of what Litestar serves on the same endpoints writing one JSON line per request through its
# StructlogPlugin (tests/bench/framework.py, `logged`): like with like, the access line on both sides. The reference
# keeps items in a dict and syncs no disk, so the item scenarios' floors leave room for the database.
FLOORS = {"health": 1.00, "calculate": 1.00, "read item": 0.90, "create item": 0.90, "list 50 items": 0.60}
# Each scenario's p99 against the same reference's, in the same run.
P99_FACTOR = 1.5
COLD_START_CEILING_S = 0.5
IDLE_RSS_CEILING_MIB = 55.0
# An authenticated read against an open one, both on the service (issue 18).
AUTHENTICATED_READ_FLOOR = 0.80
# A create under an Idempotency-Key (stored with the item, in the same transaction) against one without (issue 19).
KEYED_CREATE_FLOOR = 0.80
# Reading an item with tenancy on against the same with it off, tokens checked on both, on the same database
# (issue 31): PostgreSQL where TEST_DATABASE_URL is set, as the role owning its database, else SQLite.
TENANCY_READ_FLOOR = 0.90
# The service with tracing off (the default) against the release before tracing existed, in the same run (issue 20):
# off must cost nothing. The release is the parent of the commit that added app/observability/tracing.py.
UNTRACED_FLOOR = 0.97
TRACING_ADDED_IN = "app/observability/tracing.py"
# The service against the release before the reshape into Controllers, guards and injected services, in the same run:
# the reshape may cost at most 5% on each scenario with a floor.
RELEASE_FLOOR = 0.95
RELEASE_COMMIT = "51ec76c5bd2b70995fcff421d2b71e836af6da6f"
TWO_CPUS = (os.cpu_count() or 1) >= 2


@dataclass
class Scenario:
    name: str
    method: str
    path: str  # "{id}" is replaced by a seeded item's id
    body: str = ""
    uses_items: bool = False
    headers: dict[str, str] = field(default_factory=dict[str, str])
    new_idempotency_keys: bool = False  # each request under an Idempotency-Key of its own


NEW_ITEM = '{"name": "bench", "description": "a benchmark item"}'
SCENARIOS = [
    Scenario("health", "GET", "/health"),
    Scenario("calculate", "POST", "/api/v1/calculate", '{"a": 12, "b": 30, "operation": "multiply"}'),
    Scenario("read item", "GET", "/api/v1/items/{id}", uses_items=True),
    # The client's copy is current (a seeded item is in its first version): 304, no body.
    Scenario("read item (304)", "GET", "/api/v1/items/{id}", uses_items=True, headers={"If-None-Match": '"1"'}),
    Scenario("create item", "POST", "/api/v1/items", NEW_ITEM, True),
    Scenario("create with a key", "POST", "/api/v1/items", NEW_ITEM, True, new_idempotency_keys=True),
    Scenario("list 50 items", "GET", "/api/v1/items?limit=50", uses_items=True),
]


@dataclass
class Measurement:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass
class Target:
    name: str
    command: list[str]
    environment: dict[str, str]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    cold_start_s: float = 0.0
    idle_rss_mib: float = 0.0
    loaded_rss_mib: float = 0.0
    item_id: str = ""
    headers: dict[str, str] = field(default_factory=dict[str, str])
    # Sent in turn as bearer tokens, one a request, where one token in the headers would not do.
    rotated_tokens: list[str] = field(default_factory=list[str])
    only: frozenset[str] | None = None  # the scenarios measured on this target; None: every one
    directory: Path = ROOT  # where it starts: another checkout runs another release
    backend: str = "SQLite"  # the database of the service's targets
    results: dict[str, list[Measurement]] = field(default_factory=dict[str, list[Measurement]])

    def measures(self, scenario: Scenario) -> bool:
        if self.only is not None:
            return scenario.name in self.only
        return scenario.uses_items or self.name != "postgresql"

    def start(self, log: Path) -> None:
        self.port = free_port()
        pin = ["taskset", "-c", "0"] if TWO_CPUS else []
        environment = {**os.environ, **self.environment, "PORT": str(self.port)}
        started = time.monotonic()
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [*pin, *self.command, *(["--port", str(self.port)] if "uvicorn" in self.command else [])],
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
            )
        # One client for the whole wait: each new one loads the CA bundle (30-40 ms), which the cold start counted.
        with httpx.Client(timeout=1, verify=TLS) as client:
            while True:
                try:
                    if client.get(f"{self.url}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() - started > 30:
                    raise RuntimeError(f"{self.name} did not start; see {log}")
                time.sleep(0.005)
        self.cold_start_s = time.monotonic() - started
        time.sleep(1)
        self.idle_rss_mib = rss_mib(self.process.pid)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)


def rss_mib(pid: int, key: str = "VmRSS") -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{key}:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


async def seed(target: Target, count: int) -> None:
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=target.url, limits=limits, timeout=30, headers=target.headers) as client:

        async def create(number: int) -> str:
            response = await client.post("/api/v1/items", json={"name": f"seed {number}", "description": "seeded"})
            response.raise_for_status()
            item_id: str = response.json()["id"]
            return item_id

        ids: list[str] = []
        for start in range(0, count, 500):
            ids += await asyncio.gather(*(create(number) for number in range(start, min(start + 500, count))))
        target.item_id = ids[len(ids) // 2]


def wrk(target: Target, scenario: Scenario, duration: int, connections: int, workdir: Path) -> Measurement:
    script = workdir / "scenario.lua"
    body = json.dumps(scenario.body) if scenario.body else "nil"
    headers = {"Content-Type": "application/json", **target.headers, **scenario.headers}
    hook = ""
    if target.rotated_tokens:
        hook = ROTATE_TOKENS.replace("TOKENS", ", ".join(map(json.dumps, target.rotated_tokens)))
    elif scenario.new_idempotency_keys:
        hook = NEW_KEYS.replace("PREFIX", json.dumps(uuid.uuid4().hex))  # unique across runs and targets
    script.write_text(
        f'wrk.method = "{scenario.method}"\nwrk.body = {body}\n'
        + "".join(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}\n" for name, value in headers.items())
        + hook
    )
    path = scenario.path.replace("{id}", target.item_id)
    pin = ["taskset", "-c", "1"] if TWO_CPUS else []
    output = subprocess.run(
        [*pin, "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), target.url + path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> Measurement:
    def latency_ms(percentile: str) -> float:
        match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        assert match is not None, output
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    requests = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert requests is not None, output
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(count) for count in socket_errors.groups()) if socket_errors else 0
    return Measurement(float(requests.group(1)), latency_ms("50"), latency_ms("99"), errors)


def median(measurements: list[Measurement]) -> Measurement:
    return Measurement(
        statistics.median(m.requests_per_s for m in measurements),
        statistics.median(m.p50_ms for m in measurements),
        statistics.median(m.p99_ms for m in measurements),
        sum(m.errors for m in measurements),
    )


def versions() -> dict[str, str]:
    from importlib.metadata import version  # noqa: PLC0415

    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
    packages = ("items-service", "litestar", "msgspec", "uvicorn", "uvloop", "httptools", "structlog")
    return {"python": sys.version.split()[0], "wrk": wrk_version, **{name: version(name) for name in packages}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--output", type=Path, default=ROOT / "bench.json")
    arguments = parser.parse_args()
    # Where the traced service sends its spans: answered as a collector answers, and dropped.
    with running_receiver(keep=False) as sink:
        return measure(arguments, sink.url)


def measure(arguments: argparse.Namespace, sink_url: str) -> int:  # noqa: C901, PLR0912, PLR0915
    workdir = Path(tempfile.mkdtemp(prefix="items-bench-"))
    uvicorn = [sys.executable, "-m", "uvicorn", "--loop", "uvloop", "--http", "httptools", "--no-access-log"]
    service = [sys.executable, "-m", "app"]
    # "test": the open targets run open, and the tokens' key set is read from a file, as only the tests may.
    production = {"ENVIRONMENT": "test", "LOG_FORMAT": "json", "ACCESS_LOG": "true", "METRICS": "true"}
    targets = [
        Target("baseline", [*uvicorn, "--log-level", "warning", "tests.bench.baseline:app"], {}),
        Target("litestar", [*uvicorn, "--log-level", "warning", "tests.bench.framework:app"], {}),
        Target("structlog", [*uvicorn, "--log-level", "warning", "--factory", "tests.bench.framework:logged"], {}),
        Target("sqlite", service, {**production, "DATABASE_URL": f"sqlite:///{workdir / 'items.db'}"}),
        # What the access line costs: the one difference from "sqlite" (judged by no floor).
        Target(
            "no-access",
            service,
            {**production, "ACCESS_LOG": "false", "DATABASE_URL": f"sqlite:///{workdir / 'quiet.db'}"},
        ),
    ]
    targets += authenticated_targets(service, production, workdir)
    targets += tracing_targets(service, production, workdir, sink_url)
    reshape = "release before the reshape into Controllers, guards and injected services"
    targets += checkout_target("release", RELEASE_COMMIT, reshape, production, workdir)
    if postgres := os.environ.get("TEST_DATABASE_URL"):
        subprocess.run([sys.executable, "-c", RESET_POSTGRES, postgres], check=True)
        targets.append(Target("postgresql", service, {**production, "DATABASE_URL": postgres}))

    print(f"Benchmark: {arguments.rounds} rounds of {arguments.duration} s, {arguments.connections} connections,")
    print(f"servers on CPU 0 and wrk on CPU 1: {TWO_CPUS}. Logs in {workdir}.")
    print("Targets: the raw ASGI baseline, the endpoints written plainly in Litestar, the service on each database,")
    print("the service on SQLite without access lines, and with access tokens checked (read item only): one token")
    print("for every request (token), a new one for each (new token); tracing every request to a local OTLP sink")
    print("(tracing), the release before tracing existed (untraced) and the release before the reshape into")
    print("Controllers, guards and injected services (release); and reading, listing and creating items, tokens")
    print("checked, with each item its tenant's (tenants) or shared (shared), on PostgreSQL where TEST_DATABASE_URL")
    print("is set, else SQLite.")
    try:
        for target in targets:
            target.start(workdir / f"{target.name}.log")
            asyncio.run(seed(target, SEED_ITEMS))
            print(f"  {target.name}: started in {target.cold_start_s:.3f} s, {target.idle_rss_mib:.1f} MiB idle")
        for scenario in SCENARIOS:
            for _ in range(arguments.rounds):
                for target in targets:  # interleaved, so that drift on the machine hits every target alike
                    if target.measures(scenario):
                        measurement = wrk(target, scenario, arguments.duration, arguments.connections, workdir)
                        target.results.setdefault(scenario.name, []).append(measurement)
            print(f"  measured {scenario.name}")
        for target in targets:
            assert target.process is not None
            target.loaded_rss_mib = rss_mib(target.process.pid, "VmHWM")
    finally:
        for target in targets:
            target.stop()
        for target in targets:
            if target.directory != ROOT:  # a release checked out from git history
                subprocess.run(["git", "worktree", "remove", "--force", str(target.directory)], cwd=ROOT, check=False)

    baseline = targets[0]
    by_name = {target.name: target for target in targets}
    framework, logged, sqlite = by_name["litestar"], by_name["structlog"], by_name["sqlite"]
    rows: list[dict[str, Any]] = []
    print()
    print("ratio: to the baseline; vs litestar: to plain Litestar; vs structlog: to Litestar logging each request")
    print(
        f"{'scenario':<18} {'target':<11} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'ratio':>7} "
        f"{'vs litestar':>12} {'vs structlog':>13}"
    )
    for scenario in SCENARIOS:
        reference = median(baseline.results[scenario.name]).requests_per_s
        framework_reference = median(framework.results[scenario.name]).requests_per_s
        logged_reference = median(logged.results[scenario.name]).requests_per_s
        for target in targets:
            if scenario.name not in target.results:
                continue
            result = median(target.results[scenario.name])
            ratio = result.requests_per_s / reference
            ratio_to_litestar = result.requests_per_s / framework_reference
            ratio_to_structlog = result.requests_per_s / logged_reference
            rows.append(
                {
                    "scenario": scenario.name,
                    "target": target.name,
                    **asdict(result),
                    "ratio": ratio,
                    "ratio_to_litestar": ratio_to_litestar,
                    "ratio_to_structlog": ratio_to_structlog,
                }
            )
            print(
                f"{scenario.name:<18} {target.name:<11} {result.requests_per_s:>9.0f} {result.p50_ms:>8.2f} "
                f"{result.p99_ms:>8.2f} {result.errors:>7} {ratio:>7.0%} {ratio_to_litestar:>12.0%} "
                f"{ratio_to_structlog:>13.0%}"
            )
    print()
    for target in targets:
        print(
            f"{target.name:<11} cold start {target.cold_start_s:.3f} s, RSS idle {target.idle_rss_mib:.1f} MiB, "
            f"peak under load {target.loaded_rss_mib:.1f} MiB"
        )

    verdicts: list[tuple[str, bool]] = []
    for name, floor in FLOORS.items():
        reference = median(logged.results[name]).requests_per_s
        ratio = median(sqlite.results[name]).requests_per_s / reference
        verdicts.append((f"{name} at {ratio:.0%} of Litestar logging each request (floor {floor:.0%})", ratio >= floor))
    shared, tenants = median(by_name["shared"].results["read item"]), median(by_name["tenants"].results["read item"])
    ratio = tenants.requests_per_s / shared.requests_per_s
    backend = by_name["tenants"].backend
    tenancy = f"read item with tenancy on at {ratio:.0%} of tenancy off, on {backend} (floor {TENANCY_READ_FLOOR:.0%})"
    verdicts.append((tenancy, ratio >= TENANCY_READ_FLOOR))
    authenticated = median(by_name["token"].results["read item"]).requests_per_s  # verified once: the usual case
    ratio = authenticated / median(sqlite.results["read item"]).requests_per_s
    verdicts.append(
        (
            f"read item with a token at {ratio:.0%} of read item without (floor {AUTHENTICATED_READ_FLOOR:.0%})",
            ratio >= AUTHENTICATED_READ_FLOOR,
        )
    )
    keyed = median(sqlite.results["create with a key"]).requests_per_s
    ratio = keyed / median(sqlite.results["create item"]).requests_per_s
    verdicts.append(
        (
            f"create with a key at {ratio:.0%} of create item (floor {KEYED_CREATE_FLOOR:.0%})",
            ratio >= KEYED_CREATE_FLOOR,
        )
    )
    # Against the releases checked out from git history, where it has them.
    releases = (
        ("untraced", ", tracing off,", "the release before tracing", UNTRACED_FLOOR),
        ("release", "", "the release before the reshape", RELEASE_FLOOR),
    )
    for release, condition, what, floor in releases:
        for name in FLOORS if release in by_name else ():
            earlier = median(by_name[release].results[name]).requests_per_s
            ratio = median(sqlite.results[name]).requests_per_s / earlier
            verdicts.append((f"{name}{condition} at {ratio:.0%} of {what} (floor {floor:.0%})", ratio >= floor))
    p99_factor, p99_scenario = max(
        (median(sqlite.results[name]).p99_ms / median(logged.results[name]).p99_ms, name) for name in FLOORS
    )
    verdicts.append(
        (
            f"worst p99 ({p99_scenario}) at {p99_factor:.2f} x the reference's (ceiling {P99_FACTOR} x)",
            p99_factor <= P99_FACTOR,
        )
    )
    cold_start = f"cold start {sqlite.cold_start_s:.3f} s (ceiling {COLD_START_CEILING_S} s)"
    verdicts.append((cold_start, sqlite.cold_start_s <= COLD_START_CEILING_S))
    idle_rss = f"idle RSS {sqlite.idle_rss_mib:.1f} MiB (ceiling {IDLE_RSS_CEILING_MIB:.0f} MiB)"
    verdicts.append((idle_rss, sqlite.idle_rss_mib <= IDLE_RSS_CEILING_MIB))
    errors = sum(median(measurements).errors for target in targets for measurements in target.results.values())
    verdicts.append((f"{errors} errors", errors == 0))
    print()
    traced = by_name["tracing"]
    costs = ", ".join(
        f"{name} {median(traced.results[name]).requests_per_s / median(sqlite.results[name]).requests_per_s:.0%}"
        for name in FLOORS
    )
    print(f"tracing every request, as a share of the same service untraced: {costs}")
    print()
    for verdict, met in verdicts:
        print(f"{'met   ' if met else 'MISSED'} {verdict}")

    report = {
        "settings": vars(arguments) | {"output": str(arguments.output), "two_cpus": TWO_CPUS},
        "versions": versions(),
        "results": rows,
        "targets": {
            target.name: {
                "cold_start_s": target.cold_start_s,
                "idle_rss_mib": target.idle_rss_mib,
                "peak_rss_mib": target.loaded_rss_mib,
            }
            for target in targets
        },
        "floors_met": all(met for _, met in verdicts),
    }
    arguments.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nWrote {arguments.output}")
    return 0 if report["floors_met"] else 1


def tracing_targets(service: list[str], production: dict[str, str], workdir: Path, sink_url: str) -> list[Target]:
    """The service tracing every request to a local OTLP sink, and the release before tracing existed (from git
    history), each on the scenarios with floors."""
    traced = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink_url, "OTEL_TRACES_SAMPLER": "always_on"}
    targets = [
        Target(
            "tracing",
            service,
            {**production, **traced, "DATABASE_URL": f"sqlite:///{workdir / 'traced.db'}"},
            only=frozenset(FLOORS),
        )
    ]
    added = subprocess.run(
        ["git", "log", "--diff-filter=A", "--format=%H", "--", TRACING_ADDED_IN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    revision = f"{added[-1]}^" if added else None
    return targets + checkout_target("untraced", revision, f"release before {TRACING_ADDED_IN}", production, workdir)


def checkout_target(
    name: str, revision: str | None, release: str, production: dict[str, str], workdir: Path
) -> list[Target]:
    """The service as it was at `revision`, on SQLite, on the scenarios with floors: `python -m app` in this
    environment, in a git worktree in workdir (removed after the run). None where git cannot find the revision (a
    shallow clone), which it says."""
    checkout = workdir / name
    worktree = ["git", "worktree", "add", "--detach", str(checkout), str(revision)]
    if revision is None or subprocess.run(worktree, cwd=ROOT, capture_output=True, check=False).returncode != 0:
        print(f"No {release} in this checkout's history: no `{name}` target.")
        return []
    environment = {**production, "DATABASE_URL": f"sqlite:///{workdir / name}.db"}
    return [Target(name, [sys.executable, "-m", "app"], environment, only=frozenset(FLOORS), directory=checkout)]


def authenticated_targets(service: list[str], production: dict[str, str], workdir: Path) -> list[Target]:
    """The service on SQLite checking access tokens: RS256, the key set read from a file (no network)."""
    from app.auth.tokens import VERIFIED_TOKENS_CACHED  # noqa: PLC0415
    from tests.auth.issuer import AUDIENCE, Issuer, rsa_key  # noqa: PLC0415 - cryptography only here

    issuer = Issuer([rsa_key("bench", publish_algorithm=True)])
    key_set = workdir / "jwks.json"
    key_set.write_bytes(issuer.key_set())
    settings = {"AUTH_ISSUER": issuer.url, "AUTH_AUDIENCE": AUDIENCE, "AUTH_JWKS_URL": key_set.as_uri()}

    def token(number: int) -> str:
        # Valid for longer than any run takes; `jti` tells the tokens apart.
        claims = {"exp": int(time.time()) + 24 * 3600, "jti": str(number)}
        return issuer.token("items:read", "items:write", claims=claims)

    # More tokens than the service keeps verified, sent in turn: not one is found among them.
    rotated = [token(number) for number in range(VERIFIED_TOKENS_CACHED + 1000)]
    return tenancy_targets(service, {**production, **settings}, workdir, issuer) + [
        Target(
            name,
            service,
            {**production, **settings, "DATABASE_URL": f"sqlite:///{workdir / name}.db"},
            headers={"Authorization": f"Bearer {token(-1)}"},
            rotated_tokens=tokens,
            only=frozenset({"read item"}),
        )
        for name, tokens in (("token", []), ("new token", rotated))
    ]


def tenancy_targets(service: list[str], production: dict[str, str], workdir: Path, issuer: Issuer) -> list[Target]:
    """Tokens checked, and items each tenant's (tenants) or shared (shared), on one database: PostgreSQL where
    TEST_DATABASE_URL is set, as the role that owns its database, so that row-level security holds it as it would
    a service; else SQLite."""
    claims = {"exp": int(time.time()) + 24 * 3600, "org_id": "org-bench"}
    headers = {"Authorization": f"Bearer {issuer.token('items:read', 'items:write', claims=claims)}"}
    tenancy = {"tenants": {"AUTH_TENANT_CLAIM": "org_id"}, "shared": {}}
    targets: list[Target] = []
    for name, switch in tenancy.items():
        if server := os.environ.get("TEST_DATABASE_URL"):
            database, backend = asyncio.run(owned_database(server, f"items_bench_{name}")).url, "PostgreSQL"
        else:
            database, backend = f"sqlite:///{workdir / name}.db", "SQLite"
        environment = {**production, **switch, "DATABASE_URL": database}
        # Read item is judged by TENANCY_READ_FLOOR; a page and a create are reported beside it.
        scenarios = frozenset({"read item", "list 50 items", "create item"})
        targets.append(Target(name, service, environment, headers=headers, only=scenarios, backend=backend))
    return targets


# Each request carries the next token of the list (wrk's request hook).
ROTATE_TOKENS = """
local tokens = {TOKENS}
local next_token = 0
request = function()
    next_token = next_token % #tokens + 1
    wrk.headers["Authorization"] = "Bearer " .. tokens[next_token]
    return wrk.format()
end
"""


# Each request carries an Idempotency-Key never sent before (wrk's request hook).
NEW_KEYS = """
local prefix = PREFIX
local sequence = 0
request = function()
    sequence = sequence + 1
    wrk.headers["Idempotency-Key"] = prefix .. "-" .. sequence
    return wrk.format()
end
"""


RESET_POSTGRES = f"""
import asyncio, sys, asyncpg
async def reset(url):
    connection = await asyncpg.connect(url)
    await connection.execute({EMPTY_SCHEMA!r})
    await connection.close()
asyncio.run(reset(sys.argv[1]))
"""

if __name__ == "__main__":
    sys.exit(main())
