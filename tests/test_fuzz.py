"""Fuzzing the reader and the rules (issue 7): valid workbooks, mutated by hypothesis (cell
values and types, sheet names, row order, odd Unicode, deleted rows and columns, the cover),
go through `validate.check_workbook`. It never raises, and every outcome is a value or a
finding: each value recorded is exactly what its cell says, a cell that is not a number is
never recorded, and a sheet or workbook rejected has an error finding saying why.
"""
from __future__ import annotations

import datetime as dt
import functools
import io
import math
import os
import tempfile
import unicodedata
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell

from builders import write_clean
from pipelines.check.findings import shipped_rules
from pipelines.read.values import parse_cell
from pipelines.check.checker import check_workbook
from schemas.periods import parse_period

pytestmark = pytest.mark.filterwarnings("ignore:Cell .* is part of a merged range")

PERIOD = "2017"
DISTRICT = "309"  # Quận Dương Kinh: 6 phường, a small workbook
# FUZZ_EXAMPLES=500 for a deeper search than the everyday 30 (about 6 s per 30 here)
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 30)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


@functools.lru_cache(maxsize=1)
def clean_bytes() -> bytes:
    """The valid workbook every example starts from (a function, not a fixture: hypothesis
    would print its bytes with every failing example)."""
    with tempfile.TemporaryDirectory() as tmp:
        return write_clean(Path(tmp) / "clean.xlsx", DISTRICT, PERIOD).read_bytes()


# --------------------------------------------------------------------------- strategies

ODD_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
NUMBER_TEXT = st.sampled_from(["1.234", "12,5", "1.234,5", "-", "–", "1 234", "12.5", "1e3",
                               "0x1F", "½", "١٢٣", "１２３", "  7  ", "NaN", "inf", "-0", "+5"])
VALUES = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
    st.times(), NUMBER_TEXT, ODD_TEXT,
    st.text(alphabet="đĐơƯăâêôÀ\u0300\u0301\u0303\u0309\u0323 ", max_size=12),
    st.integers(min_value=0, max_value=5).map(lambda n: "x" * (10 ** n)),
)


def _clean_text(value):
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


SET_CELL = st.tuples(st.just("cell"), st.integers(0, 9), st.integers(1, 22), st.integers(1, 30),
                     VALUES.map(_clean_text))
RENAME = st.tuples(st.just("rename"), st.integers(0, 9),
                   st.sampled_from(["nfd", "upper", "lower", "spaces", "no number", "odd"]),
                   ODD_TEXT.map(lambda t: "".join(ch for ch in _clean_text(t)
                                                  if ch not in "[]:*?/\\'")[:25]))
DELETE = st.tuples(st.just("delete"), st.integers(0, 9), st.sampled_from(["rows", "cols"]),
                   st.integers(1, 25), st.integers(1, 3))
SWAP = st.tuples(st.just("swap"), st.integers(1, 9), st.integers(7, 14), st.integers(7, 14))
NFD_ALL = st.tuples(st.just("nfd all"), st.integers(0, 9))
MUTATIONS = st.lists(st.one_of(SET_CELL, SET_CELL, SET_CELL, RENAME, DELETE, SWAP, NFD_ALL),
                     min_size=1, max_size=8)


def _sheet(wb, index: int):
    return wb.worksheets[index % len(wb.worksheets)]


def _set(cell, value) -> None:
    if isinstance(cell, MergedCell):  # inside a merged title: only its first cell holds text
        return
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text, not a formula
    if isinstance(value, dt.time):
        cell.number_format = "hh:mm:ss"
    elif isinstance(value, (dt.date, dt.datetime)):
        cell.number_format = "DD/MM/YYYY"


def _rename(ws, how: str, text: str) -> None:
    title = ws.title
    new = {"nfd": unicodedata.normalize("NFD", title), "upper": title.upper(),
           "lower": title.lower(), "spaces": f"  {title.replace(' ', '   ')} ",
           "no number": title.split(". ", 1)[-1], "odd": (text or "_")[:31]}[how]
    if len(new) > 31:  # Excel's limit: a longer name would be cut, and be another name
        return
    others = {n.casefold() for n in ws.parent.sheetnames if n != title}
    if new.strip() and new.casefold() not in others:  # openpyxl would add a number
        ws.title = "_"
        ws.title = new


