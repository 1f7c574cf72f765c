from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import AuthSettings, DatabaseURL, Settings, SettingsError, redact_url


def test_defaults_match_the_documented_ones() -> None:
    settings = Settings.from_environ({})

    assert settings.environment == "development"
    assert settings.log_level == "INFO"
    assert settings.log_format == "json"
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)
    assert settings.database == DatabaseURL("sqlite:///data/items.db", "sqlite", "data/items.db")
    assert settings.access_log is True
    assert settings.metrics is True


def test_values_are_read_from_the_environment() -> None:
    settings = Settings.from_environ(
        {
            "ENVIRONMENT": "production",
            "LOG_LEVEL": "warning",
            "LOG_FORMAT": "CONSOLE",
            "ACCESS_LOG": "off",
            "METRICS": "0",
            "HOST": "0.0.0.0",  # noqa: S104
            "PORT": "9000",
            "WORKERS": "4",
            "DATABASE_URL": "postgresql://app:pw@db:5432/items?sslmode=require",
            "DATABASE_CONNECT_TIMEOUT": "2.5",
            "DATABASE_POOL_SIZE": "20",
            "DATABASE_LOCK_TIMEOUT": "1",
            "SHUTDOWN_TIMEOUT": "30",
            "KEEP_ALIVE_TIMEOUT": "120",
            "FORWARDED_ALLOW_IPS": "10.0.0.0/8, 192.168.1.7,::1",
            "IDEMPOTENCY_TTL": "3600",
            "AUTH_ISSUER": "https://login.example.com/realms/items/",
            "AUTH_AUDIENCE": "items-api",
            "AUTH_JWKS_URL": "https://login.example.com/keys",
            "AUTH_JWKS_MAX_AGE": "600",
            "AUTH_JWKS_MIN_INTERVAL": "5",
            "AUTH_TENANT_CLAIM": "org_id",
        }
    )

    assert settings.environment == "production"
    assert (settings.log_level, settings.log_format) == ("WARNING", "console")
    assert (settings.access_log, settings.metrics) == (False, False)
    assert (settings.host, settings.port, settings.workers) == ("0.0.0.0", 9000, 4)  # noqa: S104
    assert settings.database.kind == "postgresql"
    assert settings.database_connect_timeout == 2.5
    assert settings.database_pool_size == 20
    assert settings.database_lock_timeout == 1.0
    assert settings.shutdown_timeout == 30
    assert settings.keep_alive_timeout == 120
    assert settings.forwarded_allow_ips == ("10.0.0.0/8", "192.168.1.7", "::1")
    assert settings.idempotency_ttl == 3600
    assert settings.auth == AuthSettings(
        "https://login.example.com/realms/items/",
        "items-api",
        "https://login.example.com/keys",
        600.0,
        5.0,
        tenant_claim="org_id",
    )
    assert (
        AuthSettings("https://login.example.com/realms/items/", "a").discovery_url
        == "https://login.example.com/realms/items/.well-known/openid-configuration"
    )


def test_any_proxy_may_be_trusted_on_purpose() -> None:
    assert Settings.from_environ({"FORWARDED_ALLOW_IPS": " * "}).forwarded_allow_ips == ("*",)


