"""`just replicas`: two replicas of the service on one PostgreSQL, behind nginx, scraped by Prometheus.

    python -m tests.replicas

Real programs on this machine, as an operator runs them: a throw-away PostgreSQL server (tests/postgres.py),
two `python -m app` processes sharing it, nginx from Debian in front of them with the load balancer
configuration of ci/deploy/nginx/, and Prometheus from Debian scraping both. Under steady load through nginx:

1. rolling restart: each replica in turn is taken out of the load balancer, gets SIGTERM, is started again
   and put back, as an orchestrator does: no request may fail;
2. crash: one replica stalls (SIGSTOP) under a burst of creates, so its clients time out and retry on the other;
   it resumes, commits the creates they gave up on, and is killed (SIGKILL) with requests in flight. The clients
   retry each create under its Idempotency-Key: none sees a failure, every create they saw acknowledged is
   readable afterwards, and the items stored are exactly the distinct keys acknowledged (none twice; without
   the keys, the late commits were stored twice);
3. observability: both targets are up in Prometheus, and the requests it counts across the replicas match
   the requests nginx logged, within one scrape interval's traffic;
4. correlation: a W3C traceparent sent through nginx comes back as `trace_id` on the request's log records; the
   replica's server span and its database span reach an OTLP receiver on loopback in the caller's trace, and the
   access line carries the server span's id; the access line names the client's address, not nginx's
   (FORWARDED_ALLOW_IPS trusts nginx alone);
5. access: through nginx, a request without a token is refused (401), one without the scope too (403), and
   one with it is served;
6. metrics stay inside: no spelling of the metrics path (/metrics/, //metrics, /metrics?x, %-escaped) passes
   nginx, while each replica serves them to Prometheus directly;
7. busy pool: more slow requests than one replica has pooled connections: those beyond the pool are answered 503
   (storage-busy, Retry-After) within the pool's timeout, and /health/ready stays 200 on both replicas;
8. rate limit: a client that sends far more than nginx's per-address limit gets 429s with Retry-After, while
   another client, at an ordinary pace from another address at the same time, gets none;
9. tenants: several tenants create, list, page, update and delete at once through nginx, on both replicas: no
   answer carries another tenant's item, and another tenant's item is a 404.

The replicas check access tokens from an identity provider on loopback (tests/auth/issuer.py), as production
does: every request of the load carries one, naming its tenant (AUTH_TENANT_CLAIM). They connect as the role that
owns their database, neither superuser nor BYPASSRLS, so PostgreSQL's row-level security holds them as it would
hold a production service.

It prints a table of requests, failures and p99 per scenario, and exits 1 on any broken promise.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Generator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt, wait_random_exponential

from tests.auth.issuer import AUDIENCE, Issuer, rsa_key, running_issuer
from tests.otlp import Receiver, running_receiver
from tests.postgres import OwnedDatabase, owned_database, throwaway_postgres
from tests.service import Service, free_port, launch, wait_until_live

ROOT = Path(__file__).resolve().parents[1]
NGINX_CONFIG = ROOT / "ci" / "deploy" / "nginx" / "nginx.conf"
ALERT_RULES = ROOT / "ci" / "deploy" / "prometheus" / "alerts.yml"
SCRAPE_INTERVAL_S = 1
CONCURRENCY = 16
DEADLINE_S = 20.0
# Each client of the load has a loopback address of its own, as clients behind a load balancer have, and stays
# below nginx's limit per address (ci/deploy/nginx/nginx.conf: 50 a second).
REQUESTS_PER_CLIENT_S = 30
ALL_SCOPES = ("items:read", "items:write", "calculate")
TENANT_CLAIM = "org_id"
LOAD_TENANT = {TENANT_CLAIM: "org-load"}  # the tenant of every scenario's requests but the tenants'
TENANTS = tuple(f"org-{number}" for number in range(4))
TENANT_ROUNDS = 15
CORRELATED_CLIENT = "127.0.0.77"
POOL_SIZE = 10
POOL_TIMEOUT_S = 1.0


def client_address(number: int) -> str:
    return f"127.0.0.{10 + number}"


# Clients that give up well before the stall of the crash scenario ends.
CRASH_CLIENT_TIMEOUT_S = 0.5
STALL_S = 2.0
# What a client retries: no answer (the connection broke), nginx's answers for a replica that went away, and a 409
# for a keyed create still running. A create is safe to retry only because it carries its Idempotency-Key.
RETRIED_STATUSES = frozenset({0, 409, 502, 503, 504})
MAX_ATTEMPTS = 10
FIRST_BACKOFF_S = 0.05


@dataclass
class Outcome:
    """What the client saw of one request, after its retries."""

    method: str
    status: int  # 0: no answer at all
    seconds: float
    retries: int = 0


@dataclass
class Load:
    """Clients that create an item and read it back, in a loop, through the load balancer."""

    url: str
    token: str
    timeout_s: float = 10.0
    outcomes: list[Outcome] = field(default_factory=list[Outcome])
    acknowledged: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    acknowledged_keys: set[str] = field(default_factory=set[str])

    async def run(self, stop: asyncio.Event, concurrency: int = CONCURRENCY) -> None:
        await asyncio.gather(*(self._client(stop, number) for number in range(concurrency)))

    async def _client(self, stop: asyncio.Event, number: int) -> None:
        # A connection per request: on a reload nginx closes idle keep-alive connections, and a request a
        # client sends on one at that moment is lost before any replica sees it. Clients that keep
        # connections alive retry such requests (RFC 9112, 9.3.1); these do not need to.
        transport = httpx.AsyncHTTPTransport(
            local_address=client_address(number), limits=httpx.Limits(max_keepalive_connections=0)
        )
        headers = {"Authorization": f"Bearer {self.token}"}
        async with httpx.AsyncClient(
            base_url=self.url, transport=transport, headers=headers, timeout=self.timeout_s
        ) as client:
            sequence = 0
            while not stop.is_set():
                sequence += 1
                paced_until = time.perf_counter() + 2 / REQUESTS_PER_CLIENT_S  # two requests a round
                item = {"name": f"client {number}, item {sequence}", "description": ""}
                key = str(uuid.uuid4())
                created = await self.request(client, "POST", "/api/v1/items", item, {"Idempotency-Key": key})
                if created is not None and created.status_code == 201:
                    item = created.json()
                    self.acknowledged.append(item)
                    self.acknowledged_keys.add(key)
                    await self.request(client, "GET", f"/api/v1/items/{item['id']}")
                await asyncio.sleep(max(0.0, paced_until - time.perf_counter()))

    async def request(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        body: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response | None:
        """The request, retried with backoff (tenacity) while it gets no answer or one that says to retry."""

        async def attempt() -> httpx.Response | None:
            try:
                return await client.request(method, path, json=body, headers=headers)
            except httpx.TransportError:
                return None

        retrying = AsyncRetrying(
            retry=retry_if_result(lambda response: status_of(response) in RETRIED_STATUSES),
            wait=wait_random_exponential(multiplier=FIRST_BACKOFF_S, max=1),
            stop=stop_after_attempt(MAX_ATTEMPTS),
            retry_error_callback=last_answer,
        )
        started = time.perf_counter()
        response: httpx.Response | None = await retrying(attempt)
        retries = retrying.statistics["attempt_number"] - 1
        self.outcomes.append(Outcome(method, status_of(response), time.perf_counter() - started, retries))
        return response


def last_answer(state: RetryCallState) -> httpx.Response | None:
    """Once the attempts are spent: the last answer (or None), which the client counts as a failure."""
    assert state.outcome is not None
    return cast("httpx.Response | None", state.outcome.result())


def status_of(response: httpx.Response | None) -> int:
    return 0 if response is None else response.status_code


@dataclass
class Result:
    scenario: str
    outcomes: list[Outcome]
    promises: list[tuple[str, bool]]

    @property
    def failures(self) -> int:
        return sum(1 for outcome in self.outcomes if not 200 <= outcome.status < 300)

    @property
    def retries(self) -> int:
        return sum(outcome.retries for outcome in self.outcomes)

    @property
    def p99_ms(self) -> float:
        latencies = [outcome.seconds * 1000 for outcome in self.outcomes]
        return statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else 0.0


class Replica:
    def __init__(self, name: str, database_url: str, workdir: Path, issuer: Issuer, traces: Receiver) -> None:
        self.name = name
        self.issuer = issuer
        self.traces = traces
        self.port = free_port()
        self.database_url = database_url
        self.workdir = workdir
        self.log_paths: list[Path] = []
        self.service: Service | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        environment = {
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATABASE_URL": self.database_url,
            "ENVIRONMENT": "replicas",
            "SHUTDOWN_TIMEOUT": "5",
            "AUTH_ISSUER": self.issuer.url,
            "AUTH_AUDIENCE": AUDIENCE,
            "AUTH_TENANT_CLAIM": TENANT_CLAIM,
            # nginx connects from here: its X-Forwarded-For, and no one else's, names the client.
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
            "DATABASE_POOL_SIZE": str(POOL_SIZE),
            "DATABASE_POOL_TIMEOUT": str(POOL_TIMEOUT_S),
            # Traces to an OTLP receiver on loopback, only of the requests whose caller sampled them, as a fleet
            # behind an edge that decides does: the load sends no traceparent, the correlation scenario does.
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.traces.url,
            "OTEL_TRACES_SAMPLER": "parentbased_always_off",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        log_path = self.workdir / f"{self.name}.{len(self.log_paths) + 1}.log"  # one file per run
        self.log_paths.append(log_path)
        self.service = Service(launch(environment, log_path), f"http://{self.address}", log_path)
        wait_until_live(self.service)
        wait_until(lambda: httpx.get(f"http://{self.address}/health/ready", timeout=1).status_code == 200)

    def stop(self) -> int:
        """SIGTERM, as an orchestrator sends it; the exit code."""
        assert self.service is not None
        return self.service.stop(DEADLINE_S)

    def hang(self) -> None:
        """SIGSTOP: it stops answering, and the requests sent to it meanwhile wait, as on a stalled process."""
        assert self.service is not None
        self.service.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT: it goes on with what waited, answering clients that may have given up."""
        assert self.service is not None
        self.service.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill ends it."""
        if self.service is not None and self.service.process.poll() is None:
            self.service.process.kill()
            self.service.process.wait(DEADLINE_S)

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for path in self.log_paths for line in path.read_text().splitlines()]


def wait_until(condition: Callable[[], bool], deadline_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            if condition():
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {deadline_s} s")
        time.sleep(0.05)


def terminate(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None:
        process.terminate()
        process.wait(DEADLINE_S)


class Nginx:
    """nginx from Debian, in the foreground, with the load balancer's configuration from ci/deploy/nginx/."""

    def __init__(self, workdir: Path) -> None:
        self.directory = workdir / "nginx"
        self.directory.mkdir()
        # nginx.conf includes the upstream servers and the listen address from files beside it.
        (self.directory / "nginx.conf").symlink_to(NGINX_CONFIG)
        self.port = free_port()
        (self.directory / "listen.conf").write_text(f"listen 127.0.0.1:{self.port};\n")
        self.access_log = self.directory / "access.log"  # its JSON access lines go to stdout
        self.process: subprocess.Popen[bytes] | None = None

    def route_to(self, replicas: list[Replica], down: Replica | None = None) -> None:
        lines = [f"server {replica.address}{' down' if replica is down else ''};\n" for replica in replicas]
        (self.directory / "replicas.conf").write_text("".join(lines))

    def _command(self, *arguments: str) -> list[str]:
        settings = f"daemon off; pid {self.directory / 'nginx.pid'};"
        return ["nginx", "-c", str(self.directory / "nginx.conf"), "-g", settings, *arguments]

    def start(self) -> None:
        with self.access_log.open("ab") as stdout, (self.directory / "error.log").open("ab") as stderr:
            self.process = subprocess.Popen(self._command(), stdout=stdout, stderr=stderr)
        wait_until(lambda: httpx.get(f"{self.url}/health/live", timeout=1).status_code == 200)

    def reload(self) -> None:
        """Take the new configuration; nginx's old workers finish what they had begun."""
        subprocess.run(self._command("-s", "reload"), check=True, capture_output=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logged_requests(self) -> int:
        return sum(1 for line in self.access_log.read_text().splitlines() if '"logger":"nginx.access"' in line)

    def stop(self) -> None:
        terminate(self.process)


class Prometheus:
    """Prometheus from Debian, scraping the replicas every second, with the alerting rules loaded."""

    def __init__(self, workdir: Path, replicas: list[Replica]) -> None:
        self.directory = workdir / "prometheus"
        self.directory.mkdir()
        self.port = free_port()
        targets = ", ".join(f'"{replica.address}"' for replica in replicas)
        (self.directory / "prometheus.yml").write_text(
            f"global:\n  scrape_interval: {SCRAPE_INTERVAL_S}s\n  evaluation_interval: {SCRAPE_INTERVAL_S}s\n"
            f"rule_files: [{json.dumps(str(ALERT_RULES))}]\n"
            f"scrape_configs:\n  - job_name: items-service\n    static_configs:\n      - targets: [{targets}]\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.directory / "prometheus.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    "prometheus",
                    f"--config.file={self.directory / 'prometheus.yml'}",
                    f"--storage.tsdb.path={self.directory / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        wait_until(lambda: httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def query(self, expression: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expression}, timeout=5)
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result

    def scalar(self, expression: str) -> float:
        result = self.query(expression)
        return float(result[0]["value"][1]) if result else 0.0

    def stop(self) -> None:
        terminate(self.process)


@contextmanager
def steady_load(url: str, token: str, timeout_s: float = 10.0) -> Generator[Load]:
    """Load through the load balancer for as long as the block runs, from a thread of its own."""
    load = Load(url, token, timeout_s)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    runner = loop.create_task(load.run(stop))
    thread = threading.Thread(target=loop.run_until_complete, args=(runner,), daemon=True)
    thread.start()
    try:
        time.sleep(0.5)  # under way before anything happens to the replicas
        yield load
        time.sleep(0.5)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(DEADLINE_S)
        loop.close()


def rolling_restart(replicas: list[Replica], nginx: Nginx, token: str) -> Result:
    promises: list[tuple[str, bool]] = []
    with steady_load(nginx.url, token) as load:
        for replica in replicas:
            nginx.route_to(replicas, down=replica)
            nginx.reload()
            time.sleep(1)  # nginx's old workers finish the requests they had sent this replica
            promises.append((f"{replica.name} stopped with 0 on SIGTERM", replica.stop() == 0))
            replica.start()
            nginx.route_to(replicas)
            nginx.reload()
            time.sleep(1)
    result = Result("rolling restart", load.outcomes, promises)
    result.promises.append(("no request failed", result.failures == 0))
    # Drained first, no replica is cut off mid-request: clients that do not retry lose nothing either.
    result.promises.append(("no request needed a retry", result.retries == 0))
    return result


def crash(replicas: list[Replica], nginx: Nginx, token: str, database_url: str) -> Result:
    victim = replicas[0]
    items_before = stored_items(database_url)
    with steady_load(nginx.url, token, timeout_s=CRASH_CLIENT_TIMEOUT_S) as load:
        time.sleep(1)
        # It stalls: what nginx sends it waits, and the clients time out and retry, reaching the other replica.
        victim.hang()
        time.sleep(STALL_S)
        # It resumes and works through what waited: it commits creates whose clients gave up on them long ago,
        # and whose retries the other replica answered, until it dies with requests in flight.
        victim.resume()
        time.sleep(0.3)
        victim.kill()
        time.sleep(1)
    victim.start()
    # Read back from a replica directly: through nginx, so many reads from one address would be rate limited.
    survivor = f"http://{replicas[1].address}"
    with httpx.Client(base_url=survivor, timeout=10, headers={"Authorization": f"Bearer {token}"}) as client:
        missing = [item for item in load.acknowledged if client.get(f"/api/v1/items/{item['id']}").json() != item]
    stored = stored_items(database_url) - items_before
    keys = len(load.acknowledged_keys)
    result = Result("crash (SIGKILL)", load.outcomes, [])
    retried = sum(1 for outcome in load.outcomes if outcome.method == "POST" and outcome.retries)
    result.promises.append((f"the crash cut creates off, which their clients retried ({retried})", retried > 0))
    result.promises.append(("no client saw a failure (retrying under its Idempotency-Key)", result.failures == 0))
    result.promises.append((f"every acknowledged create is readable ({len(load.acknowledged)})", not missing))
    result.promises.append((f"items stored ({stored}) = distinct keys acknowledged ({keys})", stored == keys))
    return result


def stored_items(database_url: str) -> int:
    async def count() -> int:
        connection = await asyncpg.connect(database_url)
        try:
            return int(await connection.fetchval("SELECT count(*) FROM items"))
        finally:
            await connection.close()

    return asyncio.run(count())


def observability(replicas: list[Replica], nginx: Nginx, prometheus: Prometheus, token: str) -> Result:
    counted = 'sum(http_requests_total{job="items-service", route!="/metrics"})'
    wait_until(lambda: prometheus.scalar('count(up{job="items-service"} == 1)') == len(replicas))
    time.sleep(2 * SCRAPE_INTERVAL_S)
    before_prometheus, before_nginx = prometheus.scalar(counted), nginx.logged_requests()
    with steady_load(nginx.url, token) as load:
        time.sleep(3)
    time.sleep(2 * SCRAPE_INTERVAL_S)  # the last scrape follows the last request
    counted_by_prometheus = prometheus.scalar(counted) - before_prometheus
    logged_by_nginx = nginx.logged_requests() - before_nginx
    per_scrape = logged_by_nginx / 4  # the load ran for about four scrape intervals
    up = prometheus.scalar('count(up{job="items-service"} == 1)')
    result = Result("observability", load.outcomes, [])
    result.promises.append((f"both targets up in Prometheus ({up:.0f})", up == len(replicas)))
    agreement = f"Prometheus counted {counted_by_prometheus:.0f} requests, nginx logged {logged_by_nginx}"
    result.promises.append((agreement, abs(counted_by_prometheus - logged_by_nginx) <= per_scrape))
    return result


def correlation(replicas: list[Replica], nginx: Nginx, token: str, traces: Receiver) -> Result:
    trace_id, caller_span_id = secrets.token_hex(16), secrets.token_hex(8)
    started = time.perf_counter()
    headers = {"traceparent": f"00-{trace_id}-{caller_span_id}-01", "Authorization": f"Bearer {token}"}
    # From an address of its own, which the replica must log as the client's, not nginx's 127.0.0.1.
    transport = httpx.HTTPTransport(local_address=CORRELATED_CLIENT)
    with httpx.Client(transport=transport) as client:
        item = {"name": "traced", "description": ""}
        response = client.post(f"{nginx.url}/api/v1/items", json=item, headers=headers)
    outcomes = [Outcome("POST", response.status_code, time.perf_counter() - started)]
    malformed = httpx.get(f"{nginx.url}/health", headers={"traceparent": "00-not-a-trace"})
    outcomes.append(Outcome("GET", malformed.status_code, 0.0))
    try:
        spans = traces.wait_for(lambda spans: any(s.name == "INSERT items" and s.trace_id == trace_id for s in spans))
    except AssertionError:
        spans = []
    in_trace = {span.kind: span for span in spans if span.trace_id == trace_id}
    server, statement = in_trace.get("SPAN_KIND_SERVER"), in_trace.get("SPAN_KIND_CLIENT")
    request_id = response.headers["x-request-id"]
    records = [record for replica in replicas for record in replica.records()]
    of_request = [record for record in records if record.get("request_id") == request_id]
    access_lines = [record for record in of_request if record.get("logger") == "app.access"]
    malformed_lines = [r for r in records if r.get("request_id") == malformed.headers["x-request-id"]]
    logged_client = access_lines[0].get("client") if access_lines else None
    promises = [
        (f"the request was logged by a replica ({len(of_request)} records)", bool(of_request)),
        ("every record of the request carries its trace_id", all(r.get("trace_id") == trace_id for r in of_request)),
        (
            "the replica's server span is in the caller's trace, a child of the caller's span",
            server is not None and server.parent_span_id == caller_span_id and server.name == "POST /api/v1/items",
        ),
        (
            "its INSERT is a child span of it, on PostgreSQL",
            server is not None
            and statement is not None
            and statement.parent_span_id == server.span_id
            and statement.attributes.get("db.system.name") == "postgresql",
        ),
        (
            "the access line carries the server span's span_id",
            server is not None and bool(access_lines) and access_lines[0].get("span_id") == server.span_id,
        ),
        (
            "a malformed traceparent starts a trace of its own (unsampled here: logged, not exported)",
            bool(malformed_lines)
            and len(str(malformed_lines[0].get("trace_id"))) == len(trace_id)
            and malformed_lines[0].get("trace_id") not in {span.trace_id for span in traces.spans},
        ),
        (f"the access line names the client ({logged_client}), not nginx", logged_client == CORRELATED_CLIENT),
    ]
    return Result("correlation", outcomes, promises)


def access(nginx: Nginx, issuer: Issuer) -> Result:
    url = f"{nginx.url}/api/v1/items"
    cases: list[tuple[str, dict[str, str], int]] = [
        ("without a token: 401", {}, 401),
        ("without the scope: 403", {"Authorization": f"Bearer {issuer.token('calculate', claims=LOAD_TENANT)}"}, 403),
        ("without a tenant: 403", {"Authorization": f"Bearer {issuer.token('items:read')}"}, 403),
        ("with the scope: 200", {"Authorization": f"Bearer {issuer.token('items:read', claims=LOAD_TENANT)}"}, 200),
    ]
    # The refusals are the point here: each answer is judged by its promise, none counts as a failed request.
    promises = [
        (promise, httpx.get(url, headers=headers).status_code == expected) for promise, headers, expected in cases
    ]
    return Result("access", [], promises)


def tenants(nginx: Nginx, issuer: Issuer) -> Result:
    """Several tenants at once through nginx, each a client of its own address: every answer holds its own items."""
    return asyncio.run(_tenants(nginx, issuer))


async def _tenants(nginx: Nginx, issuer: Issuer) -> Result:
    load = Load(nginx.url, "")
    seen: dict[str, list[dict[str, Any]]] = {tenant: [] for tenant in TENANTS}
    made: dict[str, list[str]] = {tenant: [] for tenant in TENANTS}

    async def work(number: int, tenant: str) -> None:
        token = issuer.token(*ALL_SCOPES, claims={TENANT_CLAIM: tenant})
        transport = httpx.AsyncHTTPTransport(local_address=client_address(40 + number))
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=nginx.url, transport=transport, headers=headers, timeout=10) as client:
            for round_ in range(TENANT_ROUNDS):
                paced_until = time.perf_counter() + 4 / REQUESTS_PER_CLIENT_S  # four requests a round
                body = {"name": f"{tenant} {round_}", "description": tenant}
                created = await load.request(client, "POST", "/api/v1/items", body)
                if created is None or created.status_code != 201:
                    continue
                item = created.json()
                made[tenant].append(item["id"])
                changed = await load.request(client, "PATCH", f"/api/v1/items/{item['id']}", {"description": "x"})
                page = await load.request(client, "GET", "/api/v1/items?limit=3")
                seen[tenant] += [item] + ([changed.json()] if changed and changed.status_code == 200 else [])
                seen[tenant] += page.json() if page is not None and page.status_code == 200 else []
                if round_ % 3 == 2:
                    await load.request(client, "DELETE", f"/api/v1/items/{item['id']}")
                await asyncio.sleep(max(0.0, paced_until - time.perf_counter()))
            # Another tenant's first item, which it keeps (it deletes every third), asked for by id: unknown here.
            other = made[TENANTS[(number + 1) % len(TENANTS)]][0]
            probed = await client.get(f"/api/v1/items/{other}")
            seen[tenant] += [probed.json()] if probed.status_code == 200 else []

    await asyncio.gather(*(work(number, tenant) for number, tenant in enumerate(TENANTS)))
    carried = sum(len(items) for items in seen.values())
    leaks = [item for tenant, items in seen.items() for item in items if not item["name"].startswith(f"{tenant} ")]
    promises = [
        (
            f"no answer carried another tenant's item ({carried} items seen, {len(leaks)} leaked)",
            carried > 0 and not leaks,
        ),
        ("no tenant's request failed", all(200 <= outcome.status < 300 for outcome in load.outcomes)),
    ]
    return Result("tenants", load.outcomes, promises)


def busy_pool(replicas: list[Replica], token: str, database_url: str) -> Result:
    """More slow requests than pooled connections on one replica: the surplus is a quick 503, and no probe fails."""
    return asyncio.run(_busy_pool(replicas, token, database_url))


async def _busy_pool(replicas: list[Replica], token: str, database_url: str) -> Result:
    surplus = 5
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=POOL_SIZE + surplus + 2)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:
        blocker = await asyncpg.connect(database_url)
        transaction = blocker.transaction()
        await transaction.start()
        # Every read of items waits for this lock, holding its pooled connection meanwhile: a slow query's effect.
        await blocker.execute("LOCK TABLE items IN ACCESS EXCLUSIVE MODE")

        async def timed_read() -> tuple[httpx.Response, float]:
            started = time.perf_counter()
            response = await client.get(f"http://{replicas[0].address}/api/v1/items")
            return response, time.perf_counter() - started

        reads = [asyncio.create_task(timed_read()) for _ in range(POOL_SIZE + surplus)]
        await asyncio.sleep(POOL_TIMEOUT_S + 1)  # the surplus has been answered by now
        probes = [(await client.get(f"http://{replica.address}/health/ready")).status_code for replica in replicas]
        await transaction.rollback()
        await blocker.close()
        answered = await asyncio.gather(*reads)
    busy = [(response, seconds) for response, seconds in answered if response.status_code == 503]
    served = [response for response, _ in answered if response.status_code == 200]
    quick = all(
        seconds < POOL_TIMEOUT_S + 1
        and response.headers.get("retry-after") == "1"
        and response.json()["type"].endswith("/storage-busy")
        for response, seconds in busy
    )
    promises = [
        (f"the {surplus} requests beyond the pool got 503 storage-busy ({len(busy)})", len(busy) == surplus),
        (f"each within the pool timeout ({POOL_TIMEOUT_S:g} s) and with Retry-After", bool(busy) and quick),
        (f"the {POOL_SIZE} holding a connection were served once it freed ({len(served)})", len(served) == POOL_SIZE),
        (f"/health/ready stayed 200 on both replicas meanwhile ({probes})", probes == [200] * len(replicas)),
    ]
    return Result("busy pool", [], promises)


