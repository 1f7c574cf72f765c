"""What can go wrong with the database, whichever resource asked: the HTTP layer decides what a client is told
(app.http.problems), start-up what it logs (app.db.lifespan)."""

from __future__ import annotations


class StorageUnavailable(Exception):
    """The database cannot be reached now, and may be later. (Its message, part of the contract since the first
    release, names the item store, the first resource stored.)"""

    def __init__(self, detail: str = "The item store is unavailable; try again shortly.") -> None:
        super().__init__(detail)


class StorageBusy(StorageUnavailable):
    """Every pooled connection of this replica stayed busy for as long as a request may wait for one."""

    def __init__(self, waited_s: float) -> None:
        super().__init__(
            f"Every database connection of this replica stayed busy for {waited_s:g} s; try again shortly."
        )


class SchemaTooNew(Exception):
    """A newer release changed the schema in a way this one cannot serve: serving could corrupt data."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"The database's schema is at version {found}, newer than the {known} this release knows, and not "
            "only expanded since: deploy the release that migrated it (or a newer one), or restore the database."
        )
        self.found = found
        self.known = known


class MigrationBlocked(Exception):
    """A migration waited longer than its lock timeout, or ran a statement longer than its statement timeout."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The schema migration gave up: {reason}. Nothing of it was applied; it is tried again when the process "
            "starts again (find what holds the lock in pg_locks and pg_stat_activity)."
        )
        self.reason = reason
