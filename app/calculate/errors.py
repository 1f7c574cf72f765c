"""What can go wrong with a calculation."""

from __future__ import annotations

from http import HTTPStatus

from app.http.errors import ServiceError


class CalculationError(ServiceError):
    status = HTTPStatus.BAD_REQUEST


class DivisionByZero(CalculationError):
    slug = "division-by-zero"

    def __init__(self) -> None:
        super().__init__("Division by zero is undefined.")


class ResultOutOfRange(CalculationError):
    slug = "result-out-of-range"
