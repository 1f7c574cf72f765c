"""The deployment files in ci/deploy/ agree with the service and with each other.

`just lint-deploy` proves each file valid for its own tool; these tests prove what no single tool sees.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import pytest

from app.observability.tracing import FLUSH_TIMEOUT_S
from app.settings import Settings
from tests.conftest import Client
from tests.delivery.ci_files import load
from tests.metrics import samples

DEPLOY = Path(__file__).parents[2] / "ci" / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "items-service.json"
# The service's series in PromQL: not the parts of recording rules' names (level:metric:operations).
SERIES = re.compile(r"(?<![\w:])(?:http|process)_[a-z_]+(?![\w:])")
# A recording rule's name (level:metric:operations), whole: a name within a longer one does not count.
RECORDED_SERIES = re.compile(r"(?<![\w:])[a-z_]+:[a-z_0-9]+:[a-z_0-9]+(?![\w:])")


def rules() -> list[dict[str, str]]:
    return [rule for group in load(ALERTS)["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_every_rule_has_a_unit_test() -> None:
    tests = load(DEPLOY / "prometheus" / "alerts_test.yml")["tests"]
    alerts_tested = {case["alertname"] for test in tests for case in test.get("alert_rule_test", [])}
    expressions_tested = {
        name
        for test in tests
        for case in test.get("promql_expr_test", [])
        for name in RECORDED_SERIES.findall(case["expr"])
    }

    for rule in rules():
        if "alert" in rule:
            assert rule["alert"] in alerts_tested, f"alert {rule['alert']} has no test"
        else:
            assert rule["record"] in expressions_tested, f"recording rule {rule['record']} has no test"


async def test_the_rules_and_the_dashboard_query_only_series_the_service_exports(sqlite_client: Client) -> None:
    # One timed request, so that the latency histogram has series too.
    await sqlite_client.post("/api/v1/calculate", json={"a": 1, "b": 2, "operation": "add"})
    scraped = (await sqlite_client.get("/metrics")).text
    exported = {name for name, _ in samples(scraped)}

    queries = [*(rule["expr"] for rule in rules()), *dashboard_queries()]
    queried = {name for query in queries for name in SERIES.findall(query)}

    assert queried, "no series found in the queries"
    assert queried <= exported, f"series the service does not export: {queried - exported}"


def test_the_grace_period_outlasts_the_pre_stop_pause_the_shutdown_timeout_and_the_last_spans() -> None:
    base = DEPLOY / "kubernetes" / "base"
    settings = dict(
        literal.split("=", 1) for literal in load(base / "kustomization.yaml")["configMapGenerator"][0]["literals"]
    )
    pod = load(base / "deployment.yaml")["spec"]["template"]["spec"]
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]

    assert pod["terminationGracePeriodSeconds"] > pre_stop + int(settings["SHUTDOWN_TIMEOUT"]) + FLUSH_TIMEOUT_S


def test_prometheus_scrapes_every_replica_nginx_balances_in_compose() -> None:
    compose = load(DEPLOY / "compose.yaml")
    replicas = {f"{name}:8000" for name in compose["services"] if name.startswith("replica-")}
    balanced = set(re.findall(r"^server (\S+)", (DEPLOY / "nginx" / "replicas.conf").read_text(), re.MULTILINE))
    scrape = next(job for job in load(DEPLOY / "prometheus" / "prometheus.yml")["scrape_configs"])
    scraped = {target for config in scrape["static_configs"] for target in config["targets"]}

    assert scrape["job_name"] == "items-service", "the rules and the dashboard select this job"
    assert len(replicas) >= 2
    assert replicas == balanced == scraped


def overlay_settings(overlay: str) -> dict[str, str]:
    """The ConfigMap an overlay renders: the base's literals, merged with the overlay's."""
    kubernetes = DEPLOY / "kubernetes"
    settings: dict[str, str] = {}
    for directory in (kubernetes / "base", kubernetes / overlay):
        for generator in load(directory / "kustomization.yaml")["configMapGenerator"]:
            settings |= dict(literal.split("=", 1) for literal in generator["literals"])
    return settings


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_each_overlays_settings_start_the_service_with_tokens_checked(overlay: str) -> None:
    # DATABASE_URL comes from the Secret: any valid one stands in for it.
    settings = Settings.from_environ({**overlay_settings(overlay), "DATABASE_URL": "postgresql://u:p@db/items"})
    assert settings.auth is not None


def test_the_compose_replicas_settings_start_the_service_with_tokens_checked() -> None:
    environment = load(DEPLOY / "compose.yaml")["x-replica"]["environment"]
    # Compose's ${NAME:-default}, as Compose substitutes it when NAME is unset.
    resolved = {name: re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value)) for name, value in environment.items()}
    assert Settings.from_environ(resolved).auth is not None


ROOT = DEPLOY.parents[1]
README_ROW = re.compile(r"^\| `([A-Z_]+)` \| (`[^`]*`|\(unset\)) \|", re.MULTILINE)
LEFT_OUT = re.compile(r"^# - ([A-Z_, ]+):", re.MULTILINE)


def readme_defaults() -> dict[str, str | None]:
    """The README's table of variables: each one's default, None where it is unset."""
    rows = README_ROW.findall((ROOT / "README.md").read_text())
    return {name: None if default == "(unset)" else default.strip("`") for name, default in rows}


def test_every_setting_is_in_the_readme_and_the_configmap_or_left_out_with_a_reason() -> None:
    variables = {field.encode_name for field in msgspec.structs.fields(Settings)}  # each field is read from one
    base = DEPLOY / "kubernetes" / "base" / "kustomization.yaml"
    in_configmap = {literal.split("=", 1)[0] for literal in load(base)["configMapGenerator"][0]["literals"]}
    left_out = {name.strip() for names in LEFT_OUT.findall(base.read_text()) for name in names.split(",")}

    assert len(variables) > 20, variables
    assert variables == set(readme_defaults()), "README.md's table and app/settings.py name other variables"
    unaccounted = variables - in_configmap - left_out
    assert not unaccounted, f"neither in the ConfigMap nor left out: {unaccounted}"
    assert not in_configmap & left_out, "both in the ConfigMap and left out"
    assert left_out <= variables, f"left out, yet no setting: {left_out - variables}"


def test_the_readmes_defaults_are_the_settings_defaults() -> None:
    # With tokens checked, so that the AUTH_* settings are read at all.
    checked = {"AUTH_ISSUER": "https://login.example.com", "AUTH_AUDIENCE": "items"}
    defaults = Settings.from_environ(checked)
    for variable, default in readme_defaults().items():
        if default is not None:
            assert Settings.from_environ({**checked, variable: default}) == defaults, variable
        elif variable not in checked:
            environ = {**checked, variable: ""}  # empty is unset
            assert Settings.from_environ(environ) == defaults, variable
