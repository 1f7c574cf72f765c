"""Configuration: read once from the environment into an immutable, validated object (see `Settings`)."""

import ipaddress
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta, field

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LogFormat = Literal["json", "console"]
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})  # plain http only here: anyone between could swap keys
SWITCH_SYNONYMS = {"yes": "true", "on": "true", "no": "false", "off": "false"}  # msgspec reads true/false, 1/0 itself
SAMPLERS = tuple(base + name for base in ("", "parentbased_") for name in ("always_on", "always_off", "traceidratio"))
ISSUING = "the URL of the identity provider that issues access tokens"
OPEN_ENVIRONMENTS = ("development", "test")  # `just run`'s and the tests': anywhere else fails closed without tokens
ISSUER_REQUIRED = f"{ISSUING}: required unless ENVIRONMENT is {' or '.join(OPEN_ENVIRONMENTS)} (or AUTH_DISABLED=true)"


class SettingsError(Exception):
    def __init__(self, variable: str, value: str, allowed: str) -> None:
        super().__init__(f"{variable}={value!r} is invalid: expected {allowed}")
        self.variable, self.value, self.allowed = variable, value, allowed


# What a value must be; how to `read` its text for msgspec (None or ValueError: refused); how to show a refusal.
class Rule(msgspec.Struct, frozen=True):
    allowed: str
    read: Callable[[str], object] = str
    shown: Callable[[str], str] = str


def redact_url(url: str) -> str:
    """The URL without its password, query or fragment, where keys and tokens hide: what logs and errors may show."""
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return "<unparsable URL>"
    bare = url.partition("#")[0].partition("?")[0]
    return bare if password is None else bare.replace(parts.netloc, f"{user}:***@{parts.netloc.rpartition('@')[2]}", 1)


def web_url(url: str, *, http_anywhere: bool = False, file: bool = False) -> str | None:
    if file and url.startswith("file:///") and len(url) > len("file:///"):
        return url  # a key set on disk: `just token`'s development key (Settings refuses it in deployments)
    parts = urlsplit(url)
    parts.port  # noqa: B018 - raises ValueError, a refusal, for a port that is not a number
    plain_http = parts.scheme == "http" and (http_anywhere or parts.hostname in LOOPBACK_HOSTS)
    return url if parts.hostname and (parts.scheme == "https" or plain_http) else None


def ip_addresses(text: str) -> tuple[str, ...]:
    entries = tuple(entry.strip() for entry in text.split(","))
    for entry in () if text == "*" else entries:  # uvicorn would take a malformed one for a name, trusting nobody
        ipaddress.ip_network(entry)  # an address is a network of one; strict, as uvicorn reads it: 10.0.0.1/8 is none
    return entries


class DatabaseURL(msgspec.Struct, frozen=True):
    url: str
    kind: Literal["sqlite", "postgresql"]
    sqlite_path: str = ""

    @classmethod
    def parse(cls, url: str) -> "DatabaseURL":
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError, a refusal, for a port that is not a number
        if parts.scheme == "sqlite" and parts.netloc == "" and len(parts.path) > 1 and not parts.query:
            return cls(url, "sqlite", parts.path[1:])
        if parts.scheme in ("postgresql", "postgres") and parts.hostname:
            return cls(url, "postgresql")
        raise ValueError(url)

    @property
    def redacted(self) -> str:
        return redact_url(self.url)

    def __repr__(self) -> str:  # Settings get logged and printed in tracebacks: never show the password
        return f"DatabaseURL({self.redacted!r})"


class AuthSettings(msgspec.Struct, frozen=True):
    issuer: str
    audience: str
    jwks_url: str | None = None  # None: found through the issuer's OpenID Connect discovery document
    jwks_max_age: float = 300.0
    jwks_min_interval: float = 30.0
    jwks_max_stale: float = 86400.0  # cached keys verify nothing once this long without a fetch that worked
    max_token_lifetime: float = 86400.0  # from iat to exp: a token valid for longer is refused
    tenant_claim: str | None = None  # the claim naming the caller's tenant; None: every item is everyone's

    @property
    def discovery_url(self) -> str:  # OpenID Connect Discovery 1.0, section 4: the issuer without its trailing slash
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


