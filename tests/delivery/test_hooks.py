"""The commit hooks (.pre-commit-config.yaml) run the justfile's recipes as CI does, and `just hooks` installs them."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.delivery.ci_files import ROOT, just_executable, justfile_recipes, load
from tests.service import uv_executable


def hooks() -> list[dict[str, Any]]:
    config = load(ROOT / ".pre-commit-config.yaml")
    return [hook | {"repo": repo["repo"]} for repo in config["repos"] for hook in repo["hooks"]]


def stand_in(directory: Path, name: str) -> None:
    """An executable NAME in DIRECTORY that prints how it was called instead of doing anything."""
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(f'#!/bin/sh\necho {name} "$@"\n')
    (directory / name).chmod(0o755)


def run_hook(hook: dict[str, Any], environment: dict[str, str]) -> list[str]:
    command = [*shlex.split(hook["entry"]), *hook["args"]]
    ran = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    return ran.stdout.split()


def test_the_hooks_are_just_fmt_then_just_lint_and_nothing_else() -> None:
    for hook in hooks():
        assert hook["repo"] == "local"
        assert hook["language"] == "system"
        assert hook["pass_filenames"] is False

    recipes = [recipe for hook in hooks() for recipe in hook["args"]]
    assert recipes == ["fmt", "lint"]
    assert set(recipes) <= justfile_recipes()


def test_inside_uv_run_a_hook_runs_its_recipe_with_that_uv_in_the_locked_environment(tmp_path: Path) -> None:
    stand_in(tmp_path, "uv-from-uv-run")

    for hook in hooks():
        ran = run_hook(hook, {**os.environ, "UV": str(tmp_path / "uv-from-uv-run")})
        assert ran == ["uv-from-uv-run", "run", "--locked", "just", *hook["args"]]


@pytest.mark.parametrize(
    ("installed", "called"), [("uv", ["uv"]), ("python3", ["python3", "-m", "uv"])], ids=["uv", "python3 -m uv"]
)
def test_outside_uv_run_a_hook_finds_uv_on_path_or_as_a_python_module(
    tmp_path: Path, installed: str, called: list[str]
) -> None:
    # A PATH of nothing but a shell and the stand-in.
    stand_in(tmp_path / "bin", installed)
    shell = shutil.which("sh")
    assert shell
    (tmp_path / "bin" / "sh").symlink_to(shell)
    environment = {key: value for key, value in os.environ.items() if key != "UV"} | {"PATH": str(tmp_path / "bin")}

    for hook in hooks():
        assert run_hook(hook, environment) == [*called, "run", "--locked", "just", *hook["args"]]


def test_just_hooks_installs_the_hooks_into_the_repository(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "--quiet"], cwd=tmp_path, check=True)
    shutil.copy(ROOT / ".pre-commit-config.yaml", tmp_path)

    # The recipe runs in the new repository, with this project's locked environment.
    subprocess.run(
        [just_executable(), "--justfile", ROOT / "justfile", "--working-directory", tmp_path, "hooks"],
        env={**os.environ, "UV": uv_executable(), "UV_PROJECT": str(ROOT)},
        capture_output=True,
        check=True,
    )

    hook = tmp_path / ".git" / "hooks" / "pre-commit"
    assert "pre-commit" in hook.read_text()
    assert hook.stat().st_mode & 0o111


def test_a_process_started_with_an_environment_of_its_own_fails_the_test() -> None:
    # What made the generated-client test fail on a fresh machine: env= replaced uv's cache, certificates and proxies.
    with pytest.raises(AssertionError, match="drops the environment"):
        subprocess.run([sys.executable, "-c", "pass"], env={"PYTHONPATH": "."}, check=True)
    subprocess.run([sys.executable, "-c", "pass"], env={**os.environ, "PYTHONPATH": "."}, check=True)
