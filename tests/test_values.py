"""Reading one cell as a number: examples and properties (hypothesis)."""
from datetime import date, datetime

import pytest
from babel.numbers import format_decimal
from hypothesis import given
from hypothesis import strategies as st

from pipelines.read.values import parse_cell, parse_vn_number


@pytest.mark.parametrize("raw,type_,value", [
    ("1.234", "int", 1234.0), ("12,5", "money", 12.5), ("1.234,5", "money", 1234.5),
    ("1.234.567", "int", 1234567.0), ("1 234", "int", 1234.0), ("-", "int", 0.0), ("–", "money", 0.0),
    (" 7 ", "int", 7.0), (5.0, "int", 5.0), ("x", "flag", 1.0), ("Đạt", "flag", 1.0),
    ("có", "flag", 1.0), ("chưa đạt", "flag", 0.0), ("KHÔNG", "flag", 0.0), (True, "flag", 1.0),
    ("2015", "year", 2015.0), ("-5", "int", -5.0),
])
def test_examples(raw, type_, value):
    parsed = parse_cell(raw, type_)
    assert parsed.problem is None and parsed.value == value


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_blank_is_not_zero(raw):
    parsed = parse_cell(raw, "int")
    assert parsed.blank and parsed.value is None


@pytest.mark.parametrize("raw,type_", [
    ("abc", "int"), ("12.5", "money"), ("1,234.5", "money"), (True, "int"),
    (float("nan"), "int"), (float("inf"), "money"), (date(2017, 1, 1), "int"),
    (datetime(2017, 1, 1, 8), "year"), ("đạt", "int"), ("1..2", "int"),
])
def test_not_a_number(raw, type_):
    parsed = parse_cell(raw, type_)
    assert parsed.value is None and parsed.problem


@given(st.integers(min_value=0, max_value=10**12))
def test_vietnamese_integers_round_trip(n):
    text = format_decimal(n, format="#,##0", locale="vi_VN")
    assert parse_vn_number(text) == n


@given(st.integers(min_value=0, max_value=10**10), st.integers(min_value=0, max_value=99))
def test_vietnamese_decimals_round_trip(whole, cents):
    value = whole + cents / 100
    text = format_decimal(value, format="#,##0.00", locale="vi_VN")
    assert parse_vn_number(text) == pytest.approx(value, abs=1e-6)


@given(st.one_of(st.text(), st.integers(), st.floats(), st.booleans(), st.none(),
                 st.dates(), st.datetimes()),
       st.sampled_from(["int", "money", "flag", "year"]))
def test_never_raises_and_is_value_or_problem(raw, type_):
    parsed = parse_cell(raw, type_)
    assert (parsed.value is None) or (parsed.problem is None)
    if parsed.value is not None:
        assert parsed.value == parsed.value and abs(parsed.value) != float("inf")


def test_vietnamese_numbers_round_half_up():
    from pipelines.base.text import vn_flexible, vn_number

    assert vn_number(0.125, 2) == "0,13" and vn_number(2.5) == "3" and vn_number(1234.5) == "1.235"
    assert vn_flexible(12.345) == "12,35" and vn_number(float("inf")) == "" and vn_number(None) == ""
    assert vn_number(-0.001, 2) == "0,00" and vn_number(-1.5) == "-2"


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), st.integers(0, 3))
def test_vn_number_reads_back(value, decimals):
    """What the report prints, the reader reads back: the value rounded half up."""
    from pipelines.base.text import round_half_up, vn_number

    text = vn_number(value, decimals)
    back = parse_vn_number(text)
    assert back == float(round_half_up(value, decimals))