METRICS_SPELLINGS = ("/metrics", "/metrics/", "//metrics", "/metrics?x=1", "/%6Detrics", "/metrics%2F", "/./metrics")


def metrics_stay_inside(replicas: list[Replica], nginx: Nginx) -> Result:
    served = [(path, raw_get(nginx.port, path)) for path in METRICS_SPELLINGS]
    leaked = [
        f"{path} ({status})" for path, (status, body) in served if status == 200 or b"http_requests_total" in body
    ]
    direct = httpx.get(f"http://{replicas[0].address}/metrics", timeout=5)
    promises = [
        (f"no spelling of the metrics path passes nginx ({', '.join(leaked) or 'all 404'})", not leaked),
        ("each replica still serves them to Prometheus", direct.status_code == 200),
    ]
    return Result("metrics inside", [], promises)


def raw_get(port: int, path: str) -> tuple[int, bytes]:
    """GET `path` exactly as written: HTTP clients would normalise what this sends."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: items\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest


async def send_at_pace(url: str, token: str, address: str, count: int, every_s: float) -> list[httpx.Response]:
    """`count` reads of the list from `address`, `every_s` apart, on one connection."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, transport=transport, headers=headers, timeout=10) as client:
        responses: list[httpx.Response] = []
        for _ in range(count):
            responses.append(await client.get("/api/v1/items?limit=1"))
            await asyncio.sleep(every_s)
        return responses


