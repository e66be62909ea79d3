"""Vietnamese number formatting and rounding (name folding: `schemas/names.py`)."""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_decimal


def round_half_up(value: float | int, decimals: int = 0) -> Decimal:
    """Round as Excel and a statistics office do (0,125 -> 0,13; 2,5 -> 3), not to even.

    The float's shortest decimal form is what is rounded, so 0.125 is 0.125, not the
    binary 0.12499999…"""
    q = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return q.copy_abs() if q == 0 else q  # never "-0,00"


def vn_number(value: float | int | None, decimals: int = 0, empty: str = "") -> str:
    """Vietnamese number format: `1.234,5`, rounded half up."""
    if value is None or value != value or value in (math.inf, -math.inf):  # not a number
        return empty
    pattern = "#,##0." + "0" * decimals if decimals else "#,##0"
    return format_decimal(round_half_up(value, decimals), format=pattern, locale="vi_VN")


def vn_flexible(value: float | int | None, max_decimals: int = 2, empty: str = "") -> str:
    """Vietnamese format with up to `max_decimals` decimals, trailing zeros dropped."""
    if value is None or value != value or value in (math.inf, -math.inf):
        return empty
    pattern = "#,##0." + "#" * max_decimals if max_decimals else "#,##0"
    return format_decimal(round_half_up(value, max_decimals), format=pattern, locale="vi_VN")
