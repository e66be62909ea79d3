"""The form writer: cover, unit rows per sheet, header and code rows, totals, styling."""
from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from pipelines.forms import form
from pipelines.forms.form import (CODE_ROW, COVER_LABELS, COVER_SHEET, FIRST_DATA_ROW, FIXED_CODES,
                            FIXED_HEADERS, FREEZE_CELL, HEADER_ROW, NUMBER_FORMATS, OMIT,
                            TOTAL_LABEL, notes_row, total_row, write_form)
from schemas.catalogue import load_catalogue
from schemas.periods import parse_period
from schemas.units import load_registry

CAT = load_catalogue()
REG = load_registry()
H1 = parse_period("2017-H1")


def grid(path, sheet):
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(
        skip_empty_area=False)


def unit_rows(rows):
    """Rows between the code row and the total row (0-based grid from A1)."""
    end = next(i for i, r in enumerate(rows) if len(r) > 2 and r[2] == TOTAL_LABEL)
    return rows[FIRST_DATA_ROW - 1:end], end + 1


@pytest.fixture(scope="module")
def tien_lang(tmp_path_factory):
    return write_form(tmp_path_factory.mktemp("f") / "315.xlsx", "315", "2017-H1",
                      cover={"Người lập biểu": "Nguyễn Thị Hương",
                             "Ngày lập": dt.date(2017, 7, 10)})


def test_cover_sheet(tien_lang):
    rows = grid(tien_lang, COVER_SHEET)
    assert [r[0] for r in rows] == list(COVER_LABELS)
    values = {r[0]: r[1] for r in rows}
    assert values["Mã đơn vị"] == "315"  # text, not 315.0
    assert values["Tên đơn vị"] == "Huyện Tiên Lãng"
    assert values["Kỳ báo cáo"] == "2017-H1"
    assert values["Người lập biểu"] == "Nguyễn Thị Hương"
    assert values["Điện thoại"] == ""
    assert values["Ngày lập"] == dt.date(2017, 7, 10)
    assert values["Phiên bản biểu mẫu"] == 1
    ws = load_workbook(tien_lang)[COVER_SHEET]
    assert ws["B1"].data_type == "s" and ws["B6"].is_date


def test_cover_defaults_and_omit(tmp_path):
    path = write_form(tmp_path / "c.xlsx", "315", H1,
                      cover={"Điện thoại": OMIT, "Mã đơn vị": None})
    rows = grid(path, COVER_SHEET)
    labels = [r[0] for r in rows]
    assert "Điện thoại" not in labels and len(labels) == len(COVER_LABELS) - 1
    values = {r[0]: r[1] for r in rows}
    assert values["Mã đơn vị"] == ""
    assert values["Ngày lập"] == dt.date.today()


def test_sheets_and_units_of_a_huyen(tien_lang):
    names = CalamineWorkbook.from_path(str(tien_lang)).sheet_names
    assert names == [COVER_SHEET] + [s.display_name for s in CAT.sheets]
    assert names[1] == "1. Tuyên truyền"
    units = REG.units("315", H1)
    by_code = {u.code: u for u in units}
    for sheet in CAT.sheets:
        rows, _ = unit_rows(grid(tien_lang, sheet.display_name))
        codes = [r[1] for r in rows]
        types = {by_code[c].type for c in codes}
        assert all(isinstance(c, str) for c in codes)  # written as text
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
        assert [r[2] for r in rows] == [by_code[c].name for c in codes]
        if sheet.key == "NTM":
            assert types == {"xã"} and len(rows) == 22
        elif sheet.key == "VM":
            assert types == {"thị trấn"} and codes == ["11755"]
        else:
            assert codes == [u.code for u in units]  # registry order, every unit


def test_header_code_and_title_rows(tien_lang):
    for sheet in CAT.sheets:
        rows = grid(tien_lang, sheet.display_name)
        assert rows[HEADER_ROW - 1] == [*FIXED_HEADERS, *(i.label for i in sheet.indicators)]
        assert rows[CODE_ROW - 1] == [*FIXED_CODES, *sheet.codes]
        assert rows[0][0] == f"Biểu {sheet.order}. {sheet.title.upper()}"
        assert rows[1][0] == "Đơn vị: Huyện Tiên Lãng"
        assert rows[2][0] == "Kỳ báo cáo: 6 tháng đầu năm 2017"
        assert not any(rows[3])
    ws = load_workbook(tien_lang)["1. Tuyên truyền"]
    assert "A1:I1" in {str(m) for m in ws.merged_cells.ranges}
    assert ws["D5"].font.b and ws["D5"].alignment.wrap_text