async def flood(url: str, token: str, address: str, count: int) -> list[httpx.Response]:
    """`count` reads of the list from `address` at once, on 16 connections."""
    transport = httpx.AsyncHTTPTransport(local_address=address, limits=httpx.Limits(max_connections=16))
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, transport=transport, headers=headers, timeout=10) as client:
        return list(await asyncio.gather(*(client.get("/api/v1/items?limit=1") for _ in range(count))))


def rate_limit(nginx: Nginx, token: str) -> Result:
    flooded: list[httpx.Response] = []
    # The flood runs in a thread of its own, so that the paced client's timings are not its event loop's.
    flooding = threading.Thread(target=lambda: flooded.extend(asyncio.run(flood(nginx.url, token, "127.0.0.2", 600))))
    flooding.start()
    paced = asyncio.run(send_at_pace(nginx.url, token, "127.0.0.3", 20, 0.05))
    flooding.join(DEADLINE_S)
    limited = [response for response in flooded if response.status_code == 429]
    # The flood's 429s are what this scenario proves: only the paced client's answers count as failures.
    outcomes = [Outcome("GET", response.status_code, response.elapsed.total_seconds()) for response in paced]
    result = Result("rate limit", outcomes, [])
    result.promises += [
        (f"the flooding client was limited ({len(limited)} of {len(flooded)} got 429)", bool(limited)),
        (
            "every 429 carries Retry-After and a problem document",
            all(
                response.headers.get("retry-after") == "1"
                and response.headers.get("content-type") == "application/problem+json"
                and response.json()["status"] == 429
                for response in limited
            ),
        ),
        (
            f"the other client, from another address meanwhile, was not ({len(paced)} requests)",
            all(response.status_code == 200 for response in paced),
        ),
    ]
    return result


