"""The machine-readable outputs of FORM.md section 6, checked by their pandera models."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.base.atomic import write_text
from schemas.models import AggregatesModel, FindingsModel, SubmissionsModel


def plain_number(value: object) -> str:
    """`value` of aggregates.csv: a plain decimal with `.`, no exponent; empty when missing."""
    if value is None:
        return ""
    v = float(value)
    if math.isnan(v) or math.isinf(v):
        return ""
    if v.is_integer():
        return str(int(v))
    text = f"{round(v, 10):.10f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def plain_numbers(values: pd.Series) -> list[str]:
    """`plain_number` of each value; whole numbers (most of them) formatted in one go."""
    v = values.to_numpy(dtype="float64", na_value=np.nan)
    out = np.full(len(v), "", dtype=object)
    finite = np.isfinite(v)
    whole = finite & (v == np.round(v)) & (np.abs(v) < 2.0**53)
    out[whole] = v[whole].astype(np.int64).astype(str)
    rest = np.flatnonzero(finite & ~whole)
    out[rest] = [plain_number(x) for x in v[rest]]
    return out.tolist()


def _csv_text(frame: pd.DataFrame) -> str:
    """RFC 4180 as the csv module writes it (minimal quoting, `\n`), by pandas' C writer."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue()


def write_aggregates_csv(path: Path, aggregates: pd.DataFrame) -> None:
    frame = AggregatesModel.validate(aggregates.copy())
    out = frame.assign(
        value=plain_numbers(frame["value"]),
        complete=np.where(frame["complete"].to_numpy(dtype=bool), "true", "false"),
    )
    write_text(path, _csv_text(out))


def write_submissions_csv(path: Path, submissions: pd.DataFrame) -> None:
    """The contract's columns only; the record keeps more (made_on, received_at)."""
    columns = list(SubmissionsModel.to_schema().columns)
    write_text(path, _csv_text(SubmissionsModel.validate(submissions[columns].copy())))


def write_findings_csv(path: Path, findings: pd.DataFrame) -> None:
    write_text(path, _csv_text(FindingsModel.validate(findings.copy())))


def write_completeness_csv(path: Path, frame: pd.DataFrame) -> None:
    """Who reported: dates as ISO, rates as plain decimals, empty when missing."""
    out = frame.copy()
    for col in ("first_received", "deadline"):
        out[col] = [v.isoformat() if hasattr(v, "isoformat") else "" for v in out[col]]
    for col in ("reporting_rate", "on_time_rate", "accepted_rate"):
        out[col] = plain_numbers(out[col])
    write_text(path, _csv_text(out))
