"""The summary workbook `tong_hop.xlsx`: the report's tables for people who work in Excel.

One sheet per content area laid out like the report's table (with its sentences above
and a native Excel chart of the headline indicator below), a `Tiến độ nộp` sheet with the
completeness table, a `Nộp báo cáo` sheet with the submissions and a `Dữ liệu` sheet with
every aggregates row. Every sheet prints on A4 with its header rows repeated. Numbers are
real numbers with Vietnamese-style formats (Excel shows `#,##0` as `1.234` in a
Vietnamese locale); every text that came from input data is written with
`set_text`, so a file named `=HYPERLINK(...)` stays text.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from pipelines.atomic import atomic_path
from pipelines.xlsx import NUMBER_FORMATS, set_text

if TYPE_CHECKING:
    from pipelines.render import Cell, Section
    from schemas.catalogue import Catalogue

CHANGE_FORMATS = {"int": "+#,##0;-#,##0;0", "money": "+#,##0.00;-#,##0.00;0.00",
                  "rate": "+0.00;-0.00;0.00", "mean": "+#,##0.00;-#,##0.00;0.00"}
LEVELS = {"city": "Thành phố", "district": "Quận, huyện", "unit": "Xã, phường, thị trấn"}
SUBMISSIONS_SHEET, DATA_SHEET, REPORTING_SHEET = "Nộp báo cáo", "Dữ liệu", "Tiến độ nộp"

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=13)
NOTE = Font(italic=True, size=9)
INCOMPLETE_FONT = Font(italic=True)
INCOMPLETE_FILL = PatternFill("solid", fgColor="E7E6E6")  # light grey: survives greyscale print
HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")
THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
TOTAL_BORDER = Border(left=THIN, right=THIN, top=Side(style="medium"), bottom=THIN)
WRAP_HEADER = Alignment(wrap_text=True, horizontal="center", vertical="center")
CENTER = Alignment(horizontal="center")
HEADER_ROW = 4
SENTENCE_FONT = Font(size=10)
CHART_GREY = "7F7F7F"


def _print_setup(ws, landscape: bool = True) -> None:
    """A4, fitted to the page width, header rows repeated (set by the caller)."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4


