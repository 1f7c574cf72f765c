"""The smoke test passes against a real instance and fails loudly against a broken one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.service import free_port, running_service

SMOKE = Path(__file__).parents[2] / "ci" / "smoke.py"


def smoke(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SMOKE), url], capture_output=True, text=True, timeout=60, check=False)


def test_the_smoke_test_passes_against_the_service_and_leaves_no_item(tmp_path: Path) -> None:
    with running_service({"DATABASE_URL": f"sqlite:///{tmp_path / 'items.db'}"}, tmp_path / "log") as service:
        result = smoke(service.url)
        leftovers = httpx.get(f"{service.url}/api/v1/items").json()

    assert result.returncode == 0, result.stdout
    assert "All checks passed." in result.stdout
    assert "FAIL" not in result.stdout
    assert leftovers == []


def test_the_smoke_test_fails_when_nothing_answers() -> None:
    result = smoke(f"http://127.0.0.1:{free_port()}")

    assert result.returncode == 1
    assert "FAIL  health reports healthy" in result.stdout
    assert "FAILED:" in result.stdout


def test_the_smoke_test_needs_exactly_one_url() -> None:
    result = subprocess.run([sys.executable, str(SMOKE)], capture_output=True, text=True, check=False)

    assert result.returncode == 2
    assert "Smoke test of a running instance" in result.stdout