def test_empty_values_mean_the_default() -> None:
    assert Settings.from_environ({"PORT": "", "LOG_LEVEL": "  "}) == Settings.from_environ({})


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("LOG_LEVEL", "LOUD", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("LOG_FORMAT", "xml", "one of json, console"),
        ("ACCESS_LOG", "maybe", "true or false"),
        ("PORT", "0", "a whole number from 1 to 65535"),
        ("PORT", "65536", "a whole number from 1 to 65535"),
        ("PORT", "eighty", "a whole number from 1 to 65535"),
        ("WORKERS", "-1", "a whole number from 1 to 64"),
        ("KEEP_ALIVE_TIMEOUT", "0", "a whole number from 1 to 3600"),
        ("HOST", "local host", "a host name or an IP address"),
        # uvicorn would take these for names that never match, and trust nobody without a word.
        ("FORWARDED_ALLOW_IPS", "10.0.0.1/8", "IP addresses or networks"),
        ("FORWARDED_ALLOW_IPS", "proxy.internal", "IP addresses or networks"),
        ("FORWARDED_ALLOW_IPS", "10.0.0.1,,10.0.0.2", "IP addresses or networks"),
        ("FORWARDED_ALLOW_IPS", "*, 10.0.0.1", "IP addresses or networks"),
        ("IDEMPOTENCY_TTL", "0", "a whole number from 1 to 2592000"),
        ("METRICS_PORT", "8000", "a port other than PORT (8000)"),
        ("METRICS_PORT", "0", "a whole number from 1 to 65535"),
        ("ENVIRONMENT", "prod env!", "up to 64 letters"),
        ("DATABASE_CONNECT_TIMEOUT", "soon", "a number of seconds from 0 to 600"),
        ("DATABASE_CONNECT_TIMEOUT", "-1", "a number of seconds from 0 to 600"),
        ("DATABASE_URL", "mysql://db/items", "sqlite:///relative/path.db"),
        ("DATABASE_URL", "sqlite://", "sqlite:///relative/path.db"),
        ("DATABASE_URL", "sqlite://host/file.db", "sqlite:///relative/path.db"),
        ("DATABASE_URL", "postgresql:///no-host", "postgresql://user:password@host:port/database"),
    ],
)
def test_an_invalid_value_names_the_variable_the_value_and_what_is_allowed(
    variable: str, value: str, allowed: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environ({variable: value})

    error = raised.value
    assert (error.variable, error.value) == (variable, value)
    assert allowed in error.allowed
    assert str(error).startswith(f"{variable}={value!r} is invalid: expected ")


def test_a_superscript_digit_is_refused_like_any_other_text_not_a_crash() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environ({"PORT": "²"})

    assert (raised.value.variable, raised.value.allowed) == ("PORT", "a whole number from 1 to 65535")


@pytest.mark.parametrize(
    ("url", "path"),
    [("sqlite:///data/items.db", "data/items.db"), ("sqlite:////var/lib/items.db", "/var/lib/items.db")],
)
def test_sqlite_urls_follow_the_common_convention(url: str, path: str) -> None:
    assert Settings.from_environ({"DATABASE_URL": url}).database.sqlite_path == path


@pytest.mark.parametrize(
    "url",
    ["postgresql://app:s3cret@db:5432/items", "postgresql://app:s3cret@db:port/items", "postgres://app:s3cret@[::1"],
)
def test_the_database_password_never_appears_in_errors_or_reprs(url: str) -> None:
    try:
        settings = Settings.from_environ({"DATABASE_URL": url})
    except SettingsError as error:
        shown = str(error)
    else:
        shown = repr(settings) + settings.database.redacted

    assert "s3cret" not in shown


def test_a_key_sets_password_never_appears_in_the_error_that_refuses_it_without_an_issuer() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environ({"AUTH_JWKS_URL": "https://keys:s3cret@idp.example/jwks.json"})

    assert raised.value.variable == "AUTH_JWKS_URL"
    assert "s3cret" not in str(raised.value)


def test_redaction_leaves_out_the_password_the_query_and_the_fragment() -> None:
    # libpq takes a password in the query too (?password=), and key set and collector URLs carry API keys there.
    assert redact_url("postgresql://app:pw@db:5432/items?sslmode=require&password=pw2") == (
        "postgresql://app:***@db:5432/items"
    )
    assert redact_url("https://user:pw@idp.example/keys?api_key=k#frag") == "https://user:***@idp.example/keys"
    assert redact_url("https://[::1/keys?api_key=k") == "<unparsable URL>"
    assert redact_url("postgresql://app@db/items") == "postgresql://app@db/items"
    assert redact_url("sqlite:///data/items.db") == "sqlite:///data/items.db"


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("YES", True), ("on", True), ("false", False), ("No", False)]
)
def test_switches_accept_the_usual_spellings(raw: str, expected: bool) -> None:
    assert Settings.from_environ({"METRICS": raw}).metrics is expected


def test_the_metrics_directory_must_exist(tmp_path: Path) -> None:
    assert Settings.from_environ({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}).metrics_multiprocess_dir == str(tmp_path)
    with pytest.raises(SettingsError, match="PROMETHEUS_MULTIPROC_DIR"):
        Settings.from_environ({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "missing")})


def test_without_an_issuer_access_is_open_only_in_development_and_the_tests() -> None:
    assert Settings.from_environ({}).auth is None
    assert Settings.from_environ({"ENVIRONMENT": "development"}).auth is None
    assert Settings.from_environ({"ENVIRONMENT": "test"}).auth is None


