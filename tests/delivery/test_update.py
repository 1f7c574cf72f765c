"""`just update`: a team that started orders-service from the model's release A, and changed it, takes release B,
end to end on local git tags, and keeps both its changes and its name."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from tests.delivery.checkouts import (
    NEW_NAME,
    commit,
    copy_of_checkout,
    git,
    leftovers,
    rename,
    renamed_tests_pass,
    run,
)

TEAM_LINE = "Our own words, after the title.\n"
MODEL_LINE = "The model's later words about items-service, at the end.\n"


def version_of(checkout: Path) -> str:
    version: str = tomllib.loads((checkout / "pyproject.toml").read_text())["project"]["version"]
    return version


def release(model: Path, version: str, readme_line: str) -> str:
    """The model's next release: a README line, the version (pyproject.toml and uv.lock) and its changelog entry."""
    before = version_of(model)
    name = tomllib.loads((model / "pyproject.toml").read_text())["project"]["name"]
    for path, old, new in (
        ("pyproject.toml", f'version = "{before}"', f'version = "{version}"'),
        ("uv.lock", f'name = "{name}"\nversion = "{before}"', f'name = "{name}"\nversion = "{version}"'),
        ("CHANGELOG.md", "## [Unreleased]\n", f"## [Unreleased]\n\n## [{version}] - 2026-12-04\n\n### Upgrading\n\n"),
    ):
        text = (model / path).read_text()
        assert old in text
        (model / path).write_text(text.replace(old, new, 1))
    with (model / "README.md").open("a") as readme:
        readme.write(readme_line)
    commit(model, f"Release {version}")
    git("tag", f"v{version}", cwd=model)
    return f"v{version}"


@pytest.fixture
def started(tmp_path: Path) -> tuple[Path, Path, str]:
    """The model with its release A tagged, and a team's service started from it: renamed, committed, changed."""
    model = copy_of_checkout(tmp_path / "model")
    first = f"v{version_of(model)}"
    git("tag", first, cwd=model)
    team = tmp_path / "team"
    git("clone", "--quiet", str(model), str(team), cwd=tmp_path)
    assert rename(team).returncode == 0
    commit(team, f"{NEW_NAME}, from the model's {first}")
    readme = (team / "README.md").read_text().splitlines(keepends=True)
    (team / "README.md").write_text("".join([readme[0], TEAM_LINE, *readme[1:]]))
    commit(team, "Our own change")
    return model, team, first


def update(team: Path, tag: str) -> tuple[int, str]:
    result = run(sys.executable, "ci/update.py", tag, cwd=team, check=False)
    return result.returncode, result.stdout + result.stderr


def test_a_team_takes_the_model_next_release_and_keeps_its_changes_and_name(
    started: tuple[Path, Path, str], copy_database: str
) -> None:
    model, team, first = started
    second = release(model, "1.99.0", MODEL_LINE)
    git("fetch", "--quiet", "--tags", "origin", cwd=team)

    code, printed = update(team, second)

    assert code == 0, printed
    assert f"Took the model's {second} (from {first})" in printed
    readme = (team / "README.md").read_text()
    assert TEAM_LINE in readme
    assert MODEL_LINE.replace("items-service", NEW_NAME) in readme, "the model's change, in the team's name"
    assert version_of(team) == "1.99.0"
    assert (team / ".model-release").read_text() == f"{second}\n"
    assert leftovers(team) == []
    conflicted = git("grep", "-n", "-E", "^(<<<<<<<|>>>>>>>) ", cwd=team, check=False).stdout
    assert conflicted == ""
    assert git("status", "--porcelain", cwd=team).stdout == "", "the update is one commit, nothing left over"
    assert git("log", "-1", "--format=%s", cwd=team).stdout == f"Take the model's {second}\n"
    tests = renamed_tests_pass(team, copy_database)
    assert tests.returncode == 0, tests.stdout[-3000:]


def test_a_line_both_changed_stops_the_update_for_the_team_to_resolve(started: tuple[Path, Path, str]) -> None:
    model, team, _ = started
    readme = (model / "README.md").read_text().splitlines(keepends=True)
    (model / "README.md").write_text("".join([readme[0], "The model's own words, after the title.\n", *readme[1:]]))
    second = release(model, "1.99.0", "")
    git("fetch", "--quiet", "--tags", "origin", cwd=team)

    code, printed = update(team, second)

    assert code == 1
    assert "CONFLICT (content): Merge conflict in README.md" in printed
    assert "Resolve the conflicts above, then `git cherry-pick --continue`" in printed
    assert "<<<<<<< HEAD" in (team / "README.md").read_text()


def test_an_update_refuses_what_it_cannot_do_and_says_how(started: tuple[Path, Path, str]) -> None:
    model, team, _ = started
    second = release(model, "1.99.0", MODEL_LINE)

    assert update(team, second) == (1, f"no {second} here: fetch the model's tags first (git fetch model --tags)\n")
    git("fetch", "--quiet", "--tags", "origin", cwd=team)
    (team / "README.md").write_text("uncommitted")
    assert update(team, second) == (1, "commit or stash your changes first: the update is a commit of its own\n")
    git("checkout", "--", "README.md", cwd=team)
    git("rm", "--quiet", ".model-release", cwd=team)
    commit(team, "Forget where it started")
    code, printed = update(team, second)
    assert (code, printed.startswith("no .model-release: write the model's release")) == (1, True)
