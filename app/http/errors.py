"""Errors a client is told about: raised where the problem is found, turned into problem documents in
`app.http.problems`. Each feature defines its own beside its code; these are the ones every request can meet."""

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

    def headers(self) -> dict[str, str]:
        """Headers the answer carries beside the problem document."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


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


class RepeatedHeader(ServiceError):
    """A header that must be sent once came twice: which one the service, a proxy or a log would read is unclear."""

    status = HTTPStatus.BAD_REQUEST
    slug = "repeated-header"

    def __init__(self, name: str) -> None:
        super().__init__(f"The request sends {name} more than once: send it once.")
