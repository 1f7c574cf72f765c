"""Proves the image's promises by running it: `just image-test` calls this after `just image`.

    python ci/image_check.py IMAGE ENGINE

Starts the image with a read-only root filesystem, waits until it is healthy, runs the smoke test,
and checks the user, the health check, the logs, persistence across a restart and a clean SIGTERM
stop; then starts it again checking tokens and tracing, as production does. Everything it starts is
removed at the end, also when a check fails. Extra `run` options come from CONTAINER_RUN_ARGS (for
example a cgroup parent).
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

EXPECTED_UID = "10001"
HEALTHY_WITHIN_S = 30.0
STOP_GRACE_S = 10
SMOKE = Path(__file__).with_name("smoke.py")


class CheckFailed(Exception):
    pass


class ImageCheck:
    def __init__(self, image: str, engine: str) -> None:
        self.image = image
        self.engine = engine
        suffix = uuid.uuid4().hex[:8]
        self.container = f"items-image-test-{suffix}"
        self.volume = f"items-image-test-{suffix}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.figures: dict[str, str] = {}

    def engine_run(self, *arguments: str, check: bool = True) -> str:
        result = subprocess.run([self.engine, *arguments], capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise CheckFailed(f"{self.engine} {' '.join(arguments)} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def passed(self, what: str) -> None:
        print(f"ok    {what}")

    def start(self, *settings: str) -> float:
        started = time.monotonic()
        self.engine_run(
            "run", "--detach", "--name", self.container,
            "--read-only", "--tmpfs", "/tmp",  # noqa: S108 - the container's own /tmp
            "--volume", f"{self.volume}:/data",
            "--publish", f"127.0.0.1:{self.port}:8000",
            *(option for setting in settings for option in ("--env", setting)),
            *shlex.split(os.environ.get("CONTAINER_RUN_ARGS", "")),
            self.image,
        )  # fmt: skip
        return started

    def wait_until_healthy(self, started: float) -> float:
        deadline = started + HEALTHY_WITHIN_S
        while time.monotonic() < deadline:
            if self.engine_run("healthcheck", "run", self.container, check=False) == "" and self.answers():
                return time.monotonic() - started
            time.sleep(0.05)
        raise CheckFailed(f"not healthy within {HEALTHY_WITHIN_S:.0f} s:\n{self.logs()}")

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health/live", timeout=1) as response:  # noqa: S310
                return response.status == 200
        except OSError:
            return False

    def logs(self) -> str:
        result = subprocess.run([self.engine, "logs", self.container], capture_output=True, text=True, check=False)
        return result.stdout + result.stderr

    def refuses_to_run_open(self) -> None:
        """Fails closed: run as it is, without saying who may call it, it names what is missing and stops."""
        extra = shlex.split(os.environ.get("CONTAINER_RUN_ARGS", ""))
        result = subprocess.run(
            [self.engine, "run", "--rm", "--read-only", *extra, self.image],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        lines = result.stdout.splitlines()
        if result.returncode != 2 or len(lines) != 1 or json.loads(lines[0]).get("variable") != "AUTH_ISSUER":
            raise CheckFailed(f"run without AUTH_ISSUER: exit {result.returncode}, not 2 naming it:\n{result.stdout}")
        self.passed("refuses to start without AUTH_ISSUER: exit 2, one line naming it")

    def run_checks(self) -> None:
        self.figures["image size"] = human(
            int(self.engine_run("image", "inspect", "--format", "{{.Size}}", self.image))
        )
        self.refuses_to_run_open()
        seconds = self.wait_until_healthy(self.start("AUTH_DISABLED=true"))
        self.figures["run to healthy"] = f"{seconds:.2f} s"
        self.passed(f"healthy {seconds:.2f} s after run, with a read-only root filesystem, open on purpose")

        if subprocess.run([sys.executable, str(SMOKE), self.url], check=False).returncode != 0:
            raise CheckFailed("the smoke test failed")
        self.passed("smoke test")

        uid = self.engine_run("exec", self.container, "id", "-u")
        if uid != EXPECTED_UID:
            raise CheckFailed(f"runs as uid {uid}, not {EXPECTED_UID}")
        self.passed(f"runs as the non-root uid {uid}")

        health = self.engine_run("inspect", "--format", "{{.State.Health.Status}}", self.container)
        if health != "healthy":
            raise CheckFailed(f"the health check reports {health!r}")
        self.passed("the image's HEALTHCHECK reports healthy")

        rss = self.engine_run("exec", self.container, "sh", "-c", "grep VmRSS /proc/1/status")
        self.figures["memory (RSS of PID 1)"] = " ".join(rss.split()[1:])

        item = self.create_item()
        self.stop_cleanly()
        self.engine_run("start", self.container)
        self.wait_until_healthy(time.monotonic())
        with urllib.request.urlopen(f"{self.url}/api/v1/items/{item}", timeout=5) as response:  # noqa: S310
            if response.status != 200:
                raise CheckFailed("an item written before the restart is gone")
        self.passed("data on the volume survives a restart")

        self.stop_cleanly()
        lines = self.logs().splitlines()
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                raise CheckFailed(f"a log line is not JSON: {line!r}") from None
            if not isinstance(record, dict):
                raise CheckFailed(f"a log line is not a JSON object: {line!r}")
        self.passed(f"all {len(lines)} log lines are JSON objects, across two starts and stops")
        self.check_tokens_and_traces()

    def check_tokens_and_traces(self) -> None:
        """What a production deployment turns on loads packages the default never imports (httpx and PyJWT for
        the keys, OpenTelemetry's SDK): the image must have them. Nothing answers at these addresses, which the
        service survives: no keys (401 without a token), nothing to export (the sampler keeps no span)."""
        self.engine_run("rm", "--force", "--time", "0", self.container)
        self.wait_until_healthy(
            self.start(
                "AUTH_ISSUER=https://issuer.invalid",
                "AUTH_AUDIENCE=items-service",
                "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318",
                "OTEL_TRACES_SAMPLER=always_off",
            )
        )
        try:
            urllib.request.urlopen(f"{self.url}/api/v1/items", timeout=5)  # noqa: S310
            raise CheckFailed("a request without a token was served while tokens are checked")
        except urllib.error.HTTPError as refused:
            if refused.code != 401:
                raise CheckFailed(f"a request without a token got {refused.code}, not 401") from None
        if '"tracing":"on: OTLP to http://127.0.0.1:4318/v1/traces"' not in self.logs():
            raise CheckFailed("the start-up line does not say tracing is on")
        self.stop_cleanly()
        self.passed("checking tokens and tracing, as production runs it: started, a request without a token is 401")

    def create_item(self) -> str:
        request = urllib.request.Request(  # noqa: S310
            f"{self.url}/api/v1/items",
            data=b'{"name": "persisted", "description": "survives a restart"}',
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            item_id: str = json.loads(response.read())["id"]
            return item_id

    def stop_cleanly(self) -> None:
        started = time.monotonic()
        self.engine_run("stop", "--time", str(STOP_GRACE_S), self.container)
        seconds = time.monotonic() - started
        code = self.engine_run("inspect", "--format", "{{.State.ExitCode}}", self.container)
        if code != "0" or seconds >= STOP_GRACE_S:
            raise CheckFailed(f"stop took {seconds:.1f} s and exited with {code}")
        self.passed(f"SIGTERM stops it with exit code 0 in {seconds:.2f} s")

    def clean_up(self) -> None:
        self.engine_run("rm", "--force", "--time", "0", self.container, check=False)
        self.engine_run("volume", "rm", "--force", self.volume, check=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def human(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def main(image: str, engine: str) -> int:
    check = ImageCheck(image, engine)
    print(f"Image test of {image} with {engine}")
    try:
        check.run_checks()
    except CheckFailed as failure:
        print(f"FAIL  {failure}")
        print(check.logs()[-4000:])
        return 1
    finally:
        check.clean_up()
    for name, value in check.figures.items():
        print(f"      {name}: {value}")
    print("All image checks passed.")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
