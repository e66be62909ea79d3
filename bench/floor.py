"""The floor: the least work any correct pipeline must do on the same workbooks.

Reads each workbook with python_calamine, builds one pandas frame per content sheet (the
unit rows, numeric columns), and sums them by district. No validation, no Prefect, no
report: the time a whole process needs just to read and add up the numbers. bench/run.py
times this script as a whole process, like the pipeline, and divides by it.

    .venv/bin/python bench/floor.py [--units CSV] PATH [PATH ...]

PATH is a workbook or a folder (every *.xlsx under it). The units file (default:
THONGKE_UNITS, else schemas/data/haiphong_units.csv) maps unit codes to districts; a code
it does not know (a district reporting as its own single unit) counts as its own district.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook

ROOT = Path(__file__).resolve().parent.parent
CODE_HEADERS = {"mã đv", "ma dv", "mã đơn vị", "ma don vi"}  # the code column's header


def code_of(value: object) -> str | None:
    """A unit code typed as a number or as digits (`11296`, `11296.0`), else None."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(".0"):
            text = text[:-2]
        if text.isdigit():
            return str(int(text))
    return None


def number(value: object) -> float:
    """A cell as a number: numbers as they are, numeric text parsed, anything else NaN."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def sheet_frame(rows: list[list], district_of: dict[str, str]) -> pd.DataFrame | None:
    """The unit rows of one sheet: one float column per indicator, indexed by district."""
    for h, row in enumerate(rows):  # the header row: the one naming the code column
        hits = [c for c, v in enumerate(row) if str(v).strip().lower() in CODE_HEADERS]
        if hits:
            break
    else:
        return None
    code_col = hits[0]
    first = code_col + 2  # after the code and name columns
    labels: list[str] = []
    for c, v in enumerate(rows[h][first:], start=first):  # unique names, blank or repeated
        label = str(v).strip() or f"col{c}"
        labels.append(label if label not in labels else f"{label} #{c}")
    districts, data = [], []
    for row in rows[h + 1:]:
        code = code_of(row[code_col])
        if code is not None:
            districts.append(district_of.get(code, code))  # unknown: a district as its unit
            data.append([number(v) for v in row[first:]])
    if not data:
        return None
    return pd.DataFrame(data, columns=labels, index=pd.Index(districts, name="district"),
                        dtype=float)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("--units", type=Path, default=None)
    args = ap.parse_args()
    units_csv = args.units or Path(os.environ.get("THONGKE_UNITS") or
                                   ROOT / "schemas" / "data" / "haiphong_units.csv")
    registry = pd.read_csv(units_csv, dtype=str, usecols=["unit_code", "district_code"])
    district_of = dict(zip(registry["unit_code"].astype(int).astype(str),
                           registry["district_code"].astype(int).astype(str)))

    files = sorted(f for p in args.paths
                   for f in ([p] if p.is_file() else p.rglob("*.xlsx")))
    frames = []
    for path in files:
        book = CalamineWorkbook.from_path(str(path))
        for name in book.sheet_names[1:]:  # the first sheet is the cover ("Thông tin")
            frame = sheet_frame(book.get_sheet_by_name(name).to_python(), district_of)
            if frame is not None:
                frames.append(frame)
    if not frames:
        sys.exit("floor: no unit rows found")
    by_district = pd.concat(frames).groupby(level="district").sum()
    print(f"floor: {len(files)} workbooks, {len(frames)} sheets, "
          f"{sum(map(len, frames))} unit rows, {len(by_district)} districts, "
          f"{by_district.shape[1]} indicators, grand total {by_district.to_numpy().sum():,.2f}")


if __name__ == "__main__":
    main()
