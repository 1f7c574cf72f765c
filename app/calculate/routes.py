"""POST /api/v1/calculate, behind the scope calculate where tokens are checked."""

from __future__ import annotations

from http import HTTPStatus

from litestar import post
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody

from app.auth.access import CALCULATE, AccessRules
from app.calculate.calculator import calculate
from app.calculate.models import CalculationRequest, CalculationResult
from app.http.problems import problem_responses


async def calculate_route(data: JSONBody[CalculationRequest]) -> CalculationResult:
    result = calculate(data.a, data.b, data.operation)
    return CalculationResult(a=data.a, b=data.b, operation=data.operation, result=result)


def calculate_routes(access: AccessRules) -> list[HTTPRouteHandler]:
    return [
        post(
            "/api/v1/calculate",
            status_code=HTTPStatus.OK,
            operation_id="calculate",
            summary="Calculate",
            description="Add, subtract, multiply or divide two numbers. Integer operands give exact integer "
            "results for add, subtract and multiply; divide always returns a float.",
            responses=problem_responses(
                *access.refusals,
                HTTPStatus.BAD_REQUEST,
                HTTPStatus.UNPROCESSABLE_ENTITY,
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            ),
            tags=["calculate"],
            **access.requires(CALCULATE),
        )(calculate_route)
    ]
