"""Cell addresses agree with openpyxl's own functions (pipelines/base/cells.py)."""
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils.cell import (column_index_from_string, coordinate_from_string,
                                 coordinate_to_tuple, get_column_letter)

from pipelines.base.cells import address_to_tuple, column_index, column_letter, split_address

columns = st.integers(min_value=1, max_value=16384)
rows = st.integers(min_value=1, max_value=1_048_576)


@given(columns)
def test_column_letters_round_trip_like_openpyxl(index):
    assert column_letter(index) == get_column_letter(index)
    assert column_index(column_letter(index)) == index == column_index_from_string(
        get_column_letter(index))


@given(columns, rows)
def test_addresses_like_openpyxl(col, row):
    address = f"{get_column_letter(col)}{row}"
    assert split_address(address) == coordinate_from_string(address)
    assert address_to_tuple(address) == coordinate_to_tuple(address)


@pytest.mark.parametrize("bad", ["", "12", "A0", "A", "Ä1", "A1B"])
def test_not_an_address(bad):
    with pytest.raises(ValueError):
        split_address(bad)


@pytest.mark.parametrize("bad", [0, -1, 18279])
def test_column_out_of_range(bad):
    with pytest.raises(ValueError):
        column_letter(bad)
