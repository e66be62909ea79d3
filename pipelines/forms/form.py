"""The district report form (FORM.md sections 1-2): a blank template or a filled workbook.

`write_form` builds the workbook a district fills in: a cover sheet `Thông tin` and one
sheet per content area of the catalogue, each with a title block, the header row, the
code row, one row per reporting unit, a total row and notes. The layout constants below
are the template's; readers must not depend on them (submissions move things about),
but the sample generator and the tests do.

A sheet for which the district has no unit (the NTM sheet of a `quận`) is written with
its header, code row and total row only; its total row holds the constant 0 in the int,
money and flag columns (the sum and the count over no unit) and stays blank in the year
columns, so it never carries a formula over an empty or inverted range.

The template's total-row formulas carry no cached value (openpyxl cannot compute them);
Excel and LibreOffice compute them on opening.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Callable

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.cell import coordinate_from_string
from openpyxl.worksheet.cell_range import MultiCellRange
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.dimensions import DimensionHolder

from pipelines.base.atomic import atomic_path
from pipelines.base.xlsx import NUMBER_FORMATS, set_text
from schemas.catalogue import Catalogue, Sheet, load_catalogue
from schemas.periods import Period, parse_period
from schemas.units import Registry, Unit, load_registry


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT = _Omit()  # cover value meaning "leave this row out of the cover sheet"

# Cover sheet: label in column A, value in column B, from row 1, in this order.
COVER_SHEET = "Thông tin"
COVER_LABELS = ("Mã đơn vị", "Tên đơn vị", "Kỳ báo cáo", "Người lập biểu", "Điện thoại",
                "Ngày lập", "Phiên bản biểu mẫu")
FORM_VERSION = 1
DATE_FORMAT = "DD/MM/YYYY"

# Content sheets.
TITLE_ROW, DISTRICT_ROW, PERIOD_ROW = 1, 2, 3  # title block, merged across the table
HEADER_ROW = 5
CODE_ROW = 6
FIRST_DATA_ROW = 7
FIXED_HEADERS = ("STT", "Mã ĐV", "Tên đơn vị")
FIXED_CODES = ("stt", "ma_dv", "ten_dv")
STT_COL, CODE_COL, NAME_COL = 1, 2, 3
FIRST_INDICATOR_COL = 4  # column D
FREEZE_CELL = "D7"
TOTAL_LABEL = "Tổng cộng"
NOTES_PREFIX = "Ghi chú:"
NOTES_GAP = 2  # the notes row is this many rows below the total row (one blank row between)

_VALIDATION = {  # type -> DataValidation arguments and the Vietnamese error message
    "int": (dict(type="whole", operator="greaterThanOrEqual", formula1="0"),
            "Chỉ nhập số nguyên không âm (0, 1, 2, …). Để trống nếu chưa báo cáo."),
    "money": (dict(type="decimal", operator="greaterThanOrEqual", formula1="0"),
              "Chỉ nhập số không âm, đơn vị triệu đồng, tối đa 2 chữ số thập phân."),
    "flag": (dict(type="whole", operator="between", formula1="0", formula2="1"),
             "Chỉ nhập 1 (đạt) hoặc 0 (chưa đạt)."),
    "year": (dict(type="whole", operator="between", formula1="1990", formula2="2100"),
             "Chỉ nhập năm gồm 4 chữ số (từ 1990 đến 2100), để trống nếu chưa được công nhận."),
}
_TYPE_NOTES = {
    "flag": "Cột tiêu chí/đạt chuẩn: ghi 1 nếu đạt, 0 nếu chưa đạt.",
    "year": "Cột năm: ghi năm được công nhận (4 chữ số), để trống nếu chưa được công nhận.",
}

_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_BOLD = Font(bold=True)
_TITLE_FONT = Font(bold=True, size=13)
_CODE_FONT = Font(italic=True, size=8, color="808080")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
_WRAP_CENTER = Alignment(wrap_text=True, horizontal="center", vertical="center")
_WRAP_LEFT = Alignment(wrap_text=True, vertical="center")
_CENTER = Alignment(horizontal="center", vertical="center")


def total_row(n_units: int) -> int:
    """Row of the total line in the template for a sheet holding `n_units` unit rows."""
    return FIRST_DATA_ROW + n_units


def notes_row(n_units: int) -> int:
    return total_row(n_units) + NOTES_GAP


def sheet_units(sheet: Sheet, units: list[Unit]) -> list[Unit]:
    """The units a sheet holds, in registry order."""
    return [u for u in units if sheet.holds(u.type)]


def _period(period: Period | str) -> Period:
    return period if isinstance(period, Period) else parse_period(period)


def _put(cell, value) -> None:
    """A value as given: text stays text (never a formula), None stays blank."""
    if isinstance(value, str):
        set_text(cell, value)
    elif value is not None:
        cell.value = value


def _write_cover(wb: Workbook, district_code: str, district_name: str, period: Period,
                 cover: dict | None) -> None:
    ws = wb.create_sheet(COVER_SHEET)
    rows = {
        "Mã đơn vị": district_code, "Tên đơn vị": district_name, "Kỳ báo cáo": str(period),
        "Người lập biểu": None, "Điện thoại": None, "Ngày lập": dt.date.today(),
        "Phiên bản biểu mẫu": FORM_VERSION,
    }
    rows.update(cover or {})
    r = 0
    for label, value in rows.items():
        if value is OMIT:
            continue
        r += 1
        set_text(ws.cell(r, 1), label).font = _BOLD
        cell = ws.cell(r, 2)
        _put(cell, value)
        if isinstance(value, (dt.date, dt.datetime)):
            cell.number_format = DATE_FORMAT
        cell.alignment = Alignment(horizontal="left")
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 40


def _notes(sheet: Sheet) -> tuple[str, str]:
    types = {i.type for i in sheet.indicators}
    parts = [NOTES_PREFIX, "Ô để trống là chưa báo cáo, không phải số 0; nếu không có thì ghi 0.",
             "Không sửa dòng mã chỉ tiêu, cột Mã ĐV và dòng Tổng cộng."]
    parts += [_TYPE_NOTES[t] for t in ("flag", "year") if t in types]
    measured = {i.label: i.unit for i in sheet.indicators if i.unit}
    if not measured:
        units = "Đơn vị tính: các cột tiêu chí ghi 1/0, cột năm ghi năm."
    elif len(measured) == len(sheet.indicators) and len(set(measured.values())) == 1:
        units = f"Đơn vị tính: {next(iter(measured.values()))} (mọi cột số liệu)."
    else:
        units = "Đơn vị tính: " + "; ".join(f"{k}: {v}" for k, v in measured.items()) + "."
    return " ".join(parts), units


def _header_comment(ind) -> str:
    if ind.unit:
        return f"Đơn vị tính: {ind.unit}"
    return _TYPE_NOTES.get(ind.type, "")


def _write_sheet(wb: Workbook, sheet: Sheet, district_name: str, period: Period,
                 units: list[Unit], values: dict, totals: dict | None) -> None:
    ws = wb.create_sheet(sheet.display_name)
    inds = sheet.indicators
    last_col = FIRST_INDICATOR_COL + len(inds) - 1
    last = get_column_letter(max(last_col, NAME_COL))
    for row, text, font in ((TITLE_ROW, f"Biểu {sheet.order}. {sheet.title.upper()}", _TITLE_FONT),
                            (DISTRICT_ROW, f"Đơn vị: {district_name}", _BOLD),
                            (PERIOD_ROW, f"Kỳ báo cáo: {period.label}", _BOLD)):
        ws.merge_cells(f"A{row}:{last}{row}")
        cell = set_text(ws.cell(row, 1), text)
        cell.font, cell.alignment = font, _CENTER

    headers = [*FIXED_HEADERS, *(i.label for i in inds)]
    codes = [*FIXED_CODES, *(i.code for i in inds)]
    for col, (label, code) in enumerate(zip(headers, codes), 1):
        h = set_text(ws.cell(HEADER_ROW, col), label)
        h.font, h.alignment, h.border, h.fill = _BOLD, _WRAP_CENTER, _BORDER, _HEADER_FILL
        c = set_text(ws.cell(CODE_ROW, col), code)
        c.font, c.alignment, c.border = _CODE_FONT, _CENTER, _BORDER
    for col, ind in enumerate(inds, FIRST_INDICATOR_COL):
        note = _header_comment(ind)
        if note:
            ws.cell(HEADER_ROW, col).comment = Comment(note, "Biểu mẫu", width=220, height=60)

    for n, unit in enumerate(units, 1):
        r = FIRST_DATA_ROW + n - 1
        ws.cell(r, STT_COL, n).alignment = _CENTER
        set_text(ws.cell(r, CODE_COL), unit.code).alignment = _CENTER
        set_text(ws.cell(r, NAME_COL), unit.name)
        row_values = values.get(unit.code, {})
        for col, ind in enumerate(inds, FIRST_INDICATOR_COL):
            cell = ws.cell(r, col)
            _put(cell, row_values.get(ind.code))
            cell.number_format = NUMBER_FORMATS[ind.type]
        for col in range(1, last_col + 1):
            ws.cell(r, col).border = _BORDER

    tr = total_row(len(units))
    set_text(ws.cell(tr, NAME_COL), TOTAL_LABEL)
    first, end = FIRST_DATA_ROW, tr - 1
    for col, ind in enumerate(inds, FIRST_INDICATOR_COL):
        cell, letter = ws.cell(tr, col), get_column_letter(col)
        if totals and ind.code in totals:
            _put(cell, totals[ind.code])
        elif ind.type == "year":
            pass
        elif not units:
            cell.value = 0
        elif ind.type == "flag":
            cell.value = f"=COUNTIF({letter}{first}:{letter}{end},1)"
        else:
            cell.value = f"=SUM({letter}{first}:{letter}{end})"
        cell.number_format = NUMBER_FORMATS["int" if ind.type == "flag" else ind.type]
    for col in range(1, last_col + 1):
        cell = ws.cell(tr, col)
        cell.font, cell.border, cell.fill = _BOLD, _BORDER, _TOTAL_FILL

    note, measures = _notes(sheet)
    set_text(ws.cell(notes_row(len(units)), 1), note).font = Font(italic=True)
    set_text(ws.cell(notes_row(len(units)) + 1, 1), measures).font = Font(italic=True)

    if units:
        by_type: dict[str, list[str]] = {}
        for col, ind in enumerate(inds, FIRST_INDICATOR_COL):
            letter = get_column_letter(col)
            by_type.setdefault(ind.type, []).append(f"{letter}{first}:{letter}{end}")
        for kind, ranges in by_type.items():
            args, message = _VALIDATION[kind]
            dv = DataValidation(**args, allow_blank=True, showErrorMessage=True,
                                errorStyle="stop", errorTitle="Giá trị không hợp lệ",
                                error=message)
            for rng in ranges:
                dv.add(rng)
            ws.add_data_validation(dv)

    ws.freeze_panes = FREEZE_CELL
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = 10
    ws.column_dimensions["C"].width = 28
    longest = 10
    for col, ind in enumerate(inds, FIRST_INDICATOR_COL):
        width = 11 if ind.type in ("flag", "year") else min(22, max(12, len(ind.label) // 2 + 2))
        ws.column_dimensions[get_column_letter(col)].width = width
        longest = max(longest, len(ind.label) / max(width - 2, 1))
    ws.row_dimensions[HEADER_ROW].height = min(120, 15 * (int(longest) + 1))


# ---- structure helpers (the sample generator moves cells about like real offices do)
def _label_codes(catalogue: Catalogue) -> dict[str, str]:
    out = dict(zip(FIXED_HEADERS, FIXED_CODES))
    out.update({i.label: i.code for i in catalogue.indicators.values()})
    return out


def locate_table(ws, catalogue: Catalogue | None = None):
    """(first data row, total row, {code: column}) of a content sheet wherever its rows and
    columns moved (extra title rows, code row deleted, columns reordered); None if `ws`
    holds no form table. Columns A-C are found by the fixed headers, indicators by label."""
    labels = _label_codes(catalogue or load_catalogue())
    header = next((r for r in range(1, min(ws.max_row, 40) + 1)
                   if ws.cell(r, NAME_COL).value == FIXED_HEADERS[2]), None)
    if header is None:
        return None
    first = header + (2 if ws.cell(header + 1, NAME_COL).value == FIXED_CODES[2] else 1)
    total = next((r for r in range(first, ws.max_row + 1)
                  if ws.cell(r, NAME_COL).value == TOTAL_LABEL), None)
    if total is None:
        return None
    cols = {labels[c.value]: c.column for c in ws[header] if c.value in labels}
    return first, total, cols


_REF = re.compile(r"(?<![A-Za-z0-9_])([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?")


def _near(where: Callable, row: int, col: int, step: int) -> tuple[int, int]:
    """Where a range end goes; an end on a dropped row moves inward to the next kept one."""
    for _ in range(1000):
        new = where(row, col)
        if new:
            return new
        row += step
    raise ValueError("range vanished")


def _moved(where: Callable, m: re.Match) -> str:
    r, c = _near(where, int(m[2]), column_index_from_string(m[1]), 1)
    text = f"{get_column_letter(c)}{r}"
    if m[3]:
        r, c = _near(where, int(m[4]), column_index_from_string(m[3]), -1)
        text += f":{get_column_letter(c)}{r}"
    return text


def relocate(ws, where: Callable[[int, int], tuple[int, int] | None]) -> None:
    """Move each cell to `where(row, col)` (None drops it), carrying formulas, merged ranges
    (by their top-left cell), data validations, freeze panes and row/column dimensions."""
    merges = [(m.min_row, m.min_col, m.max_row - m.min_row, m.max_col - m.min_col)
              for m in ws.merged_cells.ranges]
    for m in list(ws.merged_cells.ranges):
        ws.unmerge_cells(m.coord)
    cells, ws._cells = list(ws._cells.values()), {}
    for cell in cells:
        new = where(cell.row, cell.column)
        if new:
            cell.row, cell.column = new
            if cell.data_type == "f":
                cell.value = _REF.sub(lambda m: _moved(where, m), cell.value)
            ws._cells[new] = cell
    for row, col, dr, dc in merges:
        if where(row, col):
            r, c = where(row, col)
            ws.merge_cells(start_row=r, start_column=c, end_row=r + dr, end_column=c + dc)
    for dv in ws.data_validations.dataValidation:
        dv.sqref = MultiCellRange(" ".join(_REF.sub(lambda m: _moved(where, m), rng.coord)
                                           for rng in dv.sqref.ranges))
    if ws.freeze_panes:
        letter, row = coordinate_from_string(ws.freeze_panes)
        ws.freeze_panes = f"{letter}{_near(where, row, 1, 1)[0]}"
    cols = {c: (d.width, d.hidden) for d in ws.column_dimensions.values()
            for c in range(d.min or column_index_from_string(d.index),
                           (d.max or column_index_from_string(d.index)) + 1)}
    rows = {k: (d.height, d.hidden) for k, d in ws.row_dimensions.items()}
    ws.column_dimensions = DimensionHolder(worksheet=ws, default_factory=ws._add_column)
    ws.row_dimensions = DimensionHolder(worksheet=ws, default_factory=ws._add_row)
    for col, (width, hidden) in cols.items():
        dim = ws.column_dimensions[get_column_letter(_near(where, 1, col, 1)[1])]
        dim.width, dim.hidden = width, hidden
    for row, (height, hidden) in rows.items():
        if where(row, 1):
            dim = ws.row_dimensions[where(row, 1)[0]]
            dim.height, dim.hidden = height, hidden



def build_form(district_code: str, period: Period | str, *, values: dict | None = None,
               cover: dict | None = None, totals: dict | None = None,
               catalogue: Catalogue | None = None, registry: Registry | None = None) -> Workbook:
    """The form workbook in memory (see `write_form`)."""
    period = _period(period)
    catalogue = catalogue or load_catalogue()
    registry = registry or load_registry()
    district_code = str(district_code)
    district = registry.district(district_code, period)
    if district is None:
        raise ValueError(f"không có đơn vị cấp huyện mã {district_code} trong kỳ {period}")
    units = registry.units(district_code, period)
    values, totals = values or {}, totals or {}
    wb = Workbook()
    wb.remove(wb.active)
    _write_cover(wb, district_code, district.name, period, cover)
    for sheet in catalogue.sheets:
        _write_sheet(wb, sheet, district.name, period, sheet_units(sheet, units),
                     values.get(sheet.key, {}), totals.get(sheet.key))
    wb.active = 0
    return wb


def save_workbook(wb: Workbook, path: Path | str) -> Path:
    """Save atomically: the target is either the old file or the whole new one."""
    path = Path(path)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path


def write_form(path: Path | str, district_code: str, period: Period | str, *,
               values: dict | None = None, cover: dict | None = None,
               totals: dict | None = None, catalogue: Catalogue | None = None,
               registry: Registry | None = None) -> Path:
    """Write the form of one district for one period: blank, or filled with `values`.

    `values[sheet_key][unit_code][indicator_code]` is written as given (a number, a
    string written as text, None blank). `cover` maps a cover label to a value that
    replaces the default (None leaves it blank, `OMIT` drops the row). `totals[sheet_key]
    [indicator_code]` writes a literal in the total row instead of the formula.
    """
    wb = build_form(district_code, period, values=values, cover=cover, totals=totals,
                    catalogue=catalogue, registry=registry)
    return save_workbook(wb, path)
