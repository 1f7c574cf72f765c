"""`just release-check`: a release's tag must match the version, and CHANGELOG.md must have the version's entry with
its Upgrading note."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.delivery.ci_files import ROOT
from tests.service import uv_executable

VERSION: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def release_check(directory: Path, tag: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "ci" / "scripts" / "release-check.sh"), tag],
        cwd=directory,
        env={**os.environ, "UV": uv_executable()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def project_with(tmp_path: Path, version: str, changelog: str) -> Path:
    pyproject = (ROOT / "pyproject.toml").read_text().replace(f'version = "{VERSION}"', f'version = "{version}"', 1)
    (tmp_path / "pyproject.toml").write_text(pyproject)
    (tmp_path / "CHANGELOG.md").write_text(changelog)
    return tmp_path


def test_this_version_has_its_entry_and_its_upgrading_note() -> None:
    result = release_check(ROOT, f"v{VERSION}")

    assert result.returncode == 0, result.stderr
    assert re.search(
        rf"^## \[{re.escape(VERSION)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE
    )


@pytest.mark.parametrize(
    ("changelog", "refusal"),
    [
        ("# Changelog\n\n## [Unreleased]\n\n### Upgrading\n\n- x\n", "CHANGELOG.md has no entry for 9.9.0"),
        # An earlier release's note is not this one's, nor is a heading that merely starts alike.
        ("## [9.9.0] - 2026-12-04\n\n### Added\n\n## [9.8.0] - 2026-12-01\n\n### Upgrading\n", "no '### Upgrading'"),
        ("## [9.9.01] - 2026-12-04\n\n### Upgrading\n", "CHANGELOG.md has no entry for 9.9.0"),
    ],
)
def test_a_version_without_its_entry_or_its_note_is_refused(tmp_path: Path, changelog: str, refusal: str) -> None:
    result = release_check(project_with(tmp_path, "9.9.0", changelog), "v9.9.0")

    assert result.returncode == 1
    assert refusal in result.stderr


def test_a_tag_that_is_not_the_version_is_refused(tmp_path: Path) -> None:
    result = release_check(project_with(tmp_path, "9.9.0", "## [9.9.0] - 2026-12-04\n\n### Upgrading\n"), "v9.9.1")

    assert result.returncode == 1
    assert "does not match the project's version: expected v9.9.0" in result.stderr
    assert release_check(tmp_path, "v9.9.0").returncode == 0