def _sheet_title(name: str, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", name).strip()[:31] or "Biểu"
    title, n = base, 2
    while title.lower() in taken:
        title, n = f"{base[:28]} ({n})", n + 1
    taken.add(title.lower())
    return title


def _header(ws, row: int, headers: Sequence[str], widths: Sequence[float]) -> None:
    for col, (text, width) in enumerate(zip(headers, widths), 1):
        c = set_text(ws.cell(row, col), text)
        c.font, c.fill, c.alignment, c.border = BOLD, HEADER_FILL, WRAP_HEADER, BOX
        ws.column_dimensions[get_column_letter(col)].width = width


def _number(ws, row: int, col: int, cell: "Cell", fmt: str, *, bold: bool = False) -> bool:
    """Write one value; returns True when it is marked incomplete."""
    c = ws.cell(row, col)
    c.border = TOTAL_BORDER if bold else BOX
    if cell.missing:
        set_text(c, "–").alignment = CENTER
        c.font = Font(bold=bold)
        return False
    c.value = float(cell.value)
    c.number_format = fmt
    if cell.incomplete:
        c.number_format = ";".join(f'{part}"*"' for part in fmt.split(";"))
        c.fill, c.font = INCOMPLETE_FILL, Font(bold=bold, italic=True)
        return True
    c.font = Font(bold=bold)
    return False


def _area_sheet(ws, sec: "Section", period_label: str, incomplete_note: str) -> None:
    set_text(ws.cell(1, 1), f"{sec.heading} – {sec.title}").font = TITLE
    set_text(ws.cell(2, 1), f"Kỳ báo cáo: {period_label}").font = Font(italic=True)
    header_row = HEADER_ROW + len(sec.sentences)
    for k, line in enumerate(sec.sentences, 3):  # the report's sentences, above the table
        set_text(ws.cell(k, 1), line).font = SENTENCE_FONT
    headers = ["STT", "Mã ĐV", "Tên đơn vị", *(c.header for c in sec.columns)]
    widths = [5, 8, 24, *(max(12, min(22, len(c.header) * 0.6)) for c in sec.columns)]
    if sec.change_header:
        headers.append(sec.change_header)
        widths.append(20)
    if sec.target_header:
        headers += [sec.target_header, "Đánh giá"]
        widths += [18, 11]
    _header(ws, header_row, headers, widths)
    ws.row_dimensions[header_row].height = 75
    marked = False
    for i, r in enumerate(sec.rows, 1):
        row = header_row + i
        if not r.total:
            ws.cell(row, 1, i).border = BOX
        else:
            ws.cell(row, 1).border = TOTAL_BORDER
        for col, text in ((2, r.code), (3, r.name)):
            c = set_text(ws.cell(row, col), text)
            c.border, c.font = (TOTAL_BORDER, BOLD) if r.total else (BOX, Font())
        for j, (col, cell) in enumerate(zip(sec.columns, r.cells), 4):
            marked |= _number(ws, row, j, cell, NUMBER_FORMATS[col.fmt], bold=r.total)
        if sec.change_header and r.change is not None:
            col = 4 + len(sec.columns)
            marked |= _number(ws, row, col, r.change, CHANGE_FORMATS[sec.change_fmt], bold=r.total)
        if sec.target_header and r.target is not None:
            _number(ws, row, len(headers) - 1, r.target, NUMBER_FORMATS[sec.change_fmt
                                                                        if sec.change_header else
                                                                        _headline_fmt(sec)],
                    bold=r.total)
            c = set_text(ws.cell(row, len(headers)), r.attained or "–")
            c.border, c.alignment = (TOTAL_BORDER if r.total else BOX), CENTER
    notes = ["–: không có số liệu (chưa báo cáo hoặc biểu bị loại; không phải bằng 0)."]
    if marked:
        notes.append(f"Ô nền xám, chữ nghiêng, dấu *: {incomplete_note}")
    if sec.change_header and sec.change_fmt == "rate":
        notes.append("Thay đổi của tỷ lệ tính bằng điểm phần trăm.")
    if any(c.fmt == "rate" for c in sec.columns):
        notes.append("Tỷ lệ tính bằng phần trăm (%).")
    last_note = header_row + len(sec.rows) + 1 + len(notes)
    for k, text in enumerate(notes, header_row + len(sec.rows) + 2):
        set_text(ws.cell(k, 1), text).font = NOTE
    ws.freeze_panes = ws.cell(header_row + 1, 4)
    ws.print_title_rows = f"{header_row}:{header_row}"
    _print_setup(ws)
    _headline_chart(ws, sec, header_row, last_note + 2)


def _headline_fmt(sec: "Section") -> str:
    return next((c.fmt for c in sec.columns if c.code == sec.headline), "int")


def _headline_chart(ws, sec: "Section", header_row: int, anchor_row: int) -> None:
    """A native Excel bar chart of the headline indicator by district (not the city row),
    in grey, under the table: it stays live if someone corrects a number."""
    col = next((j for j, c in enumerate(sec.columns, 4) if c.code == sec.headline), None)
    districts = [r for r in sec.rows if not r.total]
    if col is None or not districts:
        return
    chart = BarChart()
    chart.type, chart.style, chart.legend = "bar", 10, None
    chart.title = next(c.header for c in sec.columns if c.code == sec.headline)
    first, last = header_row + 1, header_row + len(districts)
    chart.add_data(Reference(ws, min_col=col, min_row=first, max_row=last), titles_from_data=False)
    chart.set_categories(Reference(ws, min_col=3, min_row=first, max_row=last))
    chart.series[0].graphicalProperties = GraphicalProperties(solidFill=CHART_GREY)
    chart.y_axis.numFmt = NUMBER_FORMATS[_headline_fmt(sec)]
    chart.x_axis.scaling.orientation = "maxMin"  # first district at the top, as in the table
    chart.height, chart.width = max(7.5, 0.55 * len(districts)), 18
    ws.add_chart(chart, f"C{anchor_row}")


def _submissions_sheet(ws, subs: list[dict], not_sent: Iterable[str], period_label: str) -> None:
    set_text(ws.cell(1, 1), "Tình hình nộp báo cáo").font = TITLE
    set_text(ws.cell(2, 1), f"Kỳ báo cáo: {period_label}").font = Font(italic=True)
    headers = ["STT", "Mã quận, huyện", "Quận, huyện", "Tệp", "Trạng thái", "Số lỗi",
               "Số cảnh báo", "Mã SHA-256"]
    _header(ws, HEADER_ROW, headers, [5, 10, 22, 48, 20, 9, 11, 20])
    row = HEADER_ROW
    for i, s in enumerate(subs, 1):
        row += 1
        ws.cell(row, 1, i)
        for col, key in ((2, "code"), (3, "district"), (4, "file"), (5, "status"), (8, "sha256")):
            set_text(ws.cell(row, col), s[key])
        for col, key in ((6, "errors"), (7, "warnings")):
            ws.cell(row, col, s[key]).number_format = "#,##0"
        for col in range(1, len(headers) + 1):
            ws.cell(row, col).border = BOX
    not_sent = list(not_sent)
    if not_sent:
        c = set_text(ws.cell(row + 2, 1), f"Chưa nộp báo cáo ({len(not_sent)}): "
                                          + ", ".join(not_sent) + ".")
        c.font = BOLD
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    _print_setup(ws)
    if subs:
        ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(headers))}{row}"