AUTH_DEFAULTS = AuthSettings("", "")  # for the timings of keys and tokens
Switch = Annotated[bool, Rule("true or false (also 1/0, yes/no, on/off)", lambda t: SWITCH_SYNONYMS.get(t.lower(), t))]
Port = Annotated[int, Meta(ge=1, le=65535)]
Name = Annotated[str, Meta(max_length=64, pattern=r"^[\w.-]+$"), Rule("up to 64 letters, digits, '-', '_' or '.'")]
DB_URLS = "sqlite:///relative/path.db, sqlite:////absolute/path.db or postgresql://user:password@host:port/database"
Database = Annotated[DatabaseURL, Rule(DB_URLS, DatabaseURL.parse, redact_url)]
Directory = Annotated[str, Rule("an existing directory", lambda path: path if Path(path).is_dir() else None)]
IPs = Annotated[tuple[str, ...], Rule("comma-separated IP addresses or networks (10.0.0.0/8), or *", ip_addresses)]
IssuerURL = Annotated[str, Rule("an https URL (http only on localhost)", web_url, redact_url)]
JWKS_URLS = f"an https URL (http only on localhost; file:/// only with ENVIRONMENT {' or '.join(OPEN_ENVIRONMENTS)})"
PRINTABLE = Rule("up to 256 printable characters without spaces", lambda t: t if t.isprintable() else None)
Sampler = Annotated[str, Rule("one of " + ", ".join(SAMPLERS), lambda t: t.lower() if t.lower() in SAMPLERS else None)]
COLLECTOR = Rule("an http or https URL of an OTLP/HTTP receiver", partial(web_url, http_anywhere=True), redact_url)


class Settings(msgspec.Struct, frozen=True, rename="upper"):
    """Everything the service is configured with: each field is the variable of its name in upper case (README.md's
    table says what each is for). `from_environ` reads them in this order, each by the `Rule` beside its type or that
    of its kind, has msgspec convert and bound the value, and raises `SettingsError` for the first bad one."""

    environment: Name = "development"
    auth_disabled: Switch = False
    port: Port = 8000
    metrics_port: Port | None = None
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "json"
    access_log: Switch = True
    metrics: Switch = True
    # Letters and digits (\w but _), and the dots, colons and brackets of IP addresses.
    host: Annotated[str, Meta(pattern=r"^([^\W_]|[-.:\[\]])+$"), Rule("a host name or an IP address")] = "127.0.0.1"
    workers: Annotated[int, Meta(ge=1, le=64)] = 1
    database: Database = field(default=DatabaseURL.parse("sqlite:///data/items.db"), name="DATABASE_URL")
    database_connect_timeout: Annotated[float, Meta(ge=0, le=600)] = 30.0
    database_pool_size: Annotated[int, Meta(ge=1, le=100)] = 10
    database_pool_timeout: Annotated[float, Meta(ge=0.01, le=60)] = 2.0
    database_lock_timeout: Annotated[float, Meta(ge=0, le=60)] = 5.0
    database_migrate: Switch = True
    migration_lock_timeout: Annotated[float, Meta(ge=0.1, le=600)] = 5.0
    migration_statement_timeout: Annotated[float, Meta(ge=1, le=3600)] = 60.0
    shutdown_timeout: Annotated[int, Meta(ge=0, le=600)] = 10
    keep_alive_timeout: Annotated[int, Meta(ge=1, le=3600)] = 75
    metrics_multiprocess_dir: Directory | None = field(default=None, name="PROMETHEUS_MULTIPROC_DIR")
    forwarded_allow_ips: IPs = ("127.0.0.1",)
    require_if_match: Switch = False
    idempotency_ttl: Annotated[int, Meta(ge=1, le=30 * 86400)] = 86400
    auth_issuer: IssuerURL | None = None
    auth_audience: Annotated[str, Meta(max_length=256, pattern=r"^\S*$"), PRINTABLE] | None = None
    auth_jwks_url: Annotated[str, Rule(JWKS_URLS, partial(web_url, file=True), redact_url)] | None = None
    auth_jwks_max_age: Annotated[float, Meta(ge=1, le=86400)] = AUTH_DEFAULTS.jwks_max_age
    # At least a second: below that, tokens naming forged keys could make every replica hammer the provider.
    auth_jwks_min_interval: Annotated[float, Meta(ge=1, le=3600)] = AUTH_DEFAULTS.jwks_min_interval
    auth_jwks_max_stale: Annotated[float, Meta(ge=60, le=30 * 86400)] = AUTH_DEFAULTS.jwks_max_stale
    auth_max_token_lifetime: Annotated[float, Meta(ge=60, le=30 * 86400)] = AUTH_DEFAULTS.max_token_lifetime
    auth_tenant_claim: Annotated[str, Meta(max_length=256, pattern=r"^\S*$"), PRINTABLE] | None = None
    # OpenTelemetry's, which its SDK reads too: what the service cannot honour is refused, not ignored with a warning.
    otel_sdk_disabled: Switch = False
    otel_traces_exporter: Literal["otlp", "none"] | None = None
    otel_exporter_otlp_protocol: Literal["http/protobuf"] | None = None
    otel_exporter_otlp_traces_protocol: Literal["http/protobuf"] | None = None
    otel_traces_sampler: Sampler | None = None
    otel_traces_sampler_arg: Annotated[float, Meta(ge=0, le=1), Rule("a probability from 0 to 1", float)] | None = None
    otel_exporter_otlp_endpoint: Annotated[str, COLLECTOR] | None = None
    otel_exporter_otlp_traces_endpoint: Annotated[str, COLLECTOR] | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "Settings":
        texts = [(f, environ.get(f.encode_name, "").strip()) for f in msgspec.structs.fields(cls)]
        return cls(**{f.name: convert(f.encode_name, text, f.type) for f, text in texts if text})

    def __post_init__(self) -> None:
        if self.metrics_port == self.port:
            raise SettingsError("METRICS_PORT", str(self.port), f"a port other than PORT ({self.port}), or unset")
        deployed = self.environment not in OPEN_ENVIRONMENTS  # must neither run open by default nor trust a file
        issuer, audience, jwks_url = self.auth_issuer, self.auth_audience, self.auth_jwks_url
        if deployed and jwks_url and jwks_url.startswith("file:"):
            raise SettingsError("AUTH_JWKS_URL", redact_url(jwks_url), JWKS_URLS)
        if issuer is None and deployed and not self.auth_disabled:
            raise SettingsError("AUTH_ISSUER", "", ISSUER_REQUIRED)
        needing_an_issuer = {
            "AUTH_JWKS_URL": jwks_url and redact_url(jwks_url),
            "AUTH_AUDIENCE": audience,
            "AUTH_TENANT_CLAIM": self.auth_tenant_claim,
        }
        for variable, value in needing_an_issuer.items():
            if issuer is None and value:
                raise SettingsError(variable, value, "to be unset while AUTH_ISSUER is unset")
        if issuer and self.auth_disabled:
            raise SettingsError("AUTH_DISABLED", "true", "false while AUTH_ISSUER is set: unset one of them")
        if issuer and not audience:
            raise SettingsError("AUTH_AUDIENCE", "", "the audience (aud) that access tokens for this service name")

    @property
    def auth(self) -> AuthSettings | None:
        """None: every client may call every operation, as the old demo allowed."""
        if self.auth_issuer is None or self.auth_audience is None:
            return None
        return AuthSettings(**{name: getattr(self, f"auth_{name}") for name in AuthSettings.__struct_fields__})

    @property
    def traces_endpoint(self) -> str | None:
        """Where spans go, as OpenTelemetry switches them. None: tracing is off, and not one line of the SDK runs."""
        exporter, base = self.otel_traces_exporter, self.otel_exporter_otlp_endpoint
        traces = self.otel_exporter_otlp_traces_endpoint
        if self.otel_sdk_disabled or exporter == "none" or not (exporter or base or traces):
            return None
        return traces or (base or "http://localhost:4318").rstrip("/") + "/v1/traces"  # a base gets the signal's path


