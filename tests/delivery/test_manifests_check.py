"""ci/manifests_check.py refuses each mistake it names, planted in the real base manifests, and nothing else."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci.manifests_check import EXAMPLE_MARKER, problems
from tests.delivery.ci_files import ROOT

BASE = ROOT / "ci" / "deploy" / "kubernetes" / "base"
RELEASED = "ghcr.io/example-org/items-service@sha256:" + "ab" * 32
Manifests = dict[str, dict[str, Any]]


def base_manifests() -> Manifests:
    """The base's Deployment (pinned to a released digest, and spread as production wants), autoscaler and budget."""
    manifests = {
        kind: yaml.safe_load((BASE / f"{kind.lower()}.yaml").read_text())
        for kind in ("Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget")
    }
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    for container in (*pod["initContainers"], *pod["containers"]):
        container["image"] = RELEASED
    pod["topologySpreadConstraints"][0]["whenUnsatisfiable"] = "DoNotSchedule"  # as the production overlay patches
    return manifests


def found(tmp_path: Path, manifests: Manifests, overlay: str = "production", example: bool = False) -> list[str]:
    directory = tmp_path / overlay
    directory.mkdir()
    (directory / "kustomization.yaml").write_text(EXAMPLE_MARKER + "\n" if example else "resources: []\n")
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(manifests.values()))
    return problems(directory, rendered)


def test_the_base_pinned_and_spread_as_production_wants_passes(tmp_path: Path) -> None:
    assert found(tmp_path, base_manifests()) == []


def pod(manifests: Manifests) -> dict[str, Any]:
    spec: dict[str, Any] = manifests["Deployment"]["spec"]["template"]["spec"]
    return spec


def set_image(image: str) -> Callable[[Manifests], None]:
    def plant(manifests: Manifests) -> None:
        pod(manifests)["containers"][0]["image"] = image

    return plant


def set_in(kind: str, field: str, value: Any) -> Callable[[Manifests], None]:
    def plant(manifests: Manifests) -> None:
        manifests[kind]["spec"][field] = value

    return plant


def set_spread(index: int, rule: str) -> Callable[[Manifests], None]:
    def plant(manifests: Manifests) -> None:
        pod(manifests)["topologySpreadConstraints"][index]["whenUnsatisfiable"] = rule

    return plant


def pull_always(manifests: Manifests) -> None:
    pod(manifests)["containers"][0]["imagePullPolicy"] = "Always"


def unpinned_init_container(manifests: Manifests) -> None:
    pod(manifests)["initContainers"] = [{"name": "migrate", "image": "ghcr.io/example-org/items-service:1.0"}]


@pytest.mark.parametrize(
    ("plant", "complaint"),
    [
        (set_image("ghcr.io/example-org/items-service@sha256:" + "0" * 64), "all-zero placeholder"),
        (set_image("ghcr.io/example-org/items-service:1.0"), "not pinned by a digest"),
        (unpinned_init_container, "migrate: image ghcr.io/example-org/items-service:1.0 is not pinned"),
        (pull_always, "IfNotPresent"),
        (set_in("Deployment", "replicas", 3), "sets replicas, which the autoscaler owns"),
        (set_in("PodDisruptionBudget", "maxUnavailable", 2), "maxUnavailable 1"),
        (set_in("PodDisruptionBudget", "minAvailable", 1), "maxUnavailable 1"),
        (set_spread(0, "ScheduleAnyway"), "spreading over kubernetes.io/hostname is DoNotSchedule"),
        (set_spread(1, "DoNotSchedule"), "spreading over topology.kubernetes.io/zone is ScheduleAnyway"),
    ],
    ids=[
        "placeholder digest",
        "tag",
        "init container by tag",
        "pulled always",
        "replicas beside an autoscaler",
        "two evictions at once",
        "min available",
        "nodes best effort",
        "zones a hard rule",
    ],
)
def test_each_mistake_is_named(tmp_path: Path, plant: Callable[[Manifests], None], complaint: str) -> None:
    manifests = copy.deepcopy(base_manifests())
    plant(manifests)

    complaints = found(tmp_path, manifests)

    assert len(complaints) == 1, complaints
    assert complaint in complaints[0]


def test_the_placeholder_passes_only_in_an_overlay_that_says_it_is_an_example(tmp_path: Path) -> None:
    manifests = base_manifests()
    set_image("ghcr.io/example-org/items-service@sha256:" + "0" * 64)(manifests)

    assert found(tmp_path, manifests, example=True) == []


def test_spreading_over_nodes_may_be_best_effort_outside_production(tmp_path: Path) -> None:
    manifests = base_manifests()
    set_spread(0, "ScheduleAnyway")(manifests)

    assert found(tmp_path, manifests, overlay="staging") == []
