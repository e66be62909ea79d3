"""The summary workbook `tong_hop.xlsx`: the report's tables for people who work in Excel.

One sheet per content area laid out like the report's table, with every district (with its
sentences above and a native Excel chart of the headline indicator below, up to
`plans.MAX_DISTRICTS` districts), a `Tiến độ nộp` sheet with the completeness
table, a `Nộp báo cáo` sheet with the submissions and a `Dữ liệu` sheet with every
aggregates row (nationally, beyond `MAX_DATA_ROWS` rows, every row but the communes').
The long table is written straight into the file (`_LongTable`): openpyxl would spend
seconds on its cells. Every sheet prints on A4 with its header rows repeated. Numbers are
real numbers with Vietnamese-style formats (Excel shows `#,##0` as `1.234` in a
Vietnamese locale); every text that came from input data is written with
`set_text`, so a file named `=HYPERLINK(...)` stays text.
"""
from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Sequence
from copy import copy
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from pipelines.base.atomic import atomic_path
from pipelines.base.text import vn_number
from pipelines.base.xlsx import NUMBER_FORMATS, set_text

if TYPE_CHECKING:
    from pipelines.report.tables import Cell, Section
    from schemas.catalogue import Catalogue

CHANGE_FORMATS = {"int": "+#,##0;-#,##0;0", "money": "+#,##0.00;-#,##0.00;0.00",
                  "rate": "+0.00;-0.00;0.00", "mean": "+#,##0.00;-#,##0.00;0.00"}
LEVELS = {"country": "Cả nước", "city": "Thành phố", "province": "Tỉnh, thành phố",
          "district": "Quận, huyện", "unit": "Xã, phường, thị trấn"}
SUBMISSIONS_SHEET, DATA_SHEET, REPORTING_SHEET = "Nộp báo cáo", "Dữ liệu", "Tiến độ nộp"
SERIES_SHEET = "Chuỗi số liệu"  # units a boundary change made, as reported and restated

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


class _Styles:
    """Cell styles made once per workbook, then copied onto cells by key: openpyxl checks
    and registers a style object on every assignment, which for the 70,000 cells of the
    national tables costs seconds."""

    def __init__(self) -> None:
        self._made: dict[tuple, object] = {}

    def put(self, cell, key: tuple, **attrs) -> None:
        """Give `cell` the style `attrs` (font=..., border=..., number_format=...), which
        `key` names."""
        made = self._made.get(key)
        if made is None:
            for name, value in attrs.items():
                setattr(cell, name, value)
            self._made[key] = copy(cell._style)
        else:
            cell._style = copy(made)


FONTS = {(False, False): Font(), (True, False): Font(bold=True),
         (False, True): Font(italic=True), (True, True): Font(bold=True, italic=True)}


def _number(ws, row: int, col: int, cell: "Cell", fmt: str, *, bold: bool = False,
            styles: _Styles | None = None) -> bool:
    """Write one value; returns True when it is marked incomplete."""
    styles = styles or _Styles()
    c = ws.cell(row, col)
    border = TOTAL_BORDER if bold else BOX
    if cell.missing:
        set_text(c, "–")
        styles.put(c, ("missing", bold), border=border, alignment=CENTER, font=FONTS[bold, False])
        return False
    c.value = float(cell.value)
    if cell.incomplete:
        styles.put(c, ("incomplete", fmt, bold), border=border,
                   number_format=";".join(f'{part}"*"' for part in fmt.split(";")),
                   fill=INCOMPLETE_FILL, font=FONTS[bold, True])
        return True
    if cell.narrow:  # a change over fewer districts than all: `†`
        fmt = ";".join(f'{part}"†"' for part in fmt.split(";"))
    styles.put(c, ("number", fmt, bold), border=border, number_format=fmt, font=FONTS[bold, False])
    return False


