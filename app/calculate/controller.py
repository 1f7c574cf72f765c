"""POST /api/v1/calculate, under the scope calculate where tokens are checked."""

from __future__ import annotations

from http import HTTPStatus

from litestar import Controller, post
from litestar.params import JSONBody

from app.auth.access import requires
from app.calculate.calculator import calculate
from app.calculate.models import CalculationRequest, CalculationResult
from app.http.problems import problem_responses

CALCULATE = "calculate"


class CalculateController(Controller):
    path = "/api/v1/calculate"
    tags = ["calculate"]  # noqa: RUF012 - Litestar's declaration

    @post(
        status_code=HTTPStatus.OK,
        operation_id="calculate",
        summary="Calculate",
        description="Add, subtract, multiply or divide two numbers. Integer operands give exact integer "
        "results for add, subtract and multiply; divide always returns a float.",
        responses=problem_responses(
            HTTPStatus.BAD_REQUEST,
            HTTPStatus.UNPROCESSABLE_ENTITY,
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        ),
        opt=requires(CALCULATE),
    )
    async def calculate(self, data: JSONBody[CalculationRequest]) -> CalculationResult:
        result = calculate(data.a, data.b, data.operation)
        return CalculationResult(a=data.a, b=data.b, operation=data.operation, result=result)
