"""The commit hooks (.pre-commit-config.yaml) run the justfile's recipes as CI does, and `just hooks` installs them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.delivery.test_workflows import just_executable, justfile_recipes
from tests.service import uv_executable

ROOT = Path(__file__).parents[2]
# The command .ci/run and every developer use: the locked environment, then one recipe.
HOOK_ENTRY = re.compile(r"^python3 -m uv run --locked just (?P<recipe>[a-z][a-z0-9-]*)$")


def hooks() -> list[dict[str, Any]]:
    config: dict[str, Any] = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    return [hook | {"repo": repo["repo"]} for repo in config["repos"] for hook in repo["hooks"]]


def test_the_hooks_run_just_fmt_then_just_lint_and_nothing_else() -> None:
    recipes: list[str] = []
    for hook in hooks():
        match = HOOK_ENTRY.match(hook["entry"])
        assert match, f"hook {hook['id']} runs {hook['entry']!r}, not one just recipe"
        assert hook["repo"] == "local"
        assert hook["language"] == "system"
        assert hook["pass_filenames"] is False
        recipes.append(match["recipe"])

    assert recipes == ["fmt", "lint"]
    assert set(recipes) <= justfile_recipes()


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
