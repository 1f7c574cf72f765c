"""Running the real service as a subprocess, the way `just run` and the image do."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

START_TIMEOUT_S = 20.0

# One TLS context for every client the tests make: httpx would load the CA bundle for each one (30-40 ms of CPU
# here), though the services under test speak plain HTTP on loopback.
TLS = httpx.create_ssl_context()


def uv_executable() -> str:
    """uv, for tests that run what developers run. `uv run` (so `just test`) puts its own path in UV."""
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv is not on PATH: run the tests with `python3 -m uv run just test`"
    return uv


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text()

    def records(self) -> list[dict[str, Any]]:
        """Every line of output, parsed: fails the test on any line that is not a JSON object."""
        records: list[dict[str, Any]] = []
        for line in self.output().splitlines():
            record = json.loads(line)
            assert isinstance(record, dict), line
            records.append(record)  # pyright: ignore[reportUnknownArgumentType]
        return records

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, as an orchestrator sends it; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def launch(environment: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "app"], env={**os.environ, **environment}, stdout=log, stderr=subprocess.STDOUT
        )


@contextmanager
def running_service(environment: Mapping[str, str], log_path: Path) -> Generator[Service]:
    """Start `python -m app` on a free port, wait until it is live, and stop it afterwards."""
    port = free_port()
    process = launch({"HOST": "127.0.0.1", "PORT": str(port), **environment}, log_path)
    service = Service(process, f"http://127.0.0.1:{port}", log_path)
    try:
        wait_until_live(service)
        yield service
    finally:
        try:
            service.stop()
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_live(service: Service) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(timeout=1, verify=TLS) as client:
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise AssertionError(f"the service exited with {service.process.returncode}:\n{service.output()}")
            try:
                if client.get(f"{service.url}/health/live").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise AssertionError(f"the service was not live within {START_TIMEOUT_S} s:\n{service.output()}")
