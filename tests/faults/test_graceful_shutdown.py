"""SIGTERM while requests are in flight: each accepted request gets its answer, nothing acknowledged is lost."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from pathlib import Path

import httpx

from tests.conftest import sqlite_url
from tests.metrics import samples
from tests.service import running_service

IN_FLIGHT = 8
SHUTDOWN_TIMEOUT_S = 10


def in_flight(url: str) -> float:
    return samples(httpx.get(f"{url}/metrics").text)[("http_requests_in_flight", frozenset())]


def test_requests_in_flight_at_sigterm_complete_and_their_writes_are_kept(tmp_path: Path) -> None:
    database = tmp_path / "items.db"
    environment = {"DATABASE_URL": sqlite_url(tmp_path), "SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT_S)}
    with running_service(environment, tmp_path / "log") as service:
        host, port = service.url.removeprefix("http://").split(":")
        connections: list[socket.socket] = []
        bodies: list[bytes] = []
        for number in range(IN_FLIGHT):
            body = json.dumps({"name": f"in flight {number}", "description": "sent across SIGTERM"}).encode()
            connection = socket.create_connection((host, int(port)), timeout=15)
            # Headers and half the body now; the rest after SIGTERM: the request is accepted and unfinished.
            connection.sendall(
                b"POST /api/v1/items HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body[:10]
            )
            connections.append(connection)
            bodies.append(body)
        deadline = time.monotonic() + 10
        while in_flight(service.url) < IN_FLIGHT + 1:  # the scrape counts itself
            assert time.monotonic() < deadline, "the requests never reached the app"
            time.sleep(0.02)

        stopped_at = time.monotonic()
        service.process.send_signal(15)
        while "Shutting down" not in service.output():  # the bodies complete only once shutdown began
            assert time.monotonic() < deadline + 10, "uvicorn never began shutting down"
            time.sleep(0.02)
        answers: list[str] = []
        for connection, body in zip(connections, bodies, strict=True):
            connection.sendall(body[10:])
            answers.append(connection.recv(65536).decode())
            connection.close()
        code = service.process.wait(SHUTDOWN_TIMEOUT_S + 5)
        seconds = time.monotonic() - stopped_at

    assert code == 0
    assert seconds < SHUTDOWN_TIMEOUT_S
    assert all(answer.startswith("HTTP/1.1 201 ") for answer in answers), answers
    with sqlite3.connect(database) as connection:
        names = {name for (name,) in connection.execute("SELECT name FROM items")}
    assert names == {f"in flight {number}" for number in range(IN_FLIGHT)}
