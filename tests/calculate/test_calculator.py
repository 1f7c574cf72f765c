from __future__ import annotations

import pytest

from app.calculate.calculator import calculate
from app.calculate.errors import DivisionByZero, ResultOutOfRange


def test_huge_integers_that_overflow_a_float_are_out_of_range_not_a_crash() -> None:
    with pytest.raises(ResultOutOfRange):
        calculate(10**400, 1.5, "multiply")


def test_division_by_negative_zero_is_division_by_zero() -> None:
    with pytest.raises(DivisionByZero):
        calculate(1.0, -0.0, "divide")
