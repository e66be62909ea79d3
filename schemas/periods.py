"""Reporting periods: `YYYY-H1` (first six months) and `YYYY` (the whole year)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from schemas.names import ascii_fold

FIRST_YEAR, LAST_YEAR = 2016, 2030

_CANONICAL = re.compile(r"^\s*(\d{4})\s*(?:-\s*[Hh]1)?\s*$")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    h1: bool = False

    def __str__(self) -> str:
        return f"{self.year}-H1" if self.h1 else str(self.year)

    @property
    def end(self) -> date:
        """The period's last day: units valid on it are the period's units."""
        return date(self.year, 6, 30) if self.h1 else date(self.year, 12, 31)

    @property
    def label(self) -> str:
        return f"6 tháng đầu năm {self.year}" if self.h1 else f"Năm {self.year}"

    @property
    def previous_year(self) -> "Period":
        """The annual report of the year before (history rules and change since last year)."""
        return Period(self.year - 1, False)

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.year, 0 if self.h1 else 1)


class PeriodError(ValueError):
    pass


def parse_period(value: object) -> Period:
    """Read a period as officers write it.

    Accepts `2017-H1`, `2017`, `6 tháng đầu năm 2017`, `6 tháng 2017`, `Năm 2017`,
    `Năm 2017` typed as a number, and the same without diacritics.
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise PeriodError(f"không đọc được kỳ báo cáo: {value!r}")
    m = _CANONICAL.match(text)
    if m:
        period = Period(int(m.group(1)), "h" in text.lower())
    else:
        key = ascii_fold(text)
        years = re.findall(r"\b(\d{4})\b", key)
        if len(years) != 1:
            raise PeriodError(f"không đọc được kỳ báo cáo: {text!r}")
        rest = key.replace(years[0], " ").split()
        half = rest in (["6", "thang", "dau", "nam"], ["6", "thang"], ["6", "thang", "nam"],
                        ["sau", "thang", "dau", "nam"], ["h1"])
        whole = rest in (["nam"], ["ca", "nam"])
        if not (half or whole):
            raise PeriodError(f"không đọc được kỳ báo cáo: {text!r}")
        period = Period(int(years[0]), half)
    if not FIRST_YEAR <= period.year <= LAST_YEAR:
        raise PeriodError(f"năm {period.year} nằm ngoài khoảng {FIRST_YEAR}-{LAST_YEAR}")
    return period