# Anything but the two names fails closed: a staging, a misspelling, another word for production, another case.
@pytest.mark.parametrize(
    "deployed", ["production", "prod", "prd", "live", "staging", "kubernetes", "Development", "tests"]
)
def test_anywhere_else_refuses_to_run_open_unless_told_so_on_purpose(deployed: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environ({"ENVIRONMENT": deployed})
    assert raised.value.variable == "AUTH_ISSUER"
    assert "AUTH_DISABLED=true" in raised.value.allowed
    assert "development or test" in raised.value.allowed

    settings = Settings.from_environ({"ENVIRONMENT": deployed, "AUTH_DISABLED": "true"})
    assert (settings.auth, settings.auth_disabled) == (None, True)
    issuer = {"AUTH_ISSUER": "https://idp.example", "AUTH_AUDIENCE": "items"}
    assert Settings.from_environ({"ENVIRONMENT": deployed, **issuer}).auth is not None


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"AUTH_ISSUER": "https://idp.example"}, "AUTH_AUDIENCE"),
        ({"AUTH_AUDIENCE": "items"}, "AUTH_AUDIENCE"),
        ({"AUTH_JWKS_URL": "https://idp.example/keys"}, "AUTH_JWKS_URL"),
        # Tenants come from verified tokens: without an issuer there are none to read them from.
        ({"AUTH_TENANT_CLAIM": "org_id"}, "AUTH_TENANT_CLAIM"),
        (
            {"AUTH_ISSUER": "https://idp.example", "AUTH_AUDIENCE": "items", "AUTH_TENANT_CLAIM": "org id"},
            "AUTH_TENANT_CLAIM",
        ),
        ({"AUTH_ISSUER": "https://idp.example", "AUTH_AUDIENCE": "items", "AUTH_DISABLED": "true"}, "AUTH_DISABLED"),
        # Plain http from anywhere but this machine would let whoever sits on the path swap the keys.
        ({"AUTH_ISSUER": "http://idp.example", "AUTH_AUDIENCE": "items"}, "AUTH_ISSUER"),
        ({"AUTH_ISSUER": "idp.example", "AUTH_AUDIENCE": "items"}, "AUTH_ISSUER"),
        ({"AUTH_ISSUER": "https://[::1", "AUTH_AUDIENCE": "items"}, "AUTH_ISSUER"),
        ({"AUTH_ISSUER": "https://idp.example:abc", "AUTH_AUDIENCE": "items"}, "AUTH_ISSUER"),
        # Below a second between fetches, forged key ids could make every replica hammer the provider.
        (
            {"AUTH_ISSUER": "https://idp.example", "AUTH_AUDIENCE": "x", "AUTH_JWKS_MIN_INTERVAL": "0.5"},
            "AUTH_JWKS_MIN_INTERVAL",
        ),
        ({"AUTH_ISSUER": "https://idp.example", "AUTH_AUDIENCE": "two words"}, "AUTH_AUDIENCE"),
        ({"AUTH_ISSUER": "https://idp.example", "AUTH_AUDIENCE": "a" * 257}, "AUTH_AUDIENCE"),
        ({"AUTH_ISSUER": "https://idp.example", "AUTH_AUDIENCE": "x", "AUTH_JWKS_URL": "ftp://k"}, "AUTH_JWKS_URL"),
        ({"AUTH_ISSUER": "https://idp.example", "AUTH_AUDIENCE": "x", "AUTH_JWKS_URL": "file:///"}, "AUTH_JWKS_URL"),
        ({"AUTH_ISSUER": "https://idp.example", "AUTH_AUDIENCE": "x", "AUTH_JWKS_MAX_AGE": "0"}, "AUTH_JWKS_MAX_AGE"),
        ({"AUTH_JWKS_MAX_STALE": "59"}, "AUTH_JWKS_MAX_STALE"),
        ({"AUTH_MAX_TOKEN_LIFETIME": str(31 * 86400)}, "AUTH_MAX_TOKEN_LIFETIME"),
        # `just token`'s key set on disk is for development: a deployment never trusts a file.
        (
            {
                "ENVIRONMENT": "staging",
                "AUTH_ISSUER": "https://idp.example",
                "AUTH_AUDIENCE": "items",
                "AUTH_JWKS_URL": "file:///tmp/jwks.json",
            },
            "AUTH_JWKS_URL",
        ),
    ],
)
def test_authentication_settings_that_do_not_fit_together_are_refused(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environ(environ)
    assert raised.value.variable == variable


@pytest.mark.parametrize("issuer", ["http://localhost:8080/realms/dev", "http://127.0.0.1:9000", "http://[::1]:1"])
def test_plain_http_is_allowed_for_an_issuer_on_this_machine(issuer: str) -> None:
    settings = Settings.from_environ({"AUTH_ISSUER": issuer, "AUTH_AUDIENCE": "items"})
    assert settings.auth is not None
    assert settings.auth.issuer == issuer
