"""Configuration: read once from the environment into an immutable, validated object."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, cast
from urllib.parse import SplitResult, urlsplit, urlunsplit

T = TypeVar("T")

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LogFormat = Literal["json", "console"]
LOG_LEVELS: tuple[LogLevel, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS: tuple[LogFormat, ...] = ("json", "console")
DEFAULT_DATABASE_URL = "sqlite:///data/items.db"
MAX_NAME_LENGTH = 64
MAX_AUDIENCE_LENGTH = 256
# OpenTelemetry's variables, with the values of them this service honours (the SDK exports OTLP over HTTP/protobuf).
TRACES_EXPORTERS = ("otlp", "none")
OTLP_PROTOCOLS = ("http/protobuf",)
TRACES_SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
DEFAULT_OTLP_ENDPOINT = "http://localhost:4318"
# Plain http would let anyone on the path swap the keys: only a process on this machine may be asked that way.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
PRODUCTION_NAMES = frozenset({"production", "prod"})


class SettingsError(Exception):
    """An environment variable holds a value the service cannot run with."""

    def __init__(self, variable: str, value: str, allowed: str) -> None:
        super().__init__(f"{variable}={value!r} is invalid: expected {allowed}")
        self.variable = variable
        self.value = value
        self.allowed = allowed


@dataclass(frozen=True, slots=True)
class DatabaseURL:
    """Where items are stored: an SQLite file or a PostgreSQL server."""

    url: str
    kind: Literal["sqlite", "postgresql"]
    sqlite_path: str = ""

    @property
    def redacted(self) -> str:
        """The URL with any password replaced, safe for logs and messages."""
        return redact_url(self.url)

    def __repr__(self) -> str:
        # Settings objects get logged and printed in tracebacks: never show the password.
        return f"DatabaseURL({self.redacted!r})"


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Where access tokens come from, and what they must say to be accepted."""

    issuer: str
    audience: str
    jwks_url: str | None = None  # None: found through the issuer's OpenID Connect discovery document
    keys_max_age: float = 300.0
    keys_min_interval: float = 30.0

    @property
    def discovery_url(self) -> str:
        # OpenID Connect Discovery 1.0, section 4: the issuer without its trailing slash, then the well-known path.
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service is configured with. Build it with `Settings.from_environ`."""

    environment: str = "development"
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "json"
    access_log: bool = True
    metrics: bool = True
    # None: /metrics on PORT with the API. A port: /metrics there alone, so that a NetworkPolicy can give it to
    # Prometheus while the API's port stays open to the ingress (a policy sees ports, not paths).
    metrics_port: int | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    database: DatabaseURL = DatabaseURL(DEFAULT_DATABASE_URL, "sqlite", "data/items.db")
    database_connect_timeout: float = 30.0
    database_pool_size: int = 10
    # How long a request waits for a free PostgreSQL connection before it is answered 503: never a hang.
    database_pool_timeout: float = 2.0
    database_lock_timeout: float = 5.0
    # Whether start-up applies pending migrations (under PostgreSQL's advisory lock), or only checks that the schema
    # is current, for deployments that migrate as a step of their own (`python -m app migrate`) with a role that may
    # change the schema while the serving one may not.
    database_migrate: bool = True
    # Every lock a migration waits for (the advisory lock included), and every statement it runs, is bounded: a
    # migration that cannot go on fails loudly and is retried, instead of hanging a rollout.
    migration_lock_timeout: float = 5.0
    migration_statement_timeout: float = 60.0
    shutdown_timeout: int = 10
    # Longer than the idle timeout of the proxies in front (60 s for nginx, ingress-nginx and most cloud load
    # balancers): the proxy, not the service, closes an idle connection, so it never sends a request on one the
    # service is closing at that moment (the classic source of sporadic 502s).
    keep_alive_timeout: int = 75
    metrics_multiprocess_dir: str | None = None
    # Whose X-Forwarded-For and X-Forwarded-Proto are believed (the client's address and scheme in the access line):
    # the proxy in front, and nobody else, or any client could claim any address.
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1",)
    require_if_match: bool = False
    # How long a create's Idempotency-Key is remembered: a day covers a client's retries through a whole outage.
    idempotency_ttl: int = 86400
    auth: AuthSettings | None = None  # None: every client may call every operation, as the old demo allowed
    auth_disabled: bool = False
    # Where spans go (OTLP over HTTP/protobuf), read from OpenTelemetry's own variables; None: tracing is off, and
    # not one line of the SDK runs. The SDK reads the rest of them (headers, sampler, resource, timeouts) itself.
    traces_endpoint: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate every variable; raise `SettingsError` for the first bad one."""

        def read(variable: str, parse: Callable[[str, str], T], default: T) -> T:
            raw = environ.get(variable)
            return default if raw is None or raw.strip() == "" else parse(variable, raw.strip())

        defaults = cls()
        environment = read("ENVIRONMENT", parse_name, defaults.environment)
        auth_disabled = read("AUTH_DISABLED", parse_bool, defaults.auth_disabled)
        port = read("PORT", int_between(1, 65535), defaults.port)
        metrics_port = read("METRICS_PORT", int_between(1, 65535), None)
        if metrics_port == port:
            raise SettingsError("METRICS_PORT", str(metrics_port), f"a port other than PORT ({port}), or unset")
        return cls(
            environment=environment,
            log_level=read("LOG_LEVEL", parse_log_level, defaults.log_level),
            log_format=read("LOG_FORMAT", parse_log_format, defaults.log_format),
            access_log=read("ACCESS_LOG", parse_bool, defaults.access_log),
            metrics=read("METRICS", parse_bool, defaults.metrics),
            host=read("HOST", parse_host, defaults.host),
            port=port,
            metrics_port=metrics_port,
            workers=read("WORKERS", int_between(1, 64), defaults.workers),
            database=read("DATABASE_URL", parse_database_url, defaults.database),
            database_connect_timeout=read(
                "DATABASE_CONNECT_TIMEOUT", float_between(0, 600), defaults.database_connect_timeout
            ),
            database_pool_size=read("DATABASE_POOL_SIZE", int_between(1, 100), defaults.database_pool_size),
            database_pool_timeout=read(
                "DATABASE_POOL_TIMEOUT", float_between(0.01, 60), defaults.database_pool_timeout
            ),
            database_lock_timeout=read("DATABASE_LOCK_TIMEOUT", float_between(0, 60), defaults.database_lock_timeout),
            database_migrate=read("DATABASE_MIGRATE", parse_bool, defaults.database_migrate),
            migration_lock_timeout=read(
                "MIGRATION_LOCK_TIMEOUT", float_between(0.1, 600), defaults.migration_lock_timeout
            ),
            migration_statement_timeout=read(
                "MIGRATION_STATEMENT_TIMEOUT", float_between(1, 3600), defaults.migration_statement_timeout
            ),
            shutdown_timeout=read("SHUTDOWN_TIMEOUT", int_between(0, 600), defaults.shutdown_timeout),
            keep_alive_timeout=read("KEEP_ALIVE_TIMEOUT", int_between(1, 3600), defaults.keep_alive_timeout),
            # prometheus_client's own variable: where workers share their metrics (set by app.main for WORKERS > 1).
            metrics_multiprocess_dir=read("PROMETHEUS_MULTIPROC_DIR", parse_directory, None),
            forwarded_allow_ips=read("FORWARDED_ALLOW_IPS", parse_addresses, defaults.forwarded_allow_ips),
            require_if_match=read("REQUIRE_IF_MATCH", parse_bool, defaults.require_if_match),
            idempotency_ttl=read("IDEMPOTENCY_TTL", int_between(1, 30 * 86400), defaults.idempotency_ttl),
            auth=read_auth(read, environment=environment, disabled=auth_disabled),
            auth_disabled=auth_disabled,
            traces_endpoint=read_traces_endpoint(read),
        )