def main() -> int:
    # `just replicas` installs them where they are missing.
    for program in ("nginx", "prometheus"):
        if shutil.which(program) is None:
            print(f"{program} is not installed: run `just replicas`, which installs it")
            return 1
    workdir = Path(tempfile.mkdtemp(prefix="items-replicas-"))
    print(f"Two replicas on PostgreSQL behind nginx, scraped by Prometheus; logs in {workdir}")
    results: list[Result] = []
    with ExitStack() as stack:
        database: OwnedDatabase = asyncio.run(owned_database(stack.enter_context(throwaway_postgres()), "items"))
        issuer = stack.enter_context(running_issuer(rsa_key("replicas-1")))
        traces = stack.enter_context(running_receiver())
        token = issuer.token(*ALL_SCOPES, claims=LOAD_TENANT)
        replicas = [Replica(name, database.url, workdir, issuer, traces) for name in ("replica-1", "replica-2")]
        for replica in replicas:
            stack.callback(replica.kill)
            replica.start()
        nginx = Nginx(workdir)
        nginx.route_to(replicas)
        nginx.start()
        stack.callback(nginx.stop)
        prometheus = Prometheus(workdir, replicas)
        prometheus.start()
        stack.callback(prometheus.stop)
        results.append(rolling_restart(replicas, nginx, token))
        results.append(crash(replicas, nginx, token, database.admin_url))
        results.append(observability(replicas, nginx, prometheus, token))
        results.append(correlation(replicas, nginx, token, traces))
        results.append(access(nginx, issuer))
        results.append(metrics_stay_inside(replicas, nginx))
        results.append(busy_pool(replicas, token, database.admin_url))
        results.append(rate_limit(nginx, token))
        results.append(tenants(nginx, issuer))
    print()
    print(f"{'scenario':<18} {'requests':>9} {'failures':>9} {'retries':>8} {'p99 ms':>8}")
    for result in results:
        requests, failures, retries = len(result.outcomes), result.failures, result.retries
        print(f"{result.scenario:<18} {requests:>9} {failures:>9} {retries:>8} {result.p99_ms:>8.1f}")
    print()
    broken = 0
    for result in results:
        for promise, kept in result.promises:
            broken += not kept
            print(f"{'kept  ' if kept else 'BROKEN'} {result.scenario}: {promise}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
