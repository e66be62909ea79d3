"""The CSV writer of the outputs (pipelines/record/outputs.py) against the csv module, its
reference: same bytes for any text and numbers."""
import csv
import io

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from pipelines.record.outputs import _csv_text, plain_number, plain_numbers

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


def _reference(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(frame.columns)
    writer.writerows(frame.itertuples(index=False, name=None))
    return buf.getvalue()


@given(st.lists(st.tuples(texts, texts), max_size=8))
def test_csv_text_is_what_the_csv_module_writes(rows):
    frame = pd.DataFrame(rows, columns=["file", "message"], dtype=object)
    assert _csv_text(frame) == _reference(frame)


def test_csv_text_keeps_formula_like_text_as_text():
    frame = pd.DataFrame({"message": ['=HYPERLINK("x")', "a,b", 'say "hi"', "two\nlines"]})
    assert _csv_text(frame) == _reference(frame)


@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                          st.integers(min_value=-10**12, max_value=10**12)), max_size=30))
def test_plain_numbers_as_one_by_one(values):
    series = pd.Series(values, dtype="float64")
    assert plain_numbers(series) == [plain_number(v) for v in series]


def test_plain_numbers_examples():
    assert plain_numbers(pd.Series([1.0, 2.5, np.nan, 1e20, -0.0, 0.1 + 0.2])) == [
        "1", "2.5", "", "100000000000000000000", "0", "0.3"]
