"""ci/collector_check.py refuses each mistake it names, planted in a copy of the real files, and passes them as are."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci.collector_check import problems
from tests.delivery.ci_files import ROOT

DEPLOY = ROOT / "ci" / "deploy"
Plant = Callable[[dict[str, Any], dict[str, Any]], None]


def in_config(edit: Callable[[dict[str, Any]], object]) -> Plant:
    """A mistake planted in the collector's configuration."""

    def plant(config: dict[str, Any], _compose: dict[str, Any]) -> None:
        edit(config)

    return plant


def found(tmp_path: Path, plant: Plant | None = None) -> list[str]:
    config = yaml.safe_load((DEPLOY / "otel-collector" / "config.yaml").read_text())
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    if plant is not None:
        plant(config, compose)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump(compose))
    return problems(tmp_path / "config.yaml", tmp_path / "compose.yaml")


def test_the_real_files_pass(tmp_path: Path) -> None:
    assert found(tmp_path) == []


def traces(config: dict[str, Any]) -> dict[str, list[str]]:
    pipeline: dict[str, list[str]] = config["service"]["pipelines"]["traces"]
    return pipeline


def send_replica_to(endpoint: str) -> Plant:
    def plant(_config: dict[str, Any], compose: dict[str, Any]) -> None:
        compose["services"]["replica-2"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint

    return plant


@pytest.mark.parametrize(
    ("plant", "expected"),
    [
        (in_config(lambda config: traces(config)["exporters"].append("otlp/tempo")), "otlp/tempo is in a pipeline"),
        (in_config(lambda config: config["processors"].update({"attributes": {}})), "attributes is configured but"),
        (in_config(lambda config: config["service"]["pipelines"].clear()), "no traces pipeline"),
        (in_config(lambda config: config["extensions"].clear()), "health_check is not configured"),
        (in_config(lambda config: traces(config)["processors"].reverse()), "memory_limiter must be the first"),
        (in_config(lambda config: traces(config)["processors"].pop()), "batch must be the last"),
        (
            in_config(lambda config: config["receivers"]["otlp"]["protocols"]["http"].update(endpoint="0.0.0.0:4317")),
            "listens on 4317",
        ),
        (send_replica_to("http://otel-collector:4317"), "replica-2: OTEL_EXPORTER_OTLP_ENDPOINT"),
        (send_replica_to("http://collector:4318"), "replica-2: OTEL_EXPORTER_OTLP_ENDPOINT"),
        (in_config(lambda config: config["exporters"]["otlp/jaeger"].update(endpoint="tempo:4317")), "tempo, which"),
    ],
)
def test_each_mistake_is_refused(tmp_path: Path, plant: Plant, expected: str) -> None:
    assert any(expected in problem for problem in found(tmp_path, plant)), found(tmp_path, plant)