def convert(variable: str, text: str, hint: Any) -> Any:
    hint = get_args(hint)[0] if get_origin(hint) is Union else hint  # X | None: a variable that is set is an X
    base, *extras = get_args(hint) if get_origin(hint) is Annotated else (hint,)
    bounds = next((extra for extra in extras if isinstance(extra, Meta)), Meta())
    rule = next((extra for extra in extras if isinstance(extra, Rule)), None)
    if rule is None and base is int:
        rule = Rule(f"a whole number from {bounds.ge} to {bounds.le}", lambda t: int(t) if t.isdecimal() else None)
    elif rule is None and base is float:
        rule = Rule(f"a number of seconds from {bounds.ge:g} to {bounds.le:g}", float)
    elif rule is None:  # a Literal, whose choices are matched in any case
        words: tuple[str, ...] = get_args(base)
        rule = Rule("one of " + ", ".join(words), lambda t: next((w for w in words if w in (t.upper(), t.lower())), t))
    try:
        return msgspec.convert(rule.read(text), hint, strict=False)  # None is refused too: hint is an X, not X | None
    except ValueError:  # msgspec's ValidationError is one, as is a malformed URL's or address's
        raise SettingsError(variable, rule.shown(text), rule.allowed) from None


parse_issuer_url = partial(convert, hint=IssuerURL)  # also for the jwks_uri of a discovery document
