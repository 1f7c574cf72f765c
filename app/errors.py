"""Domain errors: raised where a problem is found, turned into problem documents in `app.problems`."""

from __future__ import annotations

from http import HTTPStatus

import msgspec


class FieldError(msgspec.Struct, frozen=True):
    """One input value that failed validation, and why."""

    field: str
    message: str


class ServiceError(Exception):
    """A failure a client is told about with a problem document; subclasses set the status and type."""

    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR
    slug: str | None = None  # None: an ordinary HTTP status whose type is about:blank
    retry_after: int | None = None  # seconds, sent as Retry-After when the failure is temporary
    errors: list[FieldError] | None = None  # which inputs failed, for validation errors

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class MalformedJSON(ServiceError):
    status = HTTPStatus.BAD_REQUEST
    slug = "malformed-json"


class InvalidInput(ServiceError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    slug = "validation-error"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))
        self.errors = errors


class UnsupportedMediaType(ServiceError):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE

    def __init__(self, media_type: str) -> None:
        super().__init__(f"Request bodies must be application/json, not {media_type}.")


class ItemNotFound(ServiceError):
    status = HTTPStatus.NOT_FOUND
    slug = "item-not-found"

    def __init__(self, item_id: object) -> None:
        super().__init__(f"No item has the id {item_id}.")


class CalculationError(ServiceError):
    status = HTTPStatus.BAD_REQUEST


class DivisionByZero(CalculationError):
    slug = "division-by-zero"

    def __init__(self) -> None:
        super().__init__("Division by zero is undefined.")


class ResultOutOfRange(CalculationError):
    slug = "result-out-of-range"


class SchemaTooNew(Exception):
    """The database's schema was migrated by a newer release than this one: serving could corrupt data."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"The database's schema is at version {found}, newer than the {known} this release knows: "
            "a newer release has migrated it. Deploy that release (or newer), or restore the database."
        )
        self.found = found
        self.known = known


class StorageUnavailable(ServiceError):
    status = HTTPStatus.SERVICE_UNAVAILABLE
    slug = "storage-unavailable"
    retry_after = 1

    def __init__(self, detail: str = "The item store is unavailable; try again shortly.") -> None:
        super().__init__(detail)
