"""The terminal listing of `thongke check`: ranges of cells, grouped findings."""
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_boundaries

from pipelines.check.findings import finding
from pipelines.feedback.listing import MAX_RANGES, cell_ranges, finding_lines


def test_cell_ranges_examples():
    assert cell_ranges(["H7", "H8", "H9", "J7"]) == "H7:H9, J7"
    assert cell_ranges(["J7", "H9", "H7", "H8", "H8"]) == "H7:H9, J7"
    assert cell_ranges(["AA10", "B2", "B4"]) == "B2, B4, AA10"


@given(st.sets(st.tuples(st.integers(1, 30), st.integers(1, 40)), min_size=1, max_size=60))
def test_cell_ranges_cover_exactly_the_cells(cells):
    """Every range names only given cells, and together they name all of them."""
    names = [f"{get_column_letter(c)}{r}" for c, r in cells]
    text = cell_ranges(names)
    if "vùng khác" in text:
        return  # capped listing: checked below
    covered = set()
    for part in text.split(", "):
        c1, r1, c2, r2 = range_boundaries(part)
        assert c1 == c2  # a range stays in one column
        covered |= {(c1, r) for r in range(r1, r2 + 1)}
    assert covered == set(cells)


def test_cell_ranges_are_capped():
    cells = [f"{get_column_letter(c)}1" for c in range(1, MAX_RANGES + 5)]
    assert cell_ranges(cells).endswith("và 4 vùng khác")


def test_same_message_many_cells_is_one_line():
    blank = [finding("R02", "Cột GN01 (Tổng số hộ dân cư): ô bắt buộc bị để trống.", file="f",
                     sheet="4. Giảm nghèo", cell=f"D{r}") for r in range(7, 30)]
    other = finding("R01", "Cột GN02: không phải số.", file="f", sheet="4. Giảm nghèo", cell="E9",
                    value="abc")
    lines = finding_lines(blank[:2] + [other] + blank[2:])
    assert lines[0] == "Biểu “4. Giảm nghèo”:"
    assert lines[1].startswith("  [LỖI R02] '4. Giảm nghèo'!D7:D29 (23 ô): Cột GN01")
    assert lines[2] == "  [LỖI R01] '4. Giảm nghèo'!E9: Cột GN02: không phải số. (giá trị: abc)"
    assert len(lines) == 3
