"""Checks an overlay's rendered Kubernetes manifests for what no schema knows: `just lint-deploy` calls it.

    python ci/manifests_check.py OVERLAY_DIRECTORY RENDERED.yaml

- Every container image is pinned by a digest, and not by the all-zero placeholder, unless the overlay's
  kustomization.yaml carries the line `# lint-deploy: example overlay, placeholder digest` (a template to copy
  and pin, never to apply as it is). Images pinned by digest are pulled IfNotPresent.
- A Deployment that a HorizontalPodAutoscaler scales sets no replica count of its own.
- Every PodDisruptionBudget lets a drain evict one pod at a time: maxUnavailable 1, no minAvailable.
- In production, pods spread over nodes as a hard rule (DoNotSchedule on kubernetes.io/hostname), over zones
  as a best effort (ScheduleAnyway).

Prints each broken rule and exits 1 if there is any.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

EXAMPLE_MARKER = "# lint-deploy: example overlay, placeholder digest"
DIGEST = re.compile(r"@sha256:(?P<hex>[0-9a-f]{64})$")
PLACEHOLDER = "0" * 64


def containers(manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
    pod = manifest.get("spec", {}).get("template", {}).get("spec", {})
    yield from pod.get("initContainers", [])
    yield from pod.get("containers", [])


def image_problems(manifest: dict[str, Any], *, example: bool) -> Iterator[str]:
    for container in containers(manifest):
        image, name = container["image"], f"{manifest['kind']} {manifest['metadata']['name']}: {container['name']}"
        digest = DIGEST.search(image)
        if digest is None:
            yield f"{name}: image {image} is not pinned by a digest"
            continue
        if digest["hex"] == PLACEHOLDER and not example:
            yield f"{name}: image {image} has the all-zero placeholder digest: set the released one"
        if container.get("imagePullPolicy") != "IfNotPresent":
            yield f"{name}: an image pinned by digest is pulled IfNotPresent (no registry call on every restart)"


def scaling_problems(manifests: list[dict[str, Any]]) -> Iterator[str]:
    scaled = {
        manifest["spec"]["scaleTargetRef"]["name"]
        for manifest in manifests
        if manifest["kind"] == "HorizontalPodAutoscaler" and manifest["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    }
    for manifest in manifests:
        name = manifest["metadata"]["name"]
        if manifest["kind"] == "Deployment" and name in scaled and "replicas" in manifest["spec"]:
            yield f"Deployment {name}: sets replicas, which the autoscaler owns (every apply would reset it)"
        if manifest["kind"] == "PodDisruptionBudget" and (
            manifest["spec"].get("maxUnavailable") != 1 or "minAvailable" in manifest["spec"]
        ):
            yield f"PodDisruptionBudget {name}: maxUnavailable 1 (and no minAvailable) lets a drain evict one at a time"


def spreading_problems(manifest: dict[str, Any]) -> Iterator[str]:
    wanted = {"kubernetes.io/hostname": "DoNotSchedule", "topology.kubernetes.io/zone": "ScheduleAnyway"}
    constraints = manifest["spec"]["template"]["spec"].get("topologySpreadConstraints", [])
    found = {constraint["topologyKey"]: constraint["whenUnsatisfiable"] for constraint in constraints}
    for key, rule in wanted.items():
        if found.get(key) != rule:
            yield f"Deployment {manifest['metadata']['name']}: in production, spreading over {key} is {rule}"


def problems(overlay: Path, rendered: Path) -> list[str]:
    example = EXAMPLE_MARKER in (overlay / "kustomization.yaml").read_text()
    manifests = [manifest for manifest in yaml.safe_load_all(rendered.read_text()) if manifest]
    found = list(scaling_problems(manifests))
    for manifest in manifests:
        found += image_problems(manifest, example=example)
        if manifest["kind"] == "Deployment" and overlay.name == "production":
            found += spreading_problems(manifest)
    return found


def main(overlay: str, rendered: str) -> int:
    found = problems(Path(overlay), Path(rendered))
    for problem in found:
        print(f"{overlay}: {problem}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