def _area_sheet(ws, sec: "Section", period_label: str, incomplete_note: str,
                styles: _Styles | None = None) -> None:
    styles = styles or _Styles()
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
            styles.put(ws.cell(row, 1, i), ("rank",), border=BOX)
        else:
            styles.put(ws.cell(row, 1), ("rank-total",), border=TOTAL_BORDER)
        for col, text in ((2, r.code), (3, r.name)):
            c = set_text(ws.cell(row, col), text)
            if r.total:
                styles.put(c, ("name-total",), border=TOTAL_BORDER, font=BOLD)
            else:
                styles.put(c, ("name",), border=BOX, font=FONTS[False, False])
        for j, (col, cell) in enumerate(zip(sec.columns, r.cells), 4):
            marked |= _number(ws, row, j, cell, NUMBER_FORMATS[col.fmt], bold=r.total,
                              styles=styles)
        if sec.change_header and r.change is not None:
            col = 4 + len(sec.columns)
            marked |= _number(ws, row, col, r.change, CHANGE_FORMATS[sec.change_fmt], bold=r.total,
                              styles=styles)
        if sec.target_header and r.target is not None:
            _number(ws, row, len(headers) - 1, r.target, NUMBER_FORMATS[sec.change_fmt
                                                                        if sec.change_header else
                                                                        _headline_fmt(sec)],
                    bold=r.total, styles=styles)
            c = set_text(ws.cell(row, len(headers)), r.attained or "–")
            styles.put(c, ("attained", r.total), border=TOTAL_BORDER if r.total else BOX,
                       alignment=CENTER)
    notes = ["–: không có số liệu (chưa báo cáo hoặc biểu bị loại; không phải bằng 0)."]
    if sec.without_line:
        notes.insert(0, sec.without_line)
    if marked:
        notes.append(f"Ô nền xám, chữ nghiêng, dấu *: {sec.incomplete_note or incomplete_note}")
    notes += [line.replace("†", "(†)", 1) if line.startswith("†") else line
              for line in sec.change_notes]
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
    from pipelines.report.plans import MAX_DISTRICTS

    col = next((j for j, c in enumerate(sec.columns, 4) if c.code == sec.headline), None)
    districts = [r for r in sec.rows if not r.total]
    if col is None or not districts or len(districts) > MAX_DISTRICTS:
        return  # nationally a bar per district is unreadable: the report has the selection
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


def _submissions_sheet(ws, subs: list[dict], not_sent: Iterable[str], period_label: str,
                       styles: _Styles | None = None) -> None:
    styles = styles or _Styles()
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
            ws.cell(row, col, s[key])
        for col in range(1, len(headers) + 1):
            if col in (6, 7):
                styles.put(ws.cell(row, col), ("count",), number_format="#,##0", border=BOX)
            else:
                styles.put(ws.cell(row, col), ("boxed",), border=BOX)
    not_sent = list(not_sent)
    if not_sent:
        c = set_text(ws.cell(row + 2, 1), f"Chưa nộp báo cáo ({vn_number(len(not_sent))}): "
                                          + ", ".join(not_sent) + ".")
        c.font = BOLD
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    _print_setup(ws)
    if subs:
        ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(headers))}{row}"


def _reporting_sheet(ws, frame: pd.DataFrame, period_label: str,
                     styles: _Styles | None = None) -> None:
    """The completeness table: one row per district and the city."""
    styles = styles or _Styles()
    from pipelines.check.completeness import STATUS_TEXT

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
            ws.cell(row, 4, r.first_received)
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
            c = ws.cell(row, col)
            fmt = "DD/MM/YYYY" if col == 4 and c.value is not None else "General"
            if total:
                styles.put(c, ("reporting", fmt, True), number_format=fmt, border=TOTAL_BORDER,
                           font=BOLD)
            else:
                styles.put(c, ("reporting", fmt, False), number_format=fmt, border=BOX)
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 3)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    _print_setup(ws, landscape=False)


def _series_sheet(ws, frame: pd.DataFrame, catalogue, styles: _Styles) -> None:
    """The units a boundary change made: per unit and indicator, one row as reported and
    one on current boundaries, a column per period."""
    from pipelines.record.series import BASIS_TEXT
    from schemas.periods import parse_period

    set_text(ws.cell(1, 1), "Chuỗi số liệu của các đơn vị có thay đổi địa giới").font = TITLE
    set_text(ws.cell(2, 1), "Theo số đã báo cáo: số mỗi kỳ đơn vị đã gửi. Theo địa giới hiện "
                            "nay: các kỳ trước cộng cả số của đơn vị đã nhập vào (so sánh được "
                            "qua các kỳ). Ô trống: không có số liệu.").font = Font(italic=True)
    periods = sorted(frame["period"].unique(), key=lambda p: parse_period(p).sort_key)
    headers = ["Mã", "Đơn vị", "Quận, huyện", "Chỉ tiêu", "Cách tính", *periods]
    _header(ws, HEADER_ROW, headers, [8, 26, 20, 34, 22, *[11] * len(periods)])
    keys = ["unit_code", "unit_name", "district_name", "indicator", "basis"]
    table = (frame.drop_duplicates([*keys, "period"]).set_index([*keys, "period"])["value"]
             .unstack("period"))
    order = {"reported": 0, "current": 1}  # as reported first, then restated
    table = table.sort_index(key=lambda idx: idx.map(order) if idx.name == "basis" else idx)
    row = HEADER_ROW
    for key, values in table.iterrows():
        code, name, district, indicator, basis = key
        ind = catalogue.indicators.get(indicator)
        row += 1
        set_text(ws.cell(row, 1), code)
        set_text(ws.cell(row, 2), name)
        set_text(ws.cell(row, 3), district)
        set_text(ws.cell(row, 4), f"{indicator} – {ind.label}" if ind else indicator)
        set_text(ws.cell(row, 5), BASIS_TEXT.get(basis, basis))
        fmt = "#,##0.00" if ind is not None and ind.type == "money" else "#,##0"
        for k, p in enumerate(periods, 6):
            v = values.get(p)
            if v is not None and not pd.isna(v):
                ws.cell(row, k, float(v))
            styles.put(ws.cell(row, k), ("series", fmt), number_format=fmt, border=BOX)
        for col in range(1, 6):
            styles.put(ws.cell(row, col), ("series", "text"), border=BOX)
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 6)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    _print_setup(ws, landscape=True)


