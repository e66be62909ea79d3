"""Turning one cell's value into a number of its indicator's type.

`parse_cell` returns `Parsed(value, problem)`: `value` is a float or None (blank:
*not reported*, never zero); `problem` is a Vietnamese explanation when the cell
cannot be read as a number at all (rule R01). Range and type checks on numbers
(negatives, 1,5 in an int column, a flag of 2) are the pandera models' job.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time

from schemas.names import fold

_DASHES = {"-", "–", "—", "−"}
# Vietnamese separators: `.` or a space groups thousands, `,` marks decimals.
_VN_GROUPED = re.compile(r"^\d{1,3}(?:[. \u00a0\u202f]\d{3})+(?:,\d+)?$")
_VN_PLAIN = re.compile(r"^\d+(?:,\d+)?$")
_FLAG_WORDS = {fold(w): 1.0 for w in ("x", "đạt", "có", "1")}
_FLAG_WORDS.update({fold(w): 0.0 for w in ("chưa đạt", "không", "không đạt", "0")})


@dataclass(frozen=True)
class Parsed:
    value: float | None
    problem: str | None = None

    @property
    def blank(self) -> bool:
        return self.value is None and self.problem is None


BLANK = Parsed(None)


def parse_vn_number(text: str) -> float | None:
    """`1.234` -> 1234, `12,5` -> 12.5, `1.234,5` -> 1234.5; None when not a number."""
    s = text.strip()
    negative = s[:1] in ("-", "−") and len(s) > 1
    if negative:
        s = s[1:].strip()
    if _VN_GROUPED.match(s) or _VN_PLAIN.match(s):
        s = re.sub(r"[. \u00a0\u202f]", "", s).replace(",", ".")
        number = float(s)
        return -number if negative else number
    return None


def parse_cell(raw: object, type_: str) -> Parsed:
    """Read a cell of an indicator of type `int`, `money`, `flag` or `year`."""
    if raw is None:
        return BLANK
    if isinstance(raw, bool):
        if type_ == "flag":
            return Parsed(1.0 if raw else 0.0)
        return Parsed(None, "giá trị đúng/sai (TRUE/FALSE) trong cột số")
    if isinstance(raw, (int, float)):
        number = float(raw)
        if math.isnan(number) or math.isinf(number):
            return Parsed(None, "giá trị không phải là số hữu hạn")
        return Parsed(number)
    if isinstance(raw, (datetime, date, time)):
        return Parsed(None, "ô chứa ngày tháng thay vì số")
    text = str(raw).strip()
    if not text:
        return BLANK
    if text in _DASHES:
        return Parsed(0.0)
    if type_ == "flag":
        flag = _FLAG_WORDS.get(fold(text))
        if flag is not None:
            return Parsed(flag)
    number = parse_vn_number(text)
    if number is not None:
        return Parsed(number)
    return Parsed(None, "không đọc được thành số (dùng dấu chấm phân cách hàng nghìn, "
                        "dấu phẩy cho phần thập phân)")
