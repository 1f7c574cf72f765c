"""The deployment files in ci/deploy/ agree with the service and with each other.

`just lint-deploy` proves each file valid for its own tool; these tests prove what no single tool sees.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Client

DEPLOY = Path(__file__).parents[2] / "ci" / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "items-service.json"
# The service's series in PromQL: not the parts of recording rules' names (level:metric:operations).
SERIES = re.compile(r"(?<![\w:])(?:http|process)_[a-z_]+(?![\w:])")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def rules() -> list[dict[str, str]]:
    return [rule for group in load(ALERTS)["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_every_rule_has_a_unit_test() -> None:
    tests = load(DEPLOY / "prometheus" / "alerts_test.yml")["tests"]
    alerts_tested = {case["alertname"] for test in tests for case in test.get("alert_rule_test", [])}
    expressions_tested = " ".join(case["expr"] for test in tests for case in test.get("promql_expr_test", []))

    for rule in rules():
        if "alert" in rule:
            assert rule["alert"] in alerts_tested, f"alert {rule['alert']} has no test"
        else:
            assert rule["record"] in expressions_tested, f"recording rule {rule['record']} has no test"


async def test_the_rules_and_the_dashboard_query_only_series_the_service_exports(sqlite_client: Client) -> None:
    # One timed request, so that the latency histogram has series too.
    await sqlite_client.post("/api/v1/calculate", json={"a": 1, "b": 2, "operation": "add"})
    scraped = (await sqlite_client.get("/metrics")).text
    exported = {sample.name for family in text_string_to_metric_families(scraped) for sample in family.samples}

    queries = [*(rule["expr"] for rule in rules()), *dashboard_queries()]
    queried = {name for query in queries for name in SERIES.findall(query)}

    assert queried, "no series found in the queries"
    assert queried <= exported, f"series the service does not export: {queried - exported}"


def test_the_grace_period_outlasts_the_pre_stop_pause_and_the_shutdown_timeout() -> None:
    base = DEPLOY / "kubernetes" / "base"
    settings = dict(
        literal.split("=", 1) for literal in load(base / "kustomization.yaml")["configMapGenerator"][0]["literals"]
    )
    pod = load(base / "deployment.yaml")["spec"]["template"]["spec"]
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]

    assert pod["terminationGracePeriodSeconds"] > pre_stop + int(settings["SHUTDOWN_TIMEOUT"])


def test_prometheus_scrapes_every_replica_nginx_balances_in_compose() -> None:
    compose = load(DEPLOY / "compose.yaml")
    replicas = {f"{name}:8000" for name in compose["services"] if name.startswith("replica-")}
    balanced = set(re.findall(r"^server (\S+)", (DEPLOY / "nginx" / "replicas.conf").read_text(), re.MULTILINE))
    scrape = next(job for job in load(DEPLOY / "prometheus" / "prometheus.yml")["scrape_configs"])
    scraped = {target for config in scrape["static_configs"] for target in config["targets"]}

    assert scrape["job_name"] == "items-service", "the rules and the dashboard select this job"
    assert len(replicas) >= 2
    assert replicas == balanced == scraped
