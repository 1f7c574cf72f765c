"""CONTRIBUTING.md's checklists name files and tests that exist: a rename that leaves the guide behind fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
GUIDE = (ROOT / "CONTRIBUTING.md").read_text()
# A path in backticks (placeholders such as <resource> and NNNN are not files), and the tests an arrow names.
PATH = re.compile(r"`((?:app|tests|ci)/[\w./-]+)`")
TEST = re.compile(r"→ `?(test_\w+)`?")


def test_every_path_the_guide_names_exists() -> None:
    named = set(PATH.findall(GUIDE))

    assert named, "the guide names no file"
    assert sorted(path for path in named if not (ROOT / path).exists()) == []


def test_every_test_the_guide_names_exists() -> None:
    named = set(TEST.findall(GUIDE))
    defined = {
        name for file in (ROOT / "tests").rglob("test_*.py") for name in re.findall(r"def (test_\w+)", file.read_text())
    }

    assert named, "the guide names no test"
    assert sorted(named - defined) == []
