"""`uv run just run`, as the README starts the service: JSON lines only, from start to a clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from app import SERVICE_NAME, __version__
from tests.conftest import sqlite_url
from tests.service import Service, free_port, uv_executable, wait_until_live

ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT_S = 20


@pytest.mark.parametrize(
    ("stop_signal", "exit_code"),
    [pytest.param(signal.SIGINT, 130, id="Ctrl-C"), pytest.param(signal.SIGTERM, 143, id="SIGTERM")],
)
def test_just_run_writes_only_json_lines_and_stops_cleanly(
    tmp_path: Path, stop_signal: signal.Signals, exit_code: int
) -> None:
    port = free_port()
    environment = {**os.environ, "PORT": str(port), "DATABASE_URL": sqlite_url(tmp_path)}
    log_path = tmp_path / "log"
    with log_path.open("wb") as log:
        # A session of its own: the signal goes to the whole chain (uv, just, the recipe, uv, python), as a
        # terminal's Ctrl-C or a supervisor's stop does.
        process = subprocess.Popen(
            [uv_executable(), "run", "just", "run"],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = Service(process, f"http://127.0.0.1:{port}", log_path)
    try:
        wait_until_live(service)
        os.killpg(process.pid, stop_signal)
        assert process.wait(STOP_TIMEOUT_S) == exit_code, service.output()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    records = service.records()  # fails on any line that is not JSON
    assert records[0]["event"] == "starting"
    assert (records[0]["service"], records[0]["version"]) == (SERVICE_NAME, __version__)
    assert records[-1]["event"].startswith("Finished server process")
