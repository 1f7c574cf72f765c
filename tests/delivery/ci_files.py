"""Reading the delivery files the tests check: the workflow templates in ci/, YAML files, the justfile's recipes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[2]
WORKFLOWS = sorted((ROOT / "ci").glob("*.yml"))


def load(path: Path) -> dict[Any, Any]:
    """A YAML file's top-level mapping (YAML 1.1 reads a workflow's `on` key as True)."""
    loaded: dict[Any, Any] = yaml.safe_load(path.read_text())
    return loaded


def steps(workflow: Path) -> list[dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = load(workflow)["jobs"]
    return [step for job in jobs.values() for step in job.get("steps", [])]


def uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).startswith(f"{action}@")


def step_using(workflow_steps: list[dict[str, Any]], action: str) -> dict[str, Any]:
    """The one step of `workflow_steps` that runs `action`."""
    [step] = [step for step in workflow_steps if uses(step, action)]
    return step


def just_executable() -> str:
    # rust-just is in the dev dependency group, beside this interpreter, whether or not .venv is on PATH.
    just = shutil.which("just", path=str(Path(sys.executable).parent))
    assert just is not None
    return just


def justfile_recipes() -> set[str]:
    summary = subprocess.run(
        [just_executable(), "--summary"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return set(summary.split())
