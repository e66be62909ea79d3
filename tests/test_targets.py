"""The optional targets file: read like any input, bad rows named by their cell and left out."""
import csv
import math

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.check.targets import find_targets, read_targets


def _xlsx(path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Mục tiêu năm của chương trình"])  # a title above the header
    ws.append(["Năm", "Mã ĐV", "Chỉ tiêu", "Mục tiêu"])
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def test_good_and_bad_rows(tmp_path, catalogue, registry):
    path = _xlsx(tmp_path / "muc_tieu.xlsx", [
        (2017, 31, "GN_TL_NGHEO", "2,5"), (2017, "315", "GN_TL_NGHEO", 3.1),
        (2017, "310", "GN_TL_NGHEO", 1), (2017, "31", "XX", 1), (2017, "31", "NTM_TB_TC", -1),
        ("hai", "31", "NTM_TB_TC", 15), (2018, 31, "NTM_SO_XA_DAT", 70), (2018, 31, "NTM_SO_XA_DAT", 71)])
    t = read_targets(path, catalogue, registry)
    assert t.of(2017) == {("31", "GN_TL_NGHEO"): 2.5, ("315", "GN_TL_NGHEO"): 3.1}
    assert t.of(2018) == {}  # both duplicates are left out: which one is meant is not ours to guess
    cells = {p.cell: p.message for p in t.problems}
    assert set(cells) == {"B5", "C6", "D7", "A8", "A9", "A10"}
    assert "quận, huyện" in cells["B5"] and "danh mục" in cells["C6"] and "không âm" in cells["D7"]
    assert "2016 đến 2030" in cells["A8"] and "trùng" in cells["A9"]


def test_csv_with_codes_and_missing_header(tmp_path, catalogue, registry):
    path = tmp_path / "muc_tieu.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["nam", "ma_dv", "chi_tieu", "muc_tieu"], ["2017", "31", "NTM_TB_TC", "15"]])
    assert find_targets(tmp_path) == path
    assert read_targets(path, catalogue, registry).of(2017) == {("31", "NTM_TB_TC"): 15.0}
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    t = read_targets(path, catalogue, registry)
    assert t.frame.empty and "tiêu đề" in t.problems[0].message
    (tmp_path / "muc_tieu.csv").unlink()
    assert find_targets(tmp_path) is None


TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=8)
CELL = st.one_of(st.none(), TEXT, st.integers(-5, 3000), st.floats(allow_nan=True),
                 st.sampled_from(["31", "315", "GN_TL_NGHEO", "2017", "1.234,5", "=SUM(A1)"]))


def _saved_blank(v) -> bool:
    return (v in (None, "") or (isinstance(v, str) and v.startswith("="))
            or (isinstance(v, float) and not math.isfinite(v)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(CELL, CELL, CELL, CELL), max_size=12))
def test_any_content_is_used_or_reported_never_raises(tmp_path, catalogue, registry, rows):
    path = _xlsx(tmp_path / "muc_tieu.xlsx", rows)
    t = read_targets(path, catalogue, registry)
    # a formula saved without its result (openpyxl) reads as blank, as in any workbook; so
    # does a float that is not finite: openpyxl saves inf and nan as an empty value
    filled = sum(1 for r in rows if any(not _saved_blank(v) for v in r))
    reported_rows = {p.cell[1:] for p in t.problems}
    assert len(t.frame) + len(reported_rows) == filled
    assert (t.frame["target"] >= 0).all()


def test_a_target_openpyxl_saved_as_inf_is_a_blank_row(tmp_path, catalogue, registry):
    """The case hypothesis found: openpyxl saves inf as an empty value, so the row is blank."""
    t = read_targets(_xlsx(tmp_path / "muc_tieu.xlsx", [(None, None, None, float("inf"))]),
                     catalogue, registry)
    assert t.frame.empty and t.problems == []
