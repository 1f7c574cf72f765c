"""The releases `just bench` checks out from git history to run beside the service."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.bench import checkout_target


def test_a_release_git_cannot_find_runs_as_no_target_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As in a shallow clone: a commit that is not there, and a file's first commit that git log did not find.
    assert checkout_target("release", "0" * 40, "release before the reshape", {}, tmp_path) == []
    assert checkout_target("untraced", None, "release before tracing", {}, tmp_path) == []
    assert capsys.readouterr().out.splitlines() == [
        "No release before the reshape in this checkout's history: no `release` target.",
        "No release before tracing in this checkout's history: no `untraced` target.",
    ]
    assert list(tmp_path.iterdir()) == []