MAX_DATA_ROWS = 100_000  # more rows than this: the long table leaves out the communes


def _level_names(top_label: str) -> dict[str, str]:
    """How the long table names each level: the top one `Thành phố`, `Tỉnh` or `Cả nước`."""
    top = {"Toàn thành phố": "Thành phố", "Toàn tỉnh": "Tỉnh"}.get(top_label, top_label)
    return {**LEVELS, "city": top}


def _data_sheet(ws, aggregates: pd.DataFrame, catalogue: "Catalogue",
                top_label: str = "Toàn thành phố") -> "_LongTable":
    """The long table: the header, column widths, filter, panes and print setup here; the
    rows are written straight into the saved file (`_LongTable`), as openpyxl would write
    them (text inline, numbers with their formats), in a fraction of its time."""
    from pipelines.report.tables import value_fmt

    labels = {i.code: (i.label, i.unit,
                       i.type if i.type in ("year", "flag") else value_fmt(i.code, catalogue))
              for i in catalogue.indicators.values()}
    labels.update({d.code: (d.label, d.unit, value_fmt(d.code, catalogue))
                   for d in catalogue.derived})
    order = {code: n for n, code in enumerate(labels)}
    note = ""
    if len(aggregates) > MAX_DATA_ROWS:  # nationally: every district, no commune
        units = int((aggregates["level"] == "unit").sum())
        aggregates = aggregates[aggregates["level"] != "unit"]
        note = (f"Trang này không gồm {vn_number(units)} dòng số liệu cấp xã, phường, thị trấn "
                "(quá dài cho một trang tính): xem tệp aggregates.csv.")
    f = aggregates.assign(
        _lv=aggregates["level"].map({"country": 0, "city": 0, "province": 1, "district": 2,
                                     "unit": 3}).fillna(4),
        _code=aggregates["org_unit_code"].map(lambda c: int(c) if str(c).isdigit() else 10**9),
        _ind=aggregates["indicator"].map(order).fillna(len(order)),
    ).sort_values(["_lv", "_code", "org_unit_code", "_ind", "indicator"], kind="stable")
    headers = ["Kỳ báo cáo", "Cấp", "Mã đơn vị", "Tên đơn vị", "Mã chỉ tiêu", "Tên chỉ tiêu",
               "Đơn vị tính", "Giá trị", "Đầy đủ"]
    _header(ws, 1, headers, [11, 18, 10, 26, 18, 44, 12, 14, 8])
    if note:
        set_text(ws.cell(1, len(headers) + 2), note).font = BOLD
    formats = sorted({NUMBER_FORMATS[fmt] for _, _, fmt in labels.values()}
                     | {NUMBER_FORMATS["mean"]})
    for r, fmt in enumerate(formats, 2):  # one cell per number format: its style id, once saved
        ws.cell(r, 8, 0.0).number_format = fmt
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:I{max(len(f) + 1, 2)}"
    ws.print_title_rows = "1:1"
    _print_setup(ws)
    levels = _level_names(top_label)
    fmt_of = {code: NUMBER_FORMATS[fmt] for code, (_, _, fmt) in labels.items()}
    indicators = f["indicator"].tolist()
    return _LongTable(ws, formats, zip(
        f["period"].tolist(), [levels.get(v, v) for v in f["level"].tolist()],
        f["org_unit_code"].tolist(), f["org_unit_name"].tolist(), indicators,
        [labels.get(c, ("", "", ""))[0] for c in indicators],
        [labels.get(c, ("", "", ""))[1] for c in indicators],
        [fmt_of.get(c, NUMBER_FORMATS["mean"]) for c in indicators],
        f["value"].tolist(), f["complete"].tolist()), len(f))


