"""Renovate's configuration (ci/renovate.json) covers every pin, in a few grouped weekly pull requests."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet

from tests.delivery.ci_files import ROOT, WORKFLOWS, steps, uses


def renovate() -> dict[str, Any]:
    config: dict[str, Any] = json.loads((ROOT / "ci" / "renovate.json").read_text())
    return config


def python_regex(pattern: str) -> re.Pattern[str]:
    """A Renovate pattern (JavaScript syntax; file patterns between slashes) as a Python regular expression."""
    return re.compile(re.sub(r"\(\?<(?![=!])", "(?P<", pattern.removeprefix("/").removesuffix("/")))


def repository_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(set(listed.split()))


def template_steps_using(action: str) -> list[dict[str, Any]]:
    return [step for workflow in WORKFLOWS for step in steps(workflow) if uses(step, action)]


def locked_version(package: str) -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    [version] = [entry["version"] for entry in lock["package"] if entry["name"] == package]
    return version


def test_the_actions_are_updated_in_the_templates_as_in_their_installed_copies() -> None:
    patterns = [python_regex(pattern) for pattern in renovate()["github-actions"]["managerFilePatterns"]]

    for template in WORKFLOWS:
        path = template.relative_to(ROOT).as_posix()
        assert any(pattern.search(path) for pattern in patterns), f"Renovate does not update {path}"


@pytest.mark.parametrize("manager", renovate()["customManagers"], ids=lambda manager: manager["description"])
def test_every_custom_manager_finds_the_pin_it_keeps_current(manager: dict[str, Any]) -> None:
    file_patterns = [python_regex(pattern) for pattern in manager["managerFilePatterns"]]
    files = [name for name in repository_files() if any(pattern.search(name) for pattern in file_patterns)]
    assert files

    for match_string in manager["matchStrings"]:
        found = [match for name in files for match in python_regex(match_string).finditer((ROOT / name).read_text())]
        assert found, f"{match_string} finds nothing in {files}"
        assert all(match["currentValue"] for match in found)


def test_the_justfile_pins_its_images_by_digest() -> None:
    [justfile_images] = [
        manager for manager in renovate()["customManagers"] if "/(^|/)justfile$/" in manager["managerFilePatterns"]
    ]
    [match_string] = justfile_images["matchStrings"]
    images = list(python_regex(match_string).finditer((ROOT / "justfile").read_text()))

    assert images
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", image["currentDigest"]) for image in images)


def test_the_workflows_install_the_just_locked_in_uv_lock() -> None:
    versions = {step["with"]["just-version"] for step in template_steps_using("extractions/setup-just")}

    assert versions == {locked_version("rust-just")}


def test_the_workflows_and_the_image_install_one_uv_that_builds_with_the_backend_pyproject_allows() -> None:
    in_workflows = {step["with"]["version"] for step in template_steps_using("astral-sh/setup-uv")}
    [in_image] = re.findall(r"^ARG UV_VERSION=(\S+)$", (ROOT / "Containerfile").read_text(), re.MULTILINE)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [backend] = pyproject["build-system"]["requires"]

    assert in_workflows == {in_image}
    assert backend.startswith("uv_build")
    assert in_image in SpecifierSet(backend.removeprefix("uv_build"))
