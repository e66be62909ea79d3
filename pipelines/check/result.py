"""What a check of one workbook gives: the workbook's result, its sheets' results and their
values. Data only: the later stages (submissions, the record, feedback, the report) depend
on these, not on the checker (`pipelines/check/checker.py`) that makes them."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from pipelines.check.findings import Finding

ACCEPTED, PARTIAL, REJECTED = "accepted", "partial", "rejected"
SHEET_ABSENT = "absent"  # the district has no unit for the sheet and sent no rows: not counted

VALUE_COLUMNS = ["sheet", "unit_code", "indicator", "value", "cell"]


@dataclass
class SheetResult:
    key: str
    name: str  # as named in the file; the form's name when the sheet is missing
    status: str  # accepted | rejected | absent
    cells: dict[tuple[int, str], str] = field(default_factory=dict)  # (row, code) -> address


@dataclass
class WorkbookResult:
    file: str
    sha256: str
    mtime: float
    district_code: str = ""
    district_name: str = ""
    period: str = ""
    made_on: date | None = None
    status: str = REJECTED
    findings: list[Finding] = field(default_factory=list)
    sheets: dict[str, SheetResult] = field(default_factory=dict)
    _values: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def errors(self) -> int:
        return sum(f.is_error for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(not f.is_error for f in self.findings)

    def values(self) -> pd.DataFrame:
        """Accepted sheets' values, long: sheet, unit_code, indicator, value (NaN = blank),
        cell. The one copy of the numbers a result keeps (sent from a worker and cached
        with it), attached by the check once the sheet statuses are decided; none for a
        result made otherwise."""
        return self._values if self._values is not None else concat_values([])


def long_values(sheet: str, units, rows: list[int], codes: list[str], data: np.ndarray,
                cells: dict[tuple[int, str], str]) -> pd.DataFrame:
    """One sheet's values, long: indicator by indicator, unit by unit (the order of
    `DataFrame.melt`), built with numpy (a melt per sheet costs milliseconds, and a national
    run has 10,000 sheets). `data`: rows x codes."""
    n = len(rows)
    return pd.DataFrame({"sheet": sheet, "unit_code": np.tile(units, len(codes)),
                         "indicator": np.repeat(np.array(codes, dtype=object), n),
                         "value": data.T.ravel(),
                         "cell": [cells.get((r, c), "") for c in codes for r in rows]},
                        columns=VALUE_COLUMNS)


def concat_values(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=VALUE_COLUMNS)
