"""The optional targets file: yearly targets per indicator for the city and each district.

An input like any other: read from `muc_tieu.xlsx` (or `.csv`) in the raw root, header row
`Năm | Mã ĐV | Chỉ tiêu | Mục tiêu` (or the codes `nam, ma_dv, chi_tieu, muc_tieu`), one
target per row: e.g. `2017 | 31 | GN_TL_NGHEO | 2,5`. Rows are validated with
`schemas.models.targets_model`; a bad row is reported with its cell, in Vietnamese, and
left out; the good rows are used. Nothing here writes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from openpyxl.utils import get_column_letter

from pipelines.check.findings import display_value
from schemas.names import fold
from pipelines.read.values import parse_vn_number
from schemas.catalogue import Catalogue
from schemas.models import TargetsModel, targets_model
from schemas.periods import FIRST_YEAR, LAST_YEAR, Period
from schemas.units import Registry, normalise_code

FILE_NAMES = ("muc_tieu.xlsx", "muc_tieu.csv")
HEADERS = {  # folded header text -> model column
    **{fold(k): "year" for k in ("Năm", "nam", "year")},
    **{fold(k): "org_unit_code" for k in ("Mã ĐV", "ma_dv", "Mã đơn vị")},
    **{fold(k): "indicator" for k in ("Chỉ tiêu", "chi_tieu", "Mã chỉ tiêu")},
    **{fold(k): "target" for k in ("Mục tiêu", "muc_tieu", "target")},
}
UNIQUE = "multiple_fields_uniqueness"


def _why(column: str, check: str) -> str:
    """A failure case of `targets_model` in words."""
    if check.startswith(UNIQUE):
        return "trùng năm, mã đơn vị và chỉ tiêu với một dòng khác"
    if check.startswith("isin"):
        return ("mã đơn vị không phải thành phố (31) hay một quận, huyện" if column == "org_unit_code"
                else "mã chỉ tiêu không có trong danh mục")
    if "nullable" in check:
        return "ô bị để trống"
    if column == "year":
        return f"năm phải là số từ {FIRST_YEAR} đến {LAST_YEAR}"
    if column == "target":
        return "mục tiêu phải là một số không âm"
    return check


@dataclass(frozen=True)
class Problem:
    file: str
    cell: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}, ô {self.cell}: {self.message}" if self.cell else f"{self.file}: {self.message}"


@dataclass
class Targets:
    source: str
    frame: pd.DataFrame  # year, org_unit_code, indicator, target (valid rows)
    problems: list[Problem]

    def of(self, year: int) -> dict[tuple[str, str], float]:
        rows = self.frame[self.frame["year"] == year]
        return dict(zip(zip(rows["org_unit_code"], rows["indicator"]), rows["target"]))


def find_targets(raw_dir: Path) -> Path | None:
    return next((raw_dir / n for n in FILE_NAMES if (raw_dir / n).is_file()), None)


def _grid(path: Path) -> list[list]:
    if path.suffix.lower() == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, header=None, encoding="utf-8-sig")
        return frame.values.tolist()
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    return book.get_sheet_by_name(book.sheet_names[0]).to_python(skip_empty_area=False)


def _number(value: object) -> object:
    if isinstance(value, str):
        parsed = parse_vn_number(value)
        return value if parsed is None else parsed
    return value


def read_targets(path: Path, catalogue: Catalogue, registry: Registry) -> Targets:
    name = path.name
    try:
        grid = _grid(path)
    except Exception as exc:  # an unreadable targets file costs the targets, not the run
        return Targets(name, _empty(), [Problem(name, "", f"không đọc được tệp ({type(exc).__name__})")])
    header = next((i for i, row in enumerate(grid) if sum(fold(c) in HEADERS for c in row) >= 4), None)
    if header is None:
        return Targets(name, _empty(), [Problem(
            name, "", "không tìm thấy dòng tiêu đề Năm | Mã ĐV | Chỉ tiêu | Mục tiêu")])
    cols = {HEADERS[fold(c)]: j for j, c in enumerate(grid[header]) if fold(c) in HEADERS}
    rows, where = [], {}
    for i, row in enumerate(grid[header + 1:], start=header + 2):
        cells = {k: (row[j] if j < len(row) else "") for k, j in cols.items()}
        if all(v in ("", None) for v in cells.values()):
            continue
        where[len(rows)] = i
        year, target = _number(cells["year"]), _number(cells["target"])
        rows.append({"year": int(year) if isinstance(year, float) and year.is_integer() else year,
                     "org_unit_code": normalise_code(cells["org_unit_code"]) or "",
                     "indicator": str(cells["indicator"]).strip(),
                     "target": None if target in ("", None) else target})
    frame = pd.DataFrame(rows, columns=list(TargetsModel.to_schema().columns))
    codes = frozenset({registry.top_code} | {d.code for y in range(FIRST_YEAR, LAST_YEAR + 1)
                                     for d in registry.districts(Period(y))})
    known = frozenset(catalogue.indicators) | frozenset(d.code for d in catalogue.derived)
    schema = targets_model(codes, known)
    try:
        return Targets(name, schema.validate(frame, lazy=True), [])
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    problems: dict[tuple[int, str], Problem] = {}  # one per row and column: the first reason
    for case in cases.itertuples(index=False):
        idx, check = case.index, str(case.check)
        if idx is None or pd.isna(idx):
            continue
        column = "year" if check.startswith(UNIQUE) else str(case.column)
        cell = f"{get_column_letter(cols.get(column, 0) + 1)}{where[int(idx)]}"
        shown = frame.at[int(idx), column] if column in frame.columns else case.failure_case
        problems.setdefault((int(idx), column), Problem(
            name, cell, f"{_why(column, check)} (giá trị: {display_value(shown)}); "
                        "dòng này không được dùng."))
    good = frame.drop(index=sorted({i for i, _ in problems}))
    good = TargetsModel.validate(good) if not good.empty else _empty()
    return Targets(name, good, [problems[k] for k in sorted(problems)])


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"year": pd.Series(dtype="int64"), "org_unit_code": pd.Series(dtype=str),
                         "indicator": pd.Series(dtype=str), "target": pd.Series(dtype="float64")})