Reader = Callable[[str, Callable[[str, str], T], T], T]


def read_auth(read: Reader[Any], *, environment: str, disabled: bool) -> AuthSettings | None:
    """The AUTH_* variables, which only make sense together."""
    issuer: str | None = read("AUTH_ISSUER", parse_issuer_url, None)
    audience: str | None = read("AUTH_AUDIENCE", parse_audience, None)
    jwks_url: str | None = read("AUTH_JWKS_URL", parse_jwks_url(environment), None)
    if issuer is None:
        if disabled or not is_production(environment):
            if jwks_url is not None or audience is not None:
                variable = "AUTH_JWKS_URL" if jwks_url is not None else "AUTH_AUDIENCE"
                shown = redact_url(jwks_url) if jwks_url is not None else audience or ""
                raise SettingsError(variable, shown, "to be unset while AUTH_ISSUER is unset")
            return None
        raise SettingsError(
            "AUTH_ISSUER",
            "",
            "the URL of the identity provider that issues access tokens: required with ENVIRONMENT=production "
            "(set AUTH_DISABLED=true to run open on purpose)",
        )
    if disabled:
        raise SettingsError("AUTH_DISABLED", "true", "false while AUTH_ISSUER is set: unset one of them")
    if audience is None:
        raise SettingsError("AUTH_AUDIENCE", "", "the audience (aud) that access tokens for this service name")
    defaults = AuthSettings(issuer, audience)
    return AuthSettings(
        issuer=issuer,
        audience=audience,
        jwks_url=jwks_url,
        keys_max_age=read("AUTH_JWKS_MAX_AGE", float_between(1, 86400), defaults.keys_max_age),
        # At least a second: below that, tokens naming forged keys could make every replica hammer the provider.
        keys_min_interval=read("AUTH_JWKS_MIN_INTERVAL", float_between(1, 3600), defaults.keys_min_interval),
    )


