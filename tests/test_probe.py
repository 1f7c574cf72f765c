from __future__ import annotations

from pathlib import Path

from app.probe import probe
from tests.service import free_port, running_service


def test_the_probe_passes_while_the_service_is_live(tmp_path: Path) -> None:
    with running_service({"DATABASE_URL": f"sqlite:///{tmp_path / 'items.db'}"}, tmp_path / "log") as service:
        assert probe(service.url.rsplit(":", 1)[1]) is True


def test_the_probe_fails_when_nothing_listens() -> None:
    assert probe(str(free_port())) is False
