"""The workflow templates in ci/ run only `just` recipes that exist, and stay hardened."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.delivery.ci_files import ROOT, WORKFLOWS, just_executable, justfile_recipes, load, step_using, steps

JUST_STEP = re.compile(r"^just (?P<recipe>[a-z][a-z0-9-]*)(?: [^\n]*)?$")
PINNED_ACTION = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# The only third-party actions allowed: check-out, tool set-up, login, uploads, attestation, the gate, and the
# scanners that have no command line of their own (CodeQL, dependency review, Scorecard).
ALLOWED_ACTIONS = {
    "actions/checkout",
    "astral-sh/setup-uv",
    "extractions/setup-just",
    "docker/login-action",
    "actions/upload-artifact",
    "github/codeql-action/init",
    "github/codeql-action/analyze",
    "github/codeql-action/upload-sarif",
    "actions/attest-build-provenance",
    "re-actors/alls-green",
    "actions/dependency-review-action",
    "ossf/scorecard-action",
}
# Recipes that need GitHub or a registry, so .ci/run cannot run them.
ONLINE_ONLY = {
    "push": "pushes to the GitHub Container Registry",
    "push-release": "pushes to the GitHub Container Registry",
    "scan": "pulls the Trivy image and its vulnerability database",
    "publish-release": "creates a GitHub release",
}


def recipes_called() -> set[str]:
    called: set[str] = set()
    for workflow in WORKFLOWS:
        for step in steps(workflow):
            if "run" in step and (match := JUST_STEP.match(step["run"].strip())):
                called.add(match["recipe"])
    return called


def triggers(workflow: str) -> dict[str, Any]:
    found: dict[str, Any] = load(ROOT / "ci" / workflow)[True]
    return found


def job_steps(workflow: str, job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = load(ROOT / "ci" / workflow)["jobs"][job]["steps"]
    return found


def test_there_are_the_delivery_and_the_scanning_workflows() -> None:
    assert [workflow.name for workflow in WORKFLOWS] == [
        "cd.yml",
        "ci.yml",
        "codeql.yml",
        "dependency-review.yml",
        "release.yml",
        "scorecard.yml",
    ]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_every_run_step_is_one_just_recipe_and_every_other_step_a_pinned_allowed_action(workflow: Path) -> None:
    text = workflow.read_text()
    for step in steps(workflow):
        if "run" in step:
            command = step["run"].strip()
            assert JUST_STEP.match(command), f"{step.get('name')}: {command!r} is not one just recipe"
            assert "${{" not in command
        else:
            uses: str = step["uses"]
            assert PINNED_ACTION.match(uses), f"{uses} is not pinned to a full commit"
            assert uses.split("@", maxsplit=1)[0] in ALLOWED_ACTIONS, f"{uses} is not an allowed kind of action"
            assert re.search(re.escape(uses) + r" # v\d", text), f"{uses} has no version comment"


def test_every_called_workflow_is_a_template_installed_beside_the_caller() -> None:
    # GitHub's self-repository form ($/, which zizmor asks for over ./): the callee at the caller's own commit.
    called = [job["uses"] for workflow in WORKFLOWS for job in load(workflow)["jobs"].values() if "uses" in job]
    templates = {f"$/.github/workflows/{workflow.name}" for workflow in WORKFLOWS}

    assert called, "no workflow calls another"
    assert set(called) <= templates


def test_every_recipe_the_workflows_call_exists() -> None:
    missing = recipes_called() - justfile_recipes()

    assert not missing, f"the workflows call recipes the justfile lacks: {missing}"


def test_ci_runs_every_recipe_the_workflows_call_that_needs_neither_github_nor_a_registry() -> None:
    ci_script = (ROOT / ".ci" / "run").read_text()
    run_by_ci = set(re.findall(r"\bjust ([a-z][a-z0-9-]*)", ci_script))

    assert recipes_called() - set(ONLINE_ONLY) <= run_by_ci
    assert set(ONLINE_ONLY) <= recipes_called(), "an online-only recipe nobody calls"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflows_are_least_privilege_with_timeouts_and_no_persisted_credentials(workflow: Path) -> None:
    definition = load(workflow)
    assert definition["permissions"] == {}
    for name, job in definition["jobs"].items():
        assert "permissions" in job, f"job {name} declares no permissions"
        if "runs-on" in job:
            assert job["timeout-minutes"] <= 30, f"job {name} has no timeout"
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_branches_cancel_superseded_runs_but_releases_never_do() -> None:
    by_name = {workflow.name: load(workflow) for workflow in WORKFLOWS}

    assert by_name["ci.yml"]["concurrency"]["cancel-in-progress"] is True
    assert by_name["cd.yml"]["concurrency"]["cancel-in-progress"] is False
    assert by_name["release.yml"]["concurrency"]["cancel-in-progress"] is False


def test_the_release_workflow_uses_no_cache() -> None:
    for step in steps(ROOT / "ci" / "release.yml"):
        assert step.get("with", {}).get("enable-cache", False) is False
        assert "cache" not in step.get("uses", "")


def test_each_action_repository_is_pinned_to_one_commit_and_version_across_the_templates() -> None:
    pins: dict[str, set[str]] = {}
    for workflow in WORKFLOWS:
        for match in re.finditer(r"uses: ([\w.-]+/[\w.-]+)[\w./-]*@([0-9a-f]{40} # v[\w.]+)", workflow.read_text()):
            pins.setdefault(match[1], set()).add(match[2])

    assert "github/codeql-action" in pins
    assert {action: pin for action, pin in pins.items() if len(pin) > 1} == {}


def test_codeql_scans_every_branch_ci_checks() -> None:
    # A branch that CI checks but CodeQL does not scan would merge code nobody analysed.
    codeql, ci = triggers("codeql.yml"), triggers("ci.yml")
    analyze = job_steps("codeql.yml", "analyze")

    for event in ("push", "pull_request"):
        assert set(ci[event]["branches"]) <= set(codeql[event]["branches"]), event
    step_using(analyze, "github/codeql-action/init")  # exactly one of each, or it raises
    step_using(analyze, "github/codeql-action/analyze")


def test_scorecard_publishes_its_results_and_uploads_them_to_code_scanning() -> None:
    definition = load(ROOT / "ci" / "scorecard.yml")
    analysis_steps = job_steps("scorecard.yml", "analysis")
    scorecard = step_using(analysis_steps, "ossf/scorecard-action")
    upload = step_using(analysis_steps, "github/codeql-action/upload-sarif")

    # What Scorecard writes is what the upload reads, in the format code scanning takes.
    assert scorecard["with"]["results_format"] == "sarif"
    assert upload["with"]["sarif_file"] == scorecard["with"]["results_file"]
    assert definition["jobs"]["analysis"]["permissions"]["id-token"] == "write"


def test_scorecard_keeps_to_the_restrictions_on_workflows_that_publish() -> None:
    # Scorecard's API refuses results from a workflow with workflow-level env, defaults or write permissions,
    # or a job that runs anything but these actions.
    definition = load(ROOT / "ci" / "scorecard.yml")
    allowed = {
        "actions/checkout",
        "ossf/scorecard-action",
        "actions/upload-artifact",
        "github/codeql-action/upload-sarif",
    }

    assert "env" not in definition
    assert "defaults" not in definition
    assert definition["permissions"] == {}
    for job in definition["jobs"].values():
        assert "container" not in job
        assert "services" not in job
        assert {step["uses"].split("@")[0] for step in job["steps"]} <= allowed


def test_ci_install_installs_every_template(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "ci", tmp_path / "ci")
    for name in ("justfile", "Containerfile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path)

    subprocess.run([just_executable(), "ci-install"], cwd=tmp_path, capture_output=True, check=True)

    installed = {path.relative_to(tmp_path): path.read_text() for path in (tmp_path / ".github").rglob("*.*")}
    expected = {Path(".github/workflows", workflow.name): workflow.read_text() for workflow in WORKFLOWS}
    expected[Path(".github/renovate.json")] = (ROOT / "ci" / "renovate.json").read_text()
    assert installed == expected
