"""pandera models, one per stage, built from the indicator catalogue.

- `sheet_model(sheet)`: one content sheet's parsed rows (stage 1: types, ranges,
  required cells -> rules R01, R02);
- `relations_model(catalogue)`: every sheet of a workbook joined on the unit
  (stage 2: the relations of `relations.csv` -> rules R07-R09);
- `AggregatesModel`, `SubmissionsModel`, `FindingsModel`: the run's
  machine-readable outputs (stage 3), checked before they are written.

Check names map to rules through `CHECK_RULES`.
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd
import pandera.extensions as ext
import pandera.pandas as pa
from pandera.typing import Series

from schemas.catalogue import Catalogue, Relation, Sheet

YEAR_MIN, YEAR_MAX = 1990, 2100
ROW, UNIT = "row", "unit_code"


@ext.register_check_method()
def whole_number(series: pd.Series) -> pd.Series:
    return series == series.round()


@ext.register_check_method(statistics=["decimals"])
def max_decimals(series: pd.Series, *, decimals: int) -> pd.Series:
    scaled = series * 10**decimals
    return (scaled - scaled.round()).abs() < 1e-6


# pandera check name (prefix) -> (rule, Vietnamese explanation)
CHECK_RULES: dict[str, tuple[str, str]] = {
    "not_nullable": ("R02", "ô bắt buộc nhưng để trống (ô trống là chưa báo cáo; nếu bằng 0 hãy ghi 0)"),
    "greater_than_or_equal_to": ("R01", "giá trị âm"),
    "whole_number": ("R01", "phải là số nguyên"),
    "max_decimals": ("R01", "tối đa 2 chữ số thập phân"),
    "isin": ("R01", "chỉ được ghi 1 (đạt) hoặc 0 (chưa đạt)"),
    "in_range": ("R01", f"năm phải trong khoảng {YEAR_MIN}-{YEAR_MAX}"),
}


def check_rule(check_name: str) -> tuple[str, str]:
    for prefix, rule in CHECK_RULES.items():
        if check_name.startswith(prefix):
            return rule
    rule = check_name.split(":", 1)[0]
    return rule, check_name.split(":", 1)[-1]


def _field(type_: str, required: bool) -> pa.Field:
    nullable = not required
    if type_ == "int":
        return pa.Field(nullable=nullable, ge=0, whole_number=())
    if type_ == "money":
        return pa.Field(nullable=nullable, ge=0, max_decimals={"decimals": 2})
    if type_ == "flag":
        return pa.Field(nullable=nullable, isin=[0.0, 1.0])
    if type_ == "year":
        return pa.Field(nullable=nullable, in_range={"min_value": YEAR_MIN, "max_value": YEAR_MAX},
                        whole_number=())
    raise ValueError(type_)


class _Config:
    strict = True
    coerce = True


def _class_name(key: str, suffix: str) -> str:
    return f"{key.title().replace('_', '')}{suffix}"


@lru_cache(maxsize=64)
def sheet_model(sheet: Sheet) -> type[pa.DataFrameModel]:
    """The parsed rows of one content sheet: `row`, `unit_code`, one float per indicator."""
    annotations = {ROW: Series[int], UNIT: Series[str]}
    attrs: dict = {ROW: pa.Field(), UNIT: pa.Field()}
    for ind in sheet.indicators:
        annotations[ind.code] = Series[float]
        attrs[ind.code] = _field(ind.type, ind.required)
    attrs["__annotations__"] = annotations
    attrs["Config"] = type("Config", (_Config,), {"name": sheet.display_name})
    return type(_class_name(sheet.key, "Sheet"), (pa.DataFrameModel,), attrs)


def _side(frame: pd.DataFrame, terms) -> pd.Series:
    return sum(t.sign * frame[t.code] for t in terms)


def _relation_check(rel: Relation):
    def check(cls, frame: pd.DataFrame) -> pd.Series:
        known = frame[rel.codes].notna().all(axis=1)
        left, right = _side(frame, rel.left), _side(frame, rel.right)
        ok = (left - right).abs() < 1e-6 if rel.op == "==" else left <= right + 1e-6
        return ok | ~known

    return pa.dataframe_check(name=f"{rel.rule}:{rel.text}")(check)


@lru_cache(maxsize=8)
def relations_model(catalogue: Catalogue) -> type[pa.DataFrameModel]:
    """All of a workbook's accepted-so-far values, one row per unit, wide."""
    attrs: dict = {"__annotations__": {UNIT: Series[str]}, UNIT: pa.Field()}
    for i, rel in enumerate(catalogue.relations):
        attrs[f"relation_{i}"] = _relation_check(rel)
    attrs["Config"] = type("Config", (), {"strict": False, "coerce": False})
    return type("Relations", (pa.DataFrameModel,), attrs)


# --------------------------------------------------------------------------- outputs


class AggregatesModel(pa.DataFrameModel):
    period: Series[str]
    level: Series[str] = pa.Field(isin=["unit", "district", "city"])
    org_unit_code: Series[str]
    org_unit_name: Series[str]
    indicator: Series[str]
    value: Series[float] = pa.Field(nullable=True)
    complete: Series[bool]

    class Config:
        strict = True
        coerce = True
        unique = ["period", "level", "org_unit_code", "indicator"]


class SubmissionsModel(pa.DataFrameModel):
    file: Series[str] = pa.Field(unique=True)
    sha256: Series[str] = pa.Field(str_matches=r"^([0-9a-f]{64})?$")  # empty: file not readable
    district_code: Series[str]
    period: Series[str]
    status: Series[str] = pa.Field(
        isin=["accepted", "partial", "rejected", "superseded", "duplicate"])
    errors: Series[int] = pa.Field(ge=0)
    warnings: Series[int] = pa.Field(ge=0)

    class Config:
        strict = True
        coerce = True


class FindingsModel(pa.DataFrameModel):
    file: Series[str]
    district_code: Series[str]
    sheet: Series[str]
    cell: Series[str]
    rule: Series[str] = pa.Field(str_matches=r"^R\d\d$")
    severity: Series[str] = pa.Field(isin=["error", "warning"])
    value: Series[str]
    message: Series[str]

    class Config:
        strict = True
        coerce = True


# --------------------------------------------------------------------------- targets


class TargetsModel(pa.DataFrameModel):
    """The optional targets file: a yearly target per (org unit, indicator)."""

    year: Series[int] = pa.Field(ge=2016, le=2030)
    org_unit_code: Series[str]
    indicator: Series[str]
    target: Series[float] = pa.Field(ge=0)

    class Config:
        strict = True
        coerce = True
        unique = ["year", "org_unit_code", "indicator"]


def targets_model(org_units: frozenset[str], indicators: frozenset[str]) -> pa.DataFrameSchema:
    """`TargetsModel` with the codes this programme knows."""
    return TargetsModel.to_schema().update_columns({
        "org_unit_code": {"checks": [pa.Check.isin(sorted(org_units), name="org_unit")]},
        "indicator": {"checks": [pa.Check.isin(sorted(indicators), name="indicator")]},
    })