def read_traces_endpoint(read: Reader[Any]) -> str | None:
    """Where the OpenTelemetry SDK will send spans, or None for no tracing, as its specification switches it: on
    with either OTLP endpoint or OTEL_TRACES_EXPORTER=otlp (then to the default, localhost:4318), off with
    OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. What this service cannot honour is refused here rather
    than ignored by the SDK with a warning: another exporter, another protocol, an unknown sampler."""
    disabled: bool = read("OTEL_SDK_DISABLED", parse_bool, False)  # noqa: FBT003 - a Reader takes it so
    exporter: str | None = read("OTEL_TRACES_EXPORTER", one_of_lower(TRACES_EXPORTERS), None)
    read("OTEL_EXPORTER_OTLP_PROTOCOL", one_of_lower(OTLP_PROTOCOLS), None)
    read("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", one_of_lower(OTLP_PROTOCOLS), None)
    read("OTEL_TRACES_SAMPLER", one_of_lower(TRACES_SAMPLERS), None)
    read("OTEL_TRACES_SAMPLER_ARG", float_between(0, 1, unit="a probability"), None)
    base: str | None = read("OTEL_EXPORTER_OTLP_ENDPOINT", parse_collector_url, None)
    traces: str | None = read("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", parse_collector_url, None)
    if disabled or exporter == "none" or (exporter is None and base is None and traces is None):
        return None
    # The specification's rule: the signal's own endpoint is used as it is; the base gets the signal's path.
    if traces is not None:
        return traces
    return (base or DEFAULT_OTLP_ENDPOINT).rstrip("/") + "/v1/traces"


def parse_collector_url(variable: str, raw: str) -> str:
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = urlsplit("")
    if parts.scheme in ("http", "https") and parts.hostname:
        return raw
    raise SettingsError(variable, redact_url(raw), "an http or https URL of an OTLP/HTTP receiver")


