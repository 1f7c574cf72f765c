from __future__ import annotations

import subprocess
import sys

import pytest

from ci.release_tags import release_tags

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("version", "tags"),
    [
        ("1.4.2", ["1.4.2", "1.4", "1", "latest", "sha-0123456"]),
        ("2.0.0", ["2.0.0", "2.0", "2", "latest", "sha-0123456"]),
        ("0.3.1", ["0.3.1", "0.3", "latest", "sha-0123456"]),
        ("1.4.2-rc.1", ["1.4.2-rc.1", "sha-0123456"]),
        ("0.1.0-alpha", ["0.1.0-alpha", "sha-0123456"]),
        ("1.4.2+build.7", ["1.4.2", "1.4", "1", "latest", "sha-0123456"]),
    ],
)
def test_tags_follow_the_semver_rules_of_docker_metadata_action(version: str, tags: list[str]) -> None:
    assert release_tags(version, COMMIT) == tags


@pytest.mark.parametrize("version", ["v1.2.3", "1.2", "01.2.3", "1.2.3-", "latest", ""])
def test_anything_but_a_semantic_version_is_refused(version: str) -> None:
    with pytest.raises(ValueError, match="not a semantic version"):
        release_tags(version, COMMIT)


def test_the_commit_must_be_a_commit_id() -> None:
    with pytest.raises(ValueError, match="not a git commit id"):
        release_tags("1.2.3", "main")


def test_the_command_prints_one_tag_per_line_and_fails_on_bad_input() -> None:
    script = [sys.executable, "ci/release_tags.py"]
    printed = subprocess.run([*script, "1.2.3", COMMIT], capture_output=True, text=True, check=True).stdout
    refused = subprocess.run([*script, "v1", COMMIT], capture_output=True, text=True, check=False)

    assert printed.splitlines() == ["1.2.3", "1.2", "1", "latest", "sha-0123456"]
    assert refused.returncode == 1
    assert "not a semantic version" in refused.stderr
    assert subprocess.run(script, capture_output=True, check=False).returncode == 2