def mutate(data: bytes, mutations: list) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for m in mutations:
        ws = _sheet(wb, m[1])
        if m[0] == "cell":
            _set(ws.cell(m[3], m[2]), m[4])
        elif m[0] == "rename":
            _rename(ws, m[2], m[3])
        elif m[0] == "delete":
            (ws.delete_rows if m[2] == "rows" else ws.delete_cols)(m[3], m[4])
        elif m[0] == "swap":
            for col in range(1, ws.max_column + 1):
                a, b = ws.cell(m[2], col), ws.cell(m[3], col)
                a.value, b.value = b.value, a.value
        elif m[0] == "nfd all":
            for row in ws.iter_rows():
                for cell in row:
                    if (isinstance(cell.value, str) and cell.data_type != "f"
                            and not isinstance(cell, MergedCell)):
                        cell.value = unicodedata.normalize("NFD", cell.value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- the invariants


def assert_value_or_finding(path: Path, result) -> None:
    from schemas.catalogue import load_catalogue

    catalogue = load_catalogue()
    assert result.status in ("accepted", "partial", "rejected")
    for f in result.findings:
        assert f.rule in shipped_rules() and f.severity == shipped_rules()[f.rule][0] and f.message.strip()
        assert len(f.value) <= 201
    whole = {f.rule for f in result.findings} & {"R05", "R18"}
    if result.status == "rejected" and not result.sheets:
        assert whole, result.findings  # rejected as a whole: R05 or R18 says why
    errors = {f.sheet for f in result.findings if f.is_error}
    for s in result.sheets.values():
        if s.status == "rejected":
            assert s.name in errors, (s.name, result.findings)  # a rejected sheet says why
        if s.status == "accepted":
            assert s.name not in errors
    values = result.values()
    if values.empty:
        return
    assert not values["value"].map(lambda v: isinstance(v, float) and math.isinf(v)).any()
    wb = openpyxl.load_workbook(path, data_only=True)
    names = {k: s.name for k, s in result.sheets.items()}
    types = {ind.code: ind.type for ind in catalogue.indicators.values()}
    for row in values.itertuples():
        raw = wb[names[row.sheet]][row.cell].value
        parsed = parse_cell(raw, types[row.indicator])
        assert parsed.problem is None, (row, raw)  # a bad cell is never recorded
        if math.isnan(row.value):
            assert parsed.value is None, (row, raw)  # NaN only for a blank cell
        else:
            assert parsed.value == row.value, (row, raw)  # exactly what the cell says


def _check(path: Path):
    from schemas.catalogue import load_catalogue
    from schemas.units import load_registry

    return check_workbook(path, catalogue=load_catalogue(), registry=load_registry(),
                          expected_period=parse_period(PERIOD))


@FUZZ
@given(mutations=MUTATIONS)
def test_mutated_workbooks_give_values_or_findings(tmp_path, mutations):
    path = tmp_path / "fuzzed.xlsx"
    path.write_bytes(mutate(clean_bytes(), mutations))
    result = _check(path)  # never raises
    assert_value_or_finding(path, result)


TYPED_OTHERWISE = st.lists(st.tuples(st.just("rename"), st.integers(1, 8),
                                     st.sampled_from(["nfd", "upper", "lower", "spaces",
                                                      "no number"]), st.just("")),
                           min_size=1, max_size=4)


@FUZZ
@given(renames=TYPED_OTHERWISE, nfd=st.lists(st.integers(0, 8), max_size=3))
def test_names_typed_otherwise_read_the_same(tmp_path, renames, nfd):
    """FORM.md 1.2: case, the Unicode form of the diacritics, spacing and a missing number
    prefix in sheet names, and decomposed Unicode in any text, change nothing."""
    path = tmp_path / "renamed.xlsx"
    path.write_bytes(mutate(clean_bytes(), renames + [("nfd all", i) for i in nfd]))
    result = _check(path)
    assert (result.status, result.findings) == ("accepted", [])
    assert len(result.values()) > 0
