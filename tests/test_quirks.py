"""What real submissions do (FORM.md 1.2): one tiny real workbook per quirk, one test for all.

Every quirk must read back to exactly the clean workbook's numbers, with no error.
"""
import re
import shutil
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest
from builders import clean_values, column_of, unit_row, write_clean

from pipelines.forms.quirks import QUIRKS, apply_quirk
from pipelines.check.checker import check_workbook
from schemas.periods import parse_period

D, P = "317", "2017-H1"


def _check(path, catalogue, registry):
    return check_workbook(path, catalogue=catalogue, registry=registry,
                          expected_period=parse_period(P))


def _numbers(result) -> dict:
    v = result.values()
    return {(r.sheet, r.unit_code, r.indicator): (None if r.value != r.value else r.value)
            for r in v.itertuples()}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return write_clean(tmp_path_factory.mktemp("q") / "clean.xlsx", D, P)


@pytest.fixture(scope="module")
def expected(clean, catalogue, registry):
    result = _check(clean, catalogue, registry)
    assert result.findings == []
    return _numbers(result)


def _cached_formula(src: Path, out: Path) -> Path:
    """A data cell holding `=100+20` with its cached value 120, as Excel saves it."""
    wb = openpyxl.load_workbook(src)
    ws = wb["4. Giảm nghèo"]
    addr = f"{column_of('GN', 'GN01')}{unit_row(D, P, 'GN', '11914')}"
    ws[addr] = "=100+20+" + str(clean_values(D, P)["GN"]["11914"]["GN01"] - 120)
    tmp = out.with_suffix(".tmp.xlsx")
    wb.save(tmp)
    with zipfile.ZipFile(tmp) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                text = data.decode("utf-8")
                text = re.sub(rf'(<c r="{addr}"[^>]*>)<f>([^<]*)</f><v\s*/?>(</v>)?',
                              lambda m: f"{m[1]}<f>{m[2]}</f><v>{clean_values(D, P)['GN']['11914']['GN01']}</v>",
                              text)
                data = text.encode("utf-8")
            zout.writestr(item, data)
    tmp.unlink()
    assert openpyxl.load_workbook(out)["4. Giảm nghèo"][addr].data_type == "f"  # still a formula
    return out


def _sheet_names_nfd_spaced(src: Path, out: Path) -> Path:
    wb = openpyxl.load_workbook(src)
    for ws in wb.worksheets[1:]:
        ws.title = unicodedata.normalize("NFD", ws.title.replace(". ", " .  "))
    wb.save(out)
    return out


def _xlsm(src: Path, out: Path) -> Path:
    target = out.with_suffix(".xlsm")
    shutil.copy(src, target)
    return target


def _numbering_row(src: Path, out: Path) -> Path:
    """A row of column numbers under the code row: `A B C 1 2 3 …`, as many forms have."""
    wb = openpyxl.load_workbook(src)
    for ws in wb.worksheets[1:]:
        ws.insert_rows(7)
        for c in range(1, ws.max_column + 1):
            ws.cell(7, c).value = "ABC"[c - 1] if c <= 3 else f"({c - 3})"
    wb.save(out)
    return out


EXTRA = {"cached_formula": _cached_formula, "sheet_names_nfd_spaced": _sheet_names_nfd_spaced,
         "xlsm_extension": _xlsm, "numbering_row": _numbering_row}


@pytest.mark.parametrize("quirk", sorted(QUIRKS) + sorted(EXTRA))
def test_quirk_reads_like_the_clean_workbook(quirk, clean, expected, tmp_path, catalogue, registry):
    out = tmp_path / f"{quirk}.xlsx"
    path = EXTRA[quirk](clean, out) if quirk in EXTRA else apply_quirk(clean, out, quirk)
    result = _check(path, catalogue, registry)
    assert [f for f in result.findings if f.is_error] == []
    assert [f.rule for f in result.findings] == []
    assert result.status == "accepted"
    assert _numbers(result) == expected


