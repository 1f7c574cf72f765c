"""Arithmetic with the contract's rules: exact integers within 64 bits, finite floats, no division by zero."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

from app.calculate.errors import DivisionByZero, ResultOutOfRange
from app.calculate.models import INT64_MAX, INT64_MIN, Number, Operation

_OPERATIONS: dict[Operation, Callable[[Number, Number], Number]] = {
    "add": operator.add,
    "subtract": operator.sub,
    "multiply": operator.mul,
    "divide": lambda a, b: a / b,
}


def calculate(a: Number, b: Number, operation: Operation) -> Number:
    """Apply `operation` to `a` and `b`; raise a `CalculationError` when there is no finite answer."""
    if operation == "divide" and b == 0:
        raise DivisionByZero
    try:
        result = _OPERATIONS[operation](a, b)
    except OverflowError:
        raise ResultOutOfRange("The result is too large to represent.") from None
    if isinstance(result, int):
        if not INT64_MIN <= result <= INT64_MAX:
            raise ResultOutOfRange("The integer result is outside the signed 64-bit range.")
    elif not math.isfinite(result):
        raise ResultOutOfRange("The result is not a finite number.")
    return result
