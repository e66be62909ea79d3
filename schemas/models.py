"""pandera models, one per stage, built from the indicator catalogue.

- `CellsModel`: every data cell of a batch of sheets, one row per cell (stage 1: types,
  ranges, required cells -> rules R01, R02). Long, so that one validation covers every
  sheet of every workbook in a batch: a pandera call costs about 10-15 ms whatever its
  size, and a workbook has 15 sheets (bench/README.md);
- `relations_model(catalogue)`: every sheet of a workbook joined on the unit
  (stage 2: the relations of `relations.csv` -> rules R07-R09);
- `AggregatesModel`, `SubmissionsModel`, `FindingsModel`: the run's
  machine-readable outputs (stage 3), checked before they are written.

Check names map to rules through `CHECK_RULES`.
"""
from __future__ import annotations

import sys
import types
from functools import lru_cache

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.catalogue import Catalogue, Relation


def pandas_only() -> None:
    """Keep pandera from importing `dask.dataframe` (about 0.2-0.8 s) when it first
    validates: it does so to learn dask's frame types whenever dask is installed (it is,
    for the Dask task runner), and these models only ever see pandas frames. Called by
    `PandasModel.to_schema` (so before any of this module's schemas is used, never at
    import); done only if nothing has imported dask.dataframe already (then pandera gets
    the real module)."""
    name = "pandera.typing.dask"
    if name not in sys.modules and "dask.dataframe" not in sys.modules:
        stub = types.ModuleType(name, "pandas-only stand-in (schemas.models)")
        stub.DASK_INSTALLED = False  # type: ignore[attr-defined]
        sys.modules[name] = stub


class PandasModel(pa.DataFrameModel):
    """A model of pandas frames only (see `pandas_only`)."""

    @classmethod
    def to_schema(cls) -> pa.DataFrameSchema:
        pandas_only()
        return super().to_schema()


YEAR_MIN, YEAR_MAX = 1990, 2100
ROW, UNIT = "row", "unit_code"


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


TYPES = ("int", "money", "flag", "year")


def _whole(series: pd.Series) -> pd.Series:
    return series == series.round()


def _two_decimals(series: pd.Series) -> pd.Series:
    scaled = series * 100
    return (scaled - scaled.round()).abs() < 1e-6


class CellsModel(PandasModel):
    """Stage 1: one row per data cell. `value` is the cell as a number (NaN: blank or not a
    number); the typed columns hold it again under its indicator's type (NaN elsewhere), so
    each type's checks are plain column checks; `required` marks cells that must be filled."""

    value: Series[float] = pa.Field(nullable=True)
    required: Series[bool]
    int_value: Series[float] = pa.Field(nullable=True, ge=0)
    money_value: Series[float] = pa.Field(nullable=True, ge=0)
    flag_value: Series[float] = pa.Field(nullable=True, isin=[0.0, 1.0])
    year_value: Series[float] = pa.Field(nullable=True, in_range={"min_value": YEAR_MIN,
                                                                  "max_value": YEAR_MAX})

    @pa.check("int_value", "year_value", name="whole_number")
    def whole_number(cls, series: pd.Series) -> pd.Series:
        return _whole(series)

    @pa.check("money_value", name="max_decimals")
    def max_decimals(cls, series: pd.Series) -> pd.Series:
        return _two_decimals(series)

    @pa.dataframe_check(name="not_nullable")
    def filled(cls, frame: pd.DataFrame) -> pd.Series:
        return ~(frame["required"] & frame["value"].isna())

    class Config:
        strict = True
        coerce = True
        name = "cells"


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
def relations_model(catalogue: Catalogue) -> type[PandasModel]:
    """All of a workbook's accepted-so-far values, one row per unit, wide."""
    attrs: dict = {"__annotations__": {UNIT: Series[str]}, UNIT: pa.Field()}
    for i, rel in enumerate(catalogue.relations):
        attrs[f"relation_{i}"] = _relation_check(rel)
    attrs["Config"] = type("Config", (), {"strict": False, "coerce": False})
    return type("Relations", (PandasModel,), attrs)


# --------------------------------------------------------------------------- outputs


class AggregatesModel(PandasModel):
    period: Series[str]
    level: Series[str] = pa.Field(isin=["unit", "district", "province", "city", "country"])
    org_unit_code: Series[str]
    org_unit_name: Series[str]
    indicator: Series[str]
    value: Series[float] = pa.Field(nullable=True)
    complete: Series[bool]

    class Config:
        strict = True
        coerce = True
        unique = ["period", "level", "org_unit_code", "indicator"]


class SubmissionsModel(PandasModel):
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


class FindingsModel(PandasModel):
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


class TargetsModel(PandasModel):
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