def test_total_row_formulas_and_notes(tien_lang):
    wb = load_workbook(tien_lang)
    ws = wb["4. Giảm nghèo"]
    n = len(REG.units("315", H1))
    tr = total_row(n)
    assert ws.cell(tr, 3).value == TOTAL_LABEL
    assert ws.cell(tr, 4).value == f"=SUM(D7:D{tr - 1})"
    assert ws.cell(tr, 10).value == f"=SUM(J7:J{tr - 1})"
    ntm = wb["5. Nông thôn mới"]
    tr_ntm = total_row(22)
    assert ntm.cell(tr_ntm, 4).value == f"=COUNTIF(D7:D{tr_ntm - 1},1)"
    assert ntm.cell(tr_ntm, 3 + 20).value is None  # the year column stays blank
    assert ws.cell(tr + 1, 1).value is None
    note = ws.cell(notes_row(n), 1).value
    assert note.startswith("Ghi chú:") and "không phải số 0" in note
    assert "hộ" in ws.cell(notes_row(n) + 1, 1).value
    money = wb["2. Nguồn lực"]
    assert "triệu đồng" in money.cell(notes_row(n) + 1, 1).value
    assert "triệu đồng" in money["D5"].comment.text  # the unit is visible, not in the label
    assert money["D5"].value == CAT.indicators["NL01"].label


def test_styles_validations_freeze(tien_lang):
    wb = load_workbook(tien_lang)
    for sheet in CAT.sheets:
        ws = wb[sheet.display_name]
        assert ws.freeze_panes == FREEZE_CELL
        n = ws.max_row
        for col, ind in enumerate(sheet.indicators, 4):
            assert ws.cell(FIRST_DATA_ROW, col).number_format == NUMBER_FORMATS[ind.type]
        kinds = {dv.type: dv for dv in ws.data_validations.dataValidation}
        types = {i.type for i in sheet.indicators}
        expected = {"int": "whole", "money": "decimal", "flag": "whole", "year": "whole"}
        assert {expected[t] for t in types} <= set(kinds)
        for dv in ws.data_validations.dataValidation:
            assert dv.error and dv.showErrorMessage and n > 0
    ntm = wb["5. Nông thôn mới"]
    ranges = {str(r): dv for dv in ntm.data_validations.dataValidation for r in dv.sqref.ranges}
    assert ranges["D7:D28"].operator == "between" and ranges["D7:D28"].formula2 == "1"
    assert ranges["W7:W28"].formula1 == "1990" and ranges["W7:W28"].formula2 == "2100"
    nl = wb["2. Nguồn lực"]
    ranges = {str(r): dv for dv in nl.data_validations.dataValidation for r in dv.sqref.ranges}
    assert ranges["D7:D29"].type == "decimal" and ranges["G7:G29"].type == "whole"
    assert "triệu đồng" in ranges["D7:D29"].error


def test_quan_has_empty_ntm_sheet(tmp_path):
    path = write_form(tmp_path / "303.xlsx", "303", H1)
    rows, total = unit_rows(grid(path, "5. Nông thôn mới"))
    assert rows == [] and total == FIRST_DATA_ROW
    total_line = grid(path, "5. Nông thôn mới")[total - 1]
    assert total_line[3] == 0 and total_line[-1] == ""  # 0 constants, year blank
    vm_rows, _ = unit_rows(grid(path, "6. Đô thị văn minh"))
    assert len(vm_rows) == len(REG.units("303", H1)) == 11
    ws = load_workbook(path)["5. Nông thôn mới"]
    assert not ws.data_validations.dataValidation  # nothing to validate


def test_bach_long_vi_reports_as_itself(tmp_path):
    path = write_form(tmp_path / "318.xlsx", "318", "2017")
    for sheet in CAT.sheets:
        rows, _ = unit_rows(grid(path, sheet.display_name))
        if sheet.key in ("NTM", "VM"):
            assert rows == []
        else:
            assert [(r[1], r[2]) for r in rows] == [("318", "Huyện Bạch Long Vĩ")]


def test_values_written_as_given_and_text_never_formula(tmp_path):
    unit = REG.units("315", H1)[1].code
    values = {"GN": {unit: {"GN01": 3200, "GN02": 95, "GN03": None,
                            "GN04": '=HYPERLINK("http://x","y")', "GN05": "12,5"}},
              "NL": {unit: {"NL01": 123.45}}}
    path = write_form(tmp_path / "v.xlsx", "315", H1, values=values,
                      cover={"Người lập biểu": "=1+1"})
    rows, _ = unit_rows(grid(path, "4. Giảm nghèo"))
    row = rows[1]
    assert row[1] == unit and row[3:8] == [3200, 95, "", '=HYPERLINK("http://x","y")', "12,5"]
    ws = load_workbook(path)["4. Giảm nghèo"]
    assert ws["G8"].data_type == "s" and ws["G8"].value.startswith("=HYPERLINK")
    assert ws["F8"].value is None
    assert grid(path, "2. Nguồn lực")[7][3] == pytest.approx(123.45)
    assert load_workbook(path)[COVER_SHEET]["B4"].data_type == "s"


def test_literal_totals_replace_formulas(tmp_path):
    path = write_form(tmp_path / "t.xlsx", "318", H1, totals={"GN": {"GN01": 999}})
    ws = load_workbook(path)["4. Giảm nghèo"]
    assert ws.cell(total_row(1), 4).value == 999
    assert ws.cell(total_row(1), 5).value == "=SUM(E7:E7)"


def test_unknown_district_and_atomic_write(tmp_path):
    target = tmp_path / "x.xlsx"
    with pytest.raises(ValueError):
        write_form(target, "310", H1)
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    assert form.write_form(target, 315, "2017") == target and target.exists()