def test_someone_elses_workbook(tmp_path, catalogue, registry):
    """A workbook written to FORM.md by plain openpyxl, not by our form writer: other title
    height, columns in another order, codes as numbers, names without prefix, a SUM total
    row without cached values, notes below."""
    values = clean_values("318", "2017")
    wb = openpyxl.Workbook()
    cover = wb.active
    cover.title = "Thông tin"
    for row in [("Kỳ báo cáo", "Năm 2017"), ("Tên đơn vị", "Huyện Bạch Long Vĩ"),
                ("Mã đơn vị", 318), ("Ngày lập", "15/01/2018"), ("Phiên bản biểu mẫu", 1)]:
        cover.append(row)
    for sheet in catalogue.sheets:
        ws = wb.create_sheet(sheet.display_name)
        ws.append([f"BÁO CÁO {sheet.title.upper()}"])
        codes = list(reversed(sheet.codes))
        labels = {i.code: i.label for i in sheet.indicators}
        ws.append(["Tên đơn vị", "Mã ĐV", "STT"] + [labels[c] for c in codes])
        ws.append(["ten_dv", "ma_dv", "stt"] + codes)
        for code, row in values[sheet.key].items():
            ws.append(["Bạch Long Vĩ", int(code), 1] + [row[c] for c in codes])
        if values[sheet.key]:
            ws.append(["Tổng cộng", None, None] + [f"=SUM({chr(68 + i)}4:{chr(68 + i)}4)"
                                                  for i in range(len(codes))])
        ws.append([])
        ws.append(["Ghi chú: số liệu ước thực hiện đến 31/12"])
    path = tmp_path / "khac.xlsx"
    wb.save(path)
    result = check_workbook(path, catalogue=catalogue, registry=registry,
                            expected_period=parse_period("2017"))
    assert result.findings == [] and result.status == "accepted"
    got = _numbers(result)
    assert got[("GN", "318", "GN01")] == values["GN"]["318"]["GN01"]
    assert len(got) == sum(len(r) for s in values.values() for r in s.values())


def test_legacy_xls(catalogue, registry):
    """A real legacy .xls (BIFF8, written by xlwt), kept small in tests/data."""
    path = Path(__file__).parent / "data" / "legacy_bach_long_vi_2017.xls"
    result = check_workbook(path, catalogue=catalogue, registry=registry,
                            expected_period=parse_period("2017"))
    assert result.findings == [] and result.status == "accepted"
    want = {(s, u, c): v for s, units in clean_values("318", "2017").items()
            for u, row in units.items() for c, v in row.items()}
    assert _numbers(result) == want


LAYOUT = ["columns_reordered", "code_row_deleted", "extra_title_rows", "hidden_rows",
          "hidden_columns"]
SENTINEL = "sai-ở-đây"


def _find(path: Path, sheet: str, text: str) -> str:
    """Where `text` sits in the file, found with openpyxl alone (not with the reader)."""
    ws = openpyxl.load_workbook(path)[sheet]
    (hit,) = [c.coordinate for row in ws.iter_rows() for c in row if c.value == text]
    return hit


def _insert_blank_unit_gap(wb):
    ws = wb["4. Giảm nghèo"]
    ws.insert_rows(9)  # a blank row among the units


def _hide_target(wb):
    ws = wb["4. Giảm nghèo"]
    for row in ws.iter_rows():
        for c in row:
            if c.value == SENTINEL:
                ws.row_dimensions[c.row].hidden = True
                ws.column_dimensions[c.column_letter].hidden = True


@pytest.mark.parametrize("layout", LAYOUT + ["blank_row_inside", "target_hidden", "all_together"])
def test_finding_names_the_cell_as_in_the_file(layout, clean, tmp_path, catalogue, registry):
    """After inserted rows, reordered columns, hidden rows or columns, the finding's cell is
    where the bad value is in the district's own file."""
    src = tmp_path / "src.xlsx"
    wb = openpyxl.load_workbook(clean)
    ws = wb["4. Giảm nghèo"]
    unit = sorted(clean_values(D, P)["GN"])[2]
    original = f"{column_of('GN', 'GN03')}{unit_row(D, P, 'GN', unit)}"
    ws[original] = SENTINEL
    wb.save(src)
    wb = openpyxl.load_workbook(src)
    steps = {"blank_row_inside": [_insert_blank_unit_gap], "target_hidden": [_hide_target],
             "all_together": [QUIRKS[q] for q in LAYOUT] + [_insert_blank_unit_gap, _hide_target]}
    for step in steps.get(layout, [QUIRKS.get(layout)]):
        step(wb)
    out = tmp_path / f"{layout}.xlsx"
    wb.save(out)
    where = _find(out, "4. Giảm nghèo", SENTINEL)
    moved = layout not in ("hidden_rows", "hidden_columns", "target_hidden")
    assert (where != original) == moved  # the test means something only where the cell moved
    result = _check(out, catalogue, registry)
    assert [(f.rule, f.sheet, f.cell) for f in result.findings] == [("R01", "4. Giảm nghèo", where)]
