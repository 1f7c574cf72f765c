"""Logging outside requests: crashes are JSON lines too."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from app.observability.logs import rfc3339


def run_python(code: str) -> tuple[int, list[dict[str, object]]]:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    lines = (result.stdout + result.stderr).splitlines()
    return result.returncode, [json.loads(line) for line in lines]


@pytest.mark.measure_subprocesses
def test_an_uncaught_exception_is_one_json_record_with_a_structured_traceback() -> None:
    code, records = run_python(
        "from app.observability.logs import configure_logging\n"
        "configure_logging('INFO', 'json')\n"
        "secret = 'hunter2'\n"
        "raise RuntimeError('boom')\n"
    )

    assert code == 1
    (record,) = records
    assert (record["event"], record["level"], record["logger"]) == ("uncaught exception", "critical", "app")
    assert "boom" in json.dumps(record["exception"])
    assert "hunter2" not in json.dumps(record), "local variables must not be logged"


@pytest.mark.measure_subprocesses
def test_an_uncaught_exception_in_a_thread_is_a_json_record() -> None:
    code, records = run_python(
        "import threading\n"
        "from app.observability.logs import configure_logging\n"
        "configure_logging('INFO', 'json')\n"
        "def fail(): raise ValueError('in thread')\n"
        "thread = threading.Thread(target=fail); thread.start(); thread.join()\n"
    )

    assert code == 0
    (record,) = records
    assert record["event"] == "uncaught exception"
    assert "in thread" in json.dumps(record["exception"])


def test_warnings_and_standard_library_records_are_json_and_filtered_by_level() -> None:
    code, records = run_python(
        "import logging, warnings\n"
        "from app.observability.logs import configure_logging\n"
        "configure_logging('WARNING', 'json')\n"
        "logging.getLogger('uvicorn.error').info('dropped')\n"
        "logging.getLogger('uvicorn.error').warning('kept %s', 'here')\n"
        "warnings.warn('old api', DeprecationWarning, stacklevel=1)\n"
    )

    assert code == 0
    assert [(record["logger"], record["level"]) for record in records] == [
        ("uvicorn.error", "warning"),
        ("py.warnings", "warning"),
    ]
    assert records[0]["event"] == "kept here"
    assert "old api" in str(records[1]["event"])
    for record in records:
        assert str(record["timestamp"]).endswith("Z")


@pytest.mark.measure_subprocesses
def test_an_exception_python_cannot_raise_is_a_json_record() -> None:
    code, records = run_python(
        "from app.observability.logs import configure_logging\n"
        "configure_logging('INFO', 'json')\n"
        "class Leaky:\n"
        "    def __del__(self): raise OSError('in finalizer')\n"
        "Leaky()\n"
    )

    assert code == 0
    (record,) = records
    assert (record["event"], record["level"]) == ("unraisable exception", "error")
    assert "in finalizer" in json.dumps(record["exception"])


# The start of a script that writes access lines: `access(path)` has the outer ASGI layer answer a GET of `path`.
ACCESS_LINES_SCRIPT = (
    "import asyncio, logging, os, signal\n"
    "from app.observability.logs import configure_logging, get_logger\n"
    "configure_logging('INFO', 'json')\n"
    "from litestar import Litestar, get\n"
    "from app.http.observe import RequestObserver\n"
    "@get('/{name:str}', sync_to_thread=False)\n"
    "def answer(name: str) -> None: pass\n"
    "async def ignore(message): pass\n"
    "observer = RequestObserver(Litestar([answer], logging_config=None), access_log=True, metrics=None)\n"
    "def access(path):\n"
    "    asyncio.run(observer({'type': 'http', 'method': 'GET', 'path': path, 'headers': []}, None, ignore))\n"
)


def test_access_lines_and_other_records_reach_stdout_at_once_in_the_order_written() -> None:
    code, records = run_python(
        ACCESS_LINES_SCRIPT + "access('/1'); access('/2')\n"
        "get_logger('app').info('a record of the service')\n"
        "logging.getLogger('uvicorn.error').info('a record of uvicorn')\n"
        "access('/3')\n"
        'os.write(1, b\'{"event": "written straight to the file descriptor"}\\n\')\n'
    )

    assert code == 0
    assert [record.get("path", record["event"]) for record in records] == [
        "/1",
        "/2",
        "a record of the service",
        "a record of uvicorn",
        "/3",
        "written straight to the file descriptor",
    ]
    assert all(record["request_id"] for record in records if record.get("logger") == "app.access")


def test_an_access_line_is_not_lost_when_the_process_is_killed_right_after_the_request() -> None:
    code, records = run_python(ACCESS_LINES_SCRIPT + "access('/last'); os.kill(os.getpid(), signal.SIGKILL)\n")

    assert code == -signal.SIGKILL
    assert [record["path"] for record in records] == ["/last"]


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 29, 17, 5, 9, 123456, tzinfo=UTC), "2026-11-29T17:05:09.123456Z"),
        # structlog's TimeStamper(fmt="iso") writes "2026-01-02T03:04:05Z" here, which sorts after ".000001Z".
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05.000000Z"),
    ],
)
def test_timestamps_always_have_six_fraction_digits_so_they_sort_as_text(moment: datetime, expected: str) -> None:
    assert rfc3339(moment) == expected
