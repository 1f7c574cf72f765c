"""Request and response bodies of the calculator."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar.openapi.spec import OpenAPIType
from litestar.params import KwargDefinition

Operation = Literal["add", "subtract", "multiply", "divide"]
# Integers stay integers (exact arithmetic) and floats stay floats. OpenAPI calls both "number":
# Litestar's default, oneOf integer/number, is ambiguous for 1.0, which matches both.
Number = Annotated[int | float, KwargDefinition(schema_extra={"one_of": None, "type": OpenAPIType.NUMBER})]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class CalculationRequest(msgspec.Struct, frozen=True):
    """Two JSON numbers and what to do with them. Integers must fit in a signed 64-bit integer."""

    a: Number
    b: Number
    operation: Operation

    def __post_init__(self) -> None:
        for name, value in (("a", self.a), ("b", self.b)):
            if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
                # msgspec reports this as a validation error of the body; the message names the field.
                raise ValueError(f"`{name}` is outside the signed 64-bit integer range")


class CalculationResult(msgspec.Struct, frozen=True):
    """The operands and operation as received, and the result."""

    a: Number
    b: Number
    operation: Operation
    result: Number