def one_of_lower(allowed: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(variable: str, raw: str) -> str:
        return _one_of(variable, raw.lower(), allowed, shown=raw)

    return parse


def is_production(environment: str) -> bool:
    # Whatever the spelling an operator chose: production must not run open, nor trust a key set on disk.
    return environment.lower() in PRODUCTION_NAMES


def parse_issuer_url(variable: str, raw: str) -> str:
    return _web_url(variable, raw, allowed="an https URL (http only on localhost)")


def parse_jwks_url(environment: str) -> Callable[[str, str], str]:
    def parse(variable: str, raw: str) -> str:
        # A key set on disk serves `just token`'s development key; no deployment may trust one.
        if not is_production(environment) and raw.startswith("file:///") and len(raw) > len("file:///"):
            return raw
        return _web_url(variable, raw, allowed="an https URL (http only on localhost; file:/// outside production)")

    return parse


def _web_url(variable: str, raw: str, allowed: str) -> str:
    try:
        parts = urlsplit(raw)
        scheme, host = parts.scheme, parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        scheme, host = "", None
    if host and (scheme == "https" or (scheme == "http" and host in LOOPBACK_HOSTS)):
        return raw
    raise SettingsError(variable, redact_url(raw), allowed)


def parse_audience(variable: str, raw: str) -> str:
    if len(raw) <= MAX_AUDIENCE_LENGTH and raw.isprintable() and " " not in raw:
        return raw
    raise SettingsError(variable, raw, f"up to {MAX_AUDIENCE_LENGTH} printable characters without spaces")


def parse_name(variable: str, raw: str) -> str:
    if len(raw) <= MAX_NAME_LENGTH and all(c.isalnum() or c in "-_." for c in raw):
        return raw
    raise SettingsError(variable, raw, f"up to {MAX_NAME_LENGTH} letters, digits, '-', '_' or '.'")


def parse_log_level(variable: str, raw: str) -> LogLevel:
    return cast(LogLevel, _one_of(variable, raw.upper(), LOG_LEVELS, shown=raw))


def parse_log_format(variable: str, raw: str) -> LogFormat:
    return cast(LogFormat, _one_of(variable, raw.lower(), LOG_FORMATS, shown=raw))


def _one_of(variable: str, value: str, allowed: tuple[str, ...], shown: str) -> str:
    if value in allowed:
        return value
    raise SettingsError(variable, shown, "one of " + ", ".join(allowed))


def parse_bool(variable: str, raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(variable, raw, "true or false (also 1/0, yes/no, on/off)")


def parse_directory(variable: str, raw: str) -> str:
    if Path(raw).is_dir():
        return raw
    raise SettingsError(variable, raw, "an existing directory")


def parse_host(variable: str, raw: str) -> str:
    if all(c.isalnum() or c in "-.:[]" for c in raw):
        return raw
    raise SettingsError(variable, raw, "a host name or an IP address")


def parse_addresses(variable: str, raw: str) -> tuple[str, ...]:
    """Comma-separated IP addresses and networks (CIDR), or * for any: what uvicorn's forwarded_allow_ips takes.
    uvicorn itself would keep a malformed entry as a name that never matches, silently trusting nobody."""
    entries = tuple(entry.strip() for entry in raw.split(","))
    if entries == ("*",):
        return entries
    try:
        for entry in entries:
            if "/" in entry:
                ipaddress.ip_network(entry)  # strict, as uvicorn reads it: 10.0.0.1/8 names no network
            else:
                ipaddress.ip_address(entry)
    except ValueError:
        raise SettingsError(variable, raw, "comma-separated IP addresses or networks (10.0.0.0/8), or *") from None
    return entries


def int_between(low: int, high: int) -> Callable[[str, str], int]:
    def parse(variable: str, raw: str) -> int:
        # isdecimal, not isdigit: int() cannot read a superscript such as ², which isdigit accepts.
        if raw.isdecimal() and low <= int(raw) <= high:
            return int(raw)
        raise SettingsError(variable, raw, f"a whole number from {low} to {high}")

    return parse


def float_between(low: float, high: float, unit: str = "a number of seconds") -> Callable[[str, str], float]:
    def parse(variable: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if low <= value <= high:
            return value
        raise SettingsError(variable, raw, f"{unit} from {low:g} to {high:g}")

    return parse


def parse_database_url(variable: str, raw: str) -> DatabaseURL:
    allowed = "sqlite:///relative/path.db, sqlite:////absolute/path.db or postgresql://user:password@host:port/database"
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise SettingsError(variable, redact_url(raw), allowed) from None
    if parts.scheme == "sqlite" and parts.netloc == "" and len(parts.path) > 1 and not parts.query:
        return DatabaseURL(raw, "sqlite", parts.path[1:])
    if parts.scheme in ("postgresql", "postgres") and parts.hostname:
        return DatabaseURL(raw, "postgresql")
    raise SettingsError(variable, redact_url(raw), allowed)


def redact_url(url: str) -> str:
    """Replace the password of a URL with `***`; leave anything else as it is."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparsable URL>"
    if password is None:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(SplitResult(parts.scheme, f"{user}:***@{hostinfo}", parts.path, parts.query, parts.fragment))
