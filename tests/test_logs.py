"""Logging outside requests: crashes are JSON lines too."""

from __future__ import annotations

import json
import subprocess
import sys


def run_python(code: str) -> tuple[int, list[dict[str, object]]]:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    lines = (result.stdout + result.stderr).splitlines()
    return result.returncode, [json.loads(line) for line in lines]


def test_an_uncaught_exception_is_one_json_record_with_a_structured_traceback() -> None:
    code, records = run_python(
        "from app.logs import configure_logging\n"
        "configure_logging('INFO', 'json')\n"
        "secret = 'hunter2'\n"
        "raise RuntimeError('boom')\n"
    )

    assert code == 1
    (record,) = records
    assert (record["event"], record["level"], record["logger"]) == ("uncaught exception", "critical", "app")
    assert "boom" in json.dumps(record["exception"])
    assert "hunter2" not in json.dumps(record), "local variables must not be logged"


def test_an_uncaught_exception_in_a_thread_is_a_json_record() -> None:
    code, records = run_python(
        "import threading\n"
        "from app.logs import configure_logging\n"
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
        "from app.logs import configure_logging\n"
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


def test_an_exception_python_cannot_raise_is_a_json_record() -> None:
    code, records = run_python(
        "from app.logs import configure_logging\n"
        "configure_logging('INFO', 'json')\n"
        "class Leaky:\n"
        "    def __del__(self): raise OSError('in finalizer')\n"
        "Leaky()\n"
    )

    assert code == 0
    (record,) = records
    assert (record["event"], record["level"]) == ("unraisable exception", "error")
    assert "in finalizer" in json.dumps(record["exception"])


# The start of a script that writes access lines: `access(path)` writes one for a GET of `path`.
ACCESS_LINES_SCRIPT = (
    "import asyncio, os\n"
    "from app.logs import AccessLine, configure_logging, get_logger, write_access_line\n"
    "configure_logging('INFO', 'json')\n"
    "def access(path): write_access_line(AccessLine('GET', path, None, 200, 1.0, None, None))\n"
)


def test_access_lines_reach_stdout_by_the_end_of_the_loop_turn_in_order() -> None:
    code, records = run_python(
        ACCESS_LINES_SCRIPT + "async def main():\n"
        "    access('/1'); access('/2')\n"
        "    get_logger('app').info('a record of the service')\n"
        "    access('/3')\n"
        "    await asyncio.sleep(0)\n"
        '    os.write(1, b\'{"event": "written straight to the file descriptor"}\\n\')\n'
        "asyncio.run(main())\n"
    )

    assert code == 0
    assert [record.get("path", record["event"]) for record in records] == [
        "/1",
        "/2",
        "a record of the service",
        "/3",
        "written straight to the file descriptor",
    ]


def test_access_lines_of_an_event_loop_that_stopped_before_its_next_turn_are_not_held_back() -> None:
    code, records = run_python(
        ACCESS_LINES_SCRIPT + "async def stop_then_write():\n"
        "    asyncio.get_running_loop().stop()\n"
        "    access('/first loop')\n"
        "first = asyncio.new_event_loop()\n"
        "first.create_task(stop_then_write())\n"
        "first.run_forever()\n"
        "first.close()\n"
        "async def write_and_yield():\n"
        "    access('/second loop')\n"
        "    await asyncio.sleep(0)\n"
        '    os.write(1, b\'{"event": "marker"}\\n\')\n'
        "asyncio.run(write_and_yield())\n"
    )

    assert code == 0
    assert [record.get("path", record["event"]) for record in records] == ["/first loop", "/second loop", "marker"]