def _reporting_sheet(ws, frame: pd.DataFrame, period_label: str) -> None:
    """The completeness table: one row per district and the city."""
    from pipelines.completeness import STATUS_TEXT

    set_text(ws.cell(1, 1), "Tiến độ nộp báo cáo").font = TITLE
    city = frame[frame["level"] == "city"].iloc[0]
    deadline = city["deadline"].strftime("%d/%m/%Y") if hasattr(city["deadline"], "strftime") else ""
    set_text(ws.cell(2, 1), f"Kỳ báo cáo: {period_label}; hạn nộp {deadline}").font = Font(italic=True)
    headers = ["Mã", "Quận, huyện", "Số tệp", "Ngày nhận", "Đúng hạn", "Kết quả",
               "Biểu được tiếp nhận", "Biểu phải nộp"]
    _header(ws, HEADER_ROW, headers, [8, 24, 8, 12, 10, 20, 12, 12])
    row = HEADER_ROW
    for r in frame.itertuples(index=False):
        row += 1
        total = r.level == "city"
        set_text(ws.cell(row, 1), r.district_code)
        set_text(ws.cell(row, 2), r.district_name)
        ws.cell(row, 3, int(r.files))
        if r.first_received is not None and not pd.isna(r.first_received):
            ws.cell(row, 4, r.first_received).number_format = "DD/MM/YYYY"
        if total:
            set_text(ws.cell(row, 5), f"{int(r.on_time)}/{int(r.expected)}")
            set_text(ws.cell(row, 6), f"Đã nộp {int(r.received)}/{int(r.expected)}; tiếp nhận "
                                      f"{int(r.accepted)}, một phần {int(r.partial)}, "
                                      f"từ chối {int(r.rejected)}")
        else:
            set_text(ws.cell(row, 5), "Có" if r.on_time else ("Không" if r.received else "–"))
            set_text(ws.cell(row, 6), STATUS_TEXT.get(r.status, r.status))
        ws.cell(row, 7, int(r.sheets_accepted))
        ws.cell(row, 8, int(r.sheets_expected))
        for col in range(1, len(headers) + 1):
            ws.cell(row, col).border = TOTAL_BORDER if total else BOX
            if total:
                ws.cell(row, col).font = BOLD
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 3)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    _print_setup(ws, landscape=False)


def _data_sheet(ws, aggregates: pd.DataFrame, catalogue: "Catalogue") -> None:
    from pipelines.render import value_fmt

    labels = {i.code: (i.label, i.unit,
                       i.type if i.type in ("year", "flag") else value_fmt(i.code, catalogue))
              for i in catalogue.indicators.values()}
    labels.update({d.code: (d.label, d.unit, value_fmt(d.code, catalogue))
                   for d in catalogue.derived})
    order = {code: n for n, code in enumerate(labels)}
    f = aggregates.assign(
        _lv=aggregates["level"].map({"city": 0, "district": 1, "unit": 2}).fillna(3),
        _code=aggregates["org_unit_code"].map(lambda c: int(c) if str(c).isdigit() else 10**9),
        _ind=aggregates["indicator"].map(order).fillna(len(order)),
    ).sort_values(["_lv", "_code", "org_unit_code", "_ind", "indicator"], kind="stable")
    headers = ["Kỳ báo cáo", "Cấp", "Mã đơn vị", "Tên đơn vị", "Mã chỉ tiêu", "Tên chỉ tiêu",
               "Đơn vị tính", "Giá trị", "Đầy đủ"]
    _header(ws, 1, headers, [11, 18, 10, 26, 18, 44, 12, 14, 8])
    for r, rec in enumerate(zip(f["period"], f["level"], f["org_unit_code"], f["org_unit_name"],
                                f["indicator"], f["value"], f["complete"]), 2):
        period, level, code, name, ind, value, complete = rec
        label, unit, fmt = labels.get(ind, ("", "", "mean"))
        for col, text in enumerate((period, LEVELS.get(level, level), code, name, ind, label,
                                    unit), 1):
            set_text(ws.cell(r, col), text)
        if not math.isnan(value):
            ws.cell(r, 8, float(value)).number_format = NUMBER_FORMATS[fmt]
        set_text(ws.cell(r, 9), "có" if complete else "không")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:I{max(len(f) + 1, 2)}"
    ws.print_title_rows = "1:1"
    _print_setup(ws)


def write_summary(path: Path, *, period_label: str, sections: list["Section"],
                  submissions: list[dict], aggregates: pd.DataFrame, catalogue: "Catalogue",
                  incomplete_note: str, not_sent: Iterable[str] = (),
                  completeness: pd.DataFrame | None = None) -> Path:
    """Build the workbook and write it atomically to `path`."""
    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = {SUBMISSIONS_SHEET.lower(), DATA_SHEET.lower(), REPORTING_SHEET.lower()}
    for sec in sections:
        _area_sheet(wb.create_sheet(_sheet_title(sec.heading, taken)), sec, period_label,
                    incomplete_note)
    if completeness is not None and not completeness.empty:
        _reporting_sheet(wb.create_sheet(REPORTING_SHEET), completeness, period_label)
    _submissions_sheet(wb.create_sheet(SUBMISSIONS_SHEET), submissions, not_sent, period_label)
    _data_sheet(wb.create_sheet(DATA_SHEET), aggregates, catalogue)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return Path(path)
