"""RFC 9457 problem documents: the one place where errors become HTTP responses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, InternalServerException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from app import SERVICE_NAME
from app.db.errors import StorageBusy, StorageUnavailable
from app.http.errors import FieldError, InvalidInput, ServiceError
from app.observability.logs import get_logger

PROBLEM_MEDIA_TYPE = "application/problem+json"
# A contract clients may match on: it follows the service's name (README.md#start-your-own-service).
PROBLEM_TYPE_PREFIX = f"tag:{SERVICE_NAME},2026:problems/"

logger = get_logger("app.problems")


class Problem(msgspec.Struct, frozen=True):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    # Unset rather than None: the document then promises no `null` the service never sends.
    errors: list[FieldError] | msgspec.UnsetType = msgspec.UNSET


def problem(
    status: HTTPStatus, detail: str, slug: str | None = None, errors: list[FieldError] | None = None
) -> Problem:
    """The problem document for `status`: `about:blank` unless a slug names a more specific type."""
    problem_type = "about:blank" if slug is None else PROBLEM_TYPE_PREFIX + slug
    return Problem(
        type=problem_type,
        title=status.phrase,
        status=status.value,
        detail=detail,
        errors=msgspec.UNSET if errors is None else errors,
    )


def problem_response(
    status: HTTPStatus,
    detail: str,
    slug: str | None = None,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[Problem]:
    return Response(
        problem(status, detail, slug, errors),
        status_code=status.value,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def handle_service_error(_: Request[Any, Any, Any], exc: ServiceError) -> Response[Problem]:
    return problem_response(exc.status, exc.detail, exc.slug, exc.errors, exc.headers())


def handle_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Problem]:
    # Litestar's own validation (query and path parameters, a missing body) answers like ours: 422.
    entries: list[dict[str, Any]] = exc.extra if isinstance(exc.extra, list) else []  # pyright: ignore[reportUnknownMemberType]
    return handle_service_error(request, InvalidInput([_field_error(entry) for entry in entries]))


def handle_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = HTTPStatus(exc.status_code)
    detail = exc.detail if exc.detail and exc.detail != status.phrase else status.description
    return problem_response(status, detail, headers=exc.headers)


def _field_error(entry: dict[str, Any]) -> FieldError:
    field = str(entry.get("key", "request"))
    if entry.get("source") == "header":
        # Litestar names a header by its parameter (if_match); the client knows it as the header (If-Match).
        field = field.replace("_", "-").title()
    if field == "data":
        # Bodies are decoded in app.http.bodies, so Litestar only reports `data` itself when the body is empty.
        return FieldError(field="body", message="a JSON body is required")
    return FieldError(field=field, message=str(entry.get("message", "is invalid")))


def handle_unexpected_error(_: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    # The traceback goes to the log, never to the client: it could reveal SQL, paths or data.
    logger.error("unhandled exception", exc_info=exc)
    return problem_response(HTTPStatus.INTERNAL_SERVER_ERROR, "The server could not complete the request.")


ProblemHandler = Callable[[Request[Any, Any, Any], Any], Response[Problem]]


@dataclass(frozen=True, slots=True)
class ProblemType:
    """What a client is told of a domain error: the status, the problem type, and when to retry; its message is the
    detail."""

    status: HTTPStatus
    slug: str | None = None
    retry_after: int | None = None

    def handler(self) -> ProblemHandler:
        headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}

        def handle(_: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
            return problem_response(self.status, str(exc), self.slug, headers=headers)

        return handle


def problem_handlers(types: Mapping[type[Exception], ProblemType]) -> dict[int | type[Exception], ProblemHandler]:
    """Exception handlers (for an app, a controller or a route) that answer each error with its problem type."""
    return {error: problem_type.handler() for error, problem_type in types.items()}


EXCEPTION_HANDLERS: dict[int | type[Exception], ProblemHandler] = {
    **problem_handlers(
        {
            StorageBusy: ProblemType(HTTPStatus.SERVICE_UNAVAILABLE, "storage-busy", retry_after=1),
            StorageUnavailable: ProblemType(HTTPStatus.SERVICE_UNAVAILABLE, "storage-unavailable", retry_after=1),
        }
    ),
    ServiceError: handle_service_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_exception,
    # Litestar raises this for its own failures: a bug to log, like any other unexpected error.
    InternalServerException: handle_unexpected_error,
    Exception: handle_unexpected_error,
}


def problem_responses(*statuses: HTTPStatus) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem documents a route can answer with."""
    return {
        status.value: ResponseSpec(
            data_container=Problem,
            # Python describes some statuses with an empty string (Unprocessable Entity): the phrase beats nothing.
            description=status.description or status.phrase,
            media_type=PROBLEM_MEDIA_TYPE,
            # Generated examples are random text: noise to readers, and they need polyfactory and
            # faker, which the image leaves out.
            generate_examples=False,
        )
        for status in statuses
    }