class _LongTable:
    """The rows of the long table, written into the saved workbook's sheet XML in place of
    the format samples openpyxl wrote (row 1, the header, is kept as openpyxl wrote it).

    Cells are what openpyxl writes for `set_text` and number cells: text as inline strings
    (`xml:space="preserve"` when it starts or ends with a blank; characters XML forbids
    dropped), numbers as `%.16g` with the style of their number format, a missing value
    as no cell."""

    def __init__(self, ws, formats: list[str], rows, count: int):
        self.ws, self.formats, self.rows, self.count = ws, formats, rows, count

    def splice(self, package: bytes, target: Path) -> None:
        """Write `package` (the saved workbook) to `target` with the rows in place."""
        import zipfile

        name = self.ws.path.lstrip("/")
        with zipfile.ZipFile(io.BytesIO(package)) as src, \
                zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
            for info in src.infolist():
                data = src.read(info)
                if info.filename == name:
                    out.writestr(info, self._sheet(data.decode("utf-8")), compresslevel=1)
                else:
                    out.writestr(info, data)

    def _sheet(self, xml: str) -> bytes:
        styles = {}
        for r, fmt in enumerate(self.formats, 2):
            found = re.search(rf'<c r="H{r}"(?: s="(\d+)")?', xml)
            styles[fmt] = f' s="{found.group(1)}"' if found and found.group(1) else ""
        start, end = xml.index("<sheetData>"), xml.index("</sheetData>")
        header = re.search(r'<row r="1"[ >].*?</row>', xml[start:end], re.S)
        last = self.count + 1
        head = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:I{last}"/>', xml[:start])
        parts = [head, "<sheetData>", header.group(0) if header else ""]
        parts.extend(self._rows(styles))
        parts.append(xml[end:])
        return "".join(parts).encode("utf-8")

    def _rows(self, styles: dict[str, str]):
        texts: dict[object, str] = {}

        def text(ref: str, value) -> str:
            cell = texts.get(value)
            if cell is None:
                cell = texts[value] = _inline(value)
            return f'<c r="{ref}" t="inlineStr"{cell}'

        for n, (period, level, code, name, ind, label, unit, fmt, value, complete) in enumerate(
                self.rows, 2):
            cells = [text(f"A{n}", period), text(f"B{n}", level), text(f"C{n}", code),
                     text(f"D{n}", name), text(f"E{n}", ind), text(f"F{n}", label),
                     text(f"G{n}", unit)]
            if not math.isnan(value):
                cells.append(f'<c r="H{n}"{styles[fmt]} t="n"><v>{float(value):.16g}</v></c>')
            cells.append(text(f"I{n}", "có" if complete else "không"))
            yield f'<row r="{n}">{"".join(cells)}</row>'


def _inline(value) -> str:
    """The end of an inline-string cell `<c … t="inlineStr"` for `value`, as openpyxl
    writes `set_text`: empty text is an empty cell."""
    from xml.sax.saxutils import escape

    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = "" if value is None else ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if text == "":
        return "/>"
    space = ' xml:space="preserve"' if text.strip() and text != text.strip() else ""
    return f"><is><t{space}>{escape(text)}</t></is></c>"


def write_summary(path: Path, *, period_label: str, sections: list["Section"],
                  submissions: list[dict], aggregates: pd.DataFrame, catalogue: "Catalogue",
                  incomplete_note: str, not_sent: Iterable[str] = (),
                  completeness: pd.DataFrame | None = None,
                  top_label: str = "Toàn thành phố",
                  unit_series: pd.DataFrame | None = None) -> Path:
    """Build the workbook and write it atomically to `path`."""
    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = {SUBMISSIONS_SHEET.lower(), DATA_SHEET.lower(), REPORTING_SHEET.lower()}
    styles = _Styles()
    for sec in sections:
        _area_sheet(wb.create_sheet(_sheet_title(sec.heading, taken)), sec, period_label,
                    incomplete_note, styles)
    if completeness is not None and not completeness.empty:
        _reporting_sheet(wb.create_sheet(REPORTING_SHEET), completeness, period_label, styles)
    _submissions_sheet(wb.create_sheet(SUBMISSIONS_SHEET), submissions, not_sent, period_label,
                       styles)
    if unit_series is not None and not unit_series.empty:
        _series_sheet(wb.create_sheet(SERIES_SHEET), unit_series, catalogue, styles)
    long_table = _data_sheet(wb.create_sheet(DATA_SHEET), aggregates, catalogue, top_label)
    package = io.BytesIO()
    wb.save(package)
    with atomic_path(path) as tmp:
        long_table.splice(package.getvalue(), tmp)
    return Path(path)
