"""What the tests of delivery share: a PostgreSQL database for the tests they run in a copy of the checkout."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import database_of_its_own


@pytest.fixture
def copy_database(postgres_server: str, worker_id: str) -> Iterator[str]:
    """A database of its own on this session's server, for a copy's tests to empty as they please."""
    with database_of_its_own(postgres_server, f"items_copy_{worker_id}") as url:
        yield url
