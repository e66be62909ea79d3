"""A marked-up copy of a district's workbook: each cell at fault filled red (error) or amber
(warning) with a Vietnamese comment, and a first sheet `Kết quả kiểm tra` listing the
findings with links to the cells. Used for the feedback folders and `thongke check --annotate`.

Nothing from the workbook becomes a formula: text goes in through `set_text`. The original
is only read; the copy is always `.xlsx` (macros are dropped) and written atomically.
"""
from __future__ import annotations

import logging
import math
from copy import copy
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.worksheet.hyperlink import Hyperlink

from pipelines.base.atomic import atomic_path
from pipelines.check.findings import ERROR, WARNING, Finding, rule_title
from pipelines.base.text import vn_number
from schemas.names import fold
from pipelines.base.xlsx import set_text
from pipelines.read.limits import Limits
from schemas.periods import PeriodError, parse_period

if TYPE_CHECKING:
    from pipelines.check.result import WorkbookResult

log = logging.getLogger(__name__)
FINDINGS_SHEET = "Kết quả kiểm tra"
AUTHOR = "thongke"
SEVERITY_VI = {ERROR: "Lỗi", WARNING: "Cảnh báo"}
FILLS = {ERROR: "FFC7CE", WARNING: "FFEB9C"}
FONT_COLOURS = {ERROR: "9C0006", WARNING: "9C5700"}
KEPT = "\n---\nGhi chú có sẵn trong tệp:\n"  # our comment text, then the district's own note
HOW_TO_FIX = ("Sửa các ô tô đỏ (lỗi) và kiểm tra lại các ô tô vàng (cảnh báo); rê chuột vào ô để "
              "xem ghi chú. Sau đó gửi lại toàn bộ tệp báo cáo (đủ tất cả các biểu) với “Ngày lập” "
              "mới hơn ngày lập của tệp này.")
COPY_NOTE = ("Đây là bản sao có đánh dấu do chương trình tạo; hình ảnh, biểu đồ hoặc macro của tệp "
             "gốc có thể không được giữ. Nên sửa trên tệp gốc của đơn vị.")
XLS_NOTE = ("Tệp gốc là định dạng Excel cũ (.xls): bản đánh dấu chỉ giữ giá trị các ô, không giữ "
            "định dạng, công thức và ô gộp.")
COLUMNS = (("STT", 6), ("Biểu", 22), ("Ô", 10), ("Quy tắc", 28), ("Mức độ", 10),
           ("Giá trị", 22), ("Nội dung", 64))
_LINK_FONT = Font(color="0563C1", underline="single")


# --------------------------------------------------------------------------- pure helpers


def sheet_link(sheet: str, cell: str = "") -> str:
    """Internal hyperlink location: `'4. Giảm nghèo'!H12`; a quote in the name is doubled."""
    return "'{}'!{}".format(sheet.replace("'", "''"), cell or "A1")


def valid_cell(addr: str) -> bool:
    try:
        row, col = coordinate_to_tuple(addr.strip().upper())
    except (ValueError, TypeError, AttributeError):
        return False
    return 1 <= row <= 1_048_576 and 1 <= col <= 16_384


def comment_text(findings: list[Finding]) -> str:
    return "\n\n".join(f"{rule_title(f.rule)} ({SEVERITY_VI.get(f.severity, f.severity)}): "
                       f"{f.message}" for f in findings)


def cells_to_mark(findings: list[Finding]) -> dict[tuple[str, str], list[Finding]]:
    """(sheet, cell) -> the findings on that cell, for findings that name both."""
    marks: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.sheet and f.cell and valid_cell(f.cell):
            marks.setdefault((f.sheet, f.cell.strip().upper()), []).append(f)
    return marks


def _lines(text: str, width: int) -> int:
    return sum(max(1, math.ceil(len(line) / width)) for line in str(text).split("\n"))


# --------------------------------------------------------------------------- marked copy


def annotate_copy(source: Path, dest: Path, result: "WorkbookResult", status: str, *,
                  period: str = "", limits: Limits = Limits()) -> Path | None:
    """Write a marked-up copy of `source` to `dest` (always `.xlsx`); None if it cannot be read.

    `period` labels the copy when the cover named none (R05); `limits`: those the check
    read the file with (`Settings.limits`). Never writes over `source`.
    """
    dest = Path(dest).with_suffix(".xlsx")
    if dest.resolve() == Path(source).resolve():
        raise ValueError(f"the marked copy would overwrite its original: {dest}")
    if any(f.rule == "R18" for f in result.findings):
        return None
    loaded = _load(Path(source), limits, result.sha256)
    if loaded is None:
        return None
    wb, notes = loaded
    _clear_previous(wb)
    notes += _mark(wb, result.findings)
    _findings_sheet(wb, result, status, period, list(dict.fromkeys(notes)))
    with atomic_path(dest) as tmp:
        wb.save(tmp)
    return dest


def _load(source: Path, limits: Limits, checked_sha: str = ""
          ) -> tuple[openpyxl.Workbook, list[str]] | None:
    """The workbook to mark, read from a private copy, and only if it is still the content
    that was checked (`checked_sha`): a file replaced since its check is not marked with
    another's findings. That content passed the guard when it was checked
    (`pipelines/read/guard.py`), so it is not guarded again; a copy asked for with no
    checked content (`checked_sha` blank) is. openpyxl or calamine never parse what the
    guard has not seen."""
    import tempfile

    from pipelines.read.guard import UnreadableWorkbook, guard, kind_of
    from pipelines.read.workbook import private_copy
    try:
        with tempfile.TemporaryDirectory(prefix="thongke-mark-") as tmp:
            private, sha256 = private_copy(source, Path(tmp) / "workbook", limits.max_file_mb)
            if checked_sha and sha256 != checked_sha:
                log.warning("%s changed since it was checked: no marked copy", source)
                return None
            kind = ""
            if checked_sha:
                with private.open("rb") as f:
                    kind = kind_of(f.read(8))
            if not kind:
                kind = guard(private, max_file_mb=limits.max_file_mb, max_rows=limits.max_rows,
                             max_unpacked_mb=limits.max_unpacked_mb)
            if kind == "xlsx":  # xlsx, xlsm: macros are dropped (keep_vba=False)
                wb = openpyxl.load_workbook(private.rename(private.with_suffix(".xlsx")),
                                            keep_vba=False, rich_text=True)
                wb.template = False
                return wb, [COPY_NOTE]
            return _from_values(private.rename(private.with_suffix(".xls"))), [XLS_NOTE]
    except UnreadableWorkbook as exc:
        log.warning("no marked copy of %s: %s", source, exc)
    except Exception:  # whatever the reader chokes on, the summary explains it
        log.warning("cannot make a marked copy of %s", source, exc_info=True)
    return None


def _from_values(source: Path) -> openpyxl.Workbook:
    """A legacy .xls rebuilt from its values: sheet names and cell positions kept."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(source))
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name in book.sheet_names:
        ws = wb.create_sheet(name)
        for r, row in enumerate(book.get_sheet_by_name(name).to_python(skip_empty_area=False), 1):
            for c, value in enumerate(row, 1):
                if value is None or value == "":
                    continue
                if isinstance(value, str):
                    set_text(ws.cell(r, c), value)
                else:
                    cell = ws.cell(r, c, value)
                    if isinstance(value, date):
                        cell.number_format = "DD/MM/YYYY"
    return wb


def _clear_previous(wb: openpyxl.Workbook) -> None:
    """A resent annotated copy: drop our old findings sheet, comments and fills."""
    for ws in list(wb.worksheets):
        if fold(ws.title) == fold(FINDINGS_SHEET):  # Excel sheet names ignore case
            wb.remove(ws)
    ours = {f"00{c}" for c in FILLS.values()} | {f"FF{c}" for c in FILLS.values()}
    for ws in wb.worksheets:
        for cell in list(ws._cells.values()):  # only cells that exist; iter_rows would create
            if cell.comment is None or cell.comment.author != AUTHOR:
                continue
            own = cell.comment.text.split(KEPT, 1)
            cell.comment = Comment(own[1], "") if len(own) == 2 else None
            if cell.fill.fgColor.rgb in ours:
                cell.fill, cell.font = PatternFill(), _recolour(cell.font, None)


def _mark(wb: openpyxl.Workbook, findings: list[Finding]) -> list[str]:
    """Fill and comment every flagged cell, showing it if hidden. Returns notes."""
    sheets = {ws.title: ws for ws in wb.worksheets}
    shown: dict[str, list[str]] = {}
    for (name, addr), group in cells_to_mark(findings).items():
        if (ws := sheets.get(name)) is None:
            continue
        cell = _anchor(ws, addr)
        severity = ERROR if any(f.is_error for f in group) else WARNING
        cell.fill = PatternFill("solid", fgColor=FILLS[severity])
        cell.font = _recolour(cell.font, FONT_COLOURS[severity])
        text = comment_text(group) + (KEPT + cell.comment.text if cell.comment else "")
        cell.comment = Comment(text, AUTHOR, height=min(600, 24 + 14 * _lines(text, 52)),
                               width=340)
        shown.setdefault(ws.title, []).extend(_unhide(ws, cell))
    return [f"Biểu “{title}”: đã hiện lại {', '.join(dict.fromkeys(what))} đang bị ẩn, vì có ô "
            "được đánh dấu." for title, what in shown.items() if what]


def _recolour(font: Font, colour: str | None) -> Font:
    font = copy(font)
    font.color = colour
    return font


def _anchor(ws, addr: str):
    """The cell itself, or the top-left cell of the merged range that covers it."""
    for rng in ws.merged_cells.ranges:
        if addr in rng:
            return ws.cell(rng.min_row, rng.min_col)
    return ws[addr]


def _unhide(ws, cell) -> list[str]:
    """Show the sheet, row and column of a flagged cell; says what was hidden."""
    what = []
    if ws.sheet_state != "visible":
        ws.sheet_state = "visible"
        what.append("biểu này")
    if cell.row in ws.row_dimensions and ws.row_dimensions[cell.row].hidden:
        ws.row_dimensions[cell.row].hidden = False
        what.append(f"dòng {cell.row}")
    if _unhide_column(ws, cell.column):
        what.append(f"cột {cell.column_letter}")
    return what


def _unhide_column(ws, col: int) -> bool:
    """Unhide one column; a hidden group `D:F` is split so that only the column shows."""
    for key, dim in list(ws.column_dimensions.items()):
        lo = dim.min or column_index_from_string(key)
        hi = dim.max or lo
        if not (lo <= col <= hi and dim.hidden):
            continue
        del ws.column_dimensions[key]
        for a, b, hidden in ((lo, col - 1, True), (col, col, False), (col + 1, hi, True)):
            if a <= b:
                part = copy(dim)
                part.index, part.min, part.max, part.hidden = get_column_letter(a), a, b, hidden
                ws.column_dimensions[part.index] = part
        return True
    return False


def _findings_sheet(wb: openpyxl.Workbook, result: "WorkbookResult", status: str, period: str,
                    notes: list[str]) -> None:
    from pipelines.check.submissions import STATUS_VI

    ws = wb.create_sheet(FINDINGS_SHEET, 0)
    for other in wb.worksheets:
        other.sheet_view.tabSelected = other is ws  # never leave two tabs grouped
    wb.active = 0
    present = {s.title for s in wb.worksheets}
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    set_text(ws["A1"], "KẾT QUẢ KIỂM TRA BÁO CÁO").font = Font(bold=True, size=14)
    district = (f"{result.district_code} – {result.district_name}" if result.district_code
                else "Chưa xác định được (xem lỗi trang bìa bên dưới)")
    info = [("Tệp", result.file), ("Đơn vị", district),
            ("Kỳ báo cáo", period_label(result.period or period)),
            ("Trạng thái", STATUS_VI.get(status, status)),
            ("Số lỗi", vn_number(result.errors)), ("Số cảnh báo", vn_number(result.warnings)),
            ("Cách sửa", HOW_TO_FIX)] + [("Lưu ý", n) for n in notes]
    row = 2
    for label, value in info:
        label_cell = set_text(ws.cell(row, 1), label)
        label_cell.font, label_cell.alignment = bold, wrap
        set_text(ws.cell(row, 3), value).alignment = wrap
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
        ws.merge_cells(start_row=row, start_column=3, end_row=row, end_column=len(COLUMNS))
        ws.row_dimensions[row].height = 15 * _lines(value, 125)
        row += 1
    header = row + 1
    for c, (title, width) in enumerate(COLUMNS, 1):
        cell = set_text(ws.cell(header, c), title)
        cell.font, cell.alignment = bold, wrap
        cell.fill = PatternFill("solid", fgColor="D9D9D9")
        ws.column_dimensions[get_column_letter(c)].width = width
    for i, f in enumerate(result.findings, 1):
        r = header + i
        ws.cell(r, 1, i).alignment = wrap
        texts = [f.sheet, f.cell or ("(cả biểu)" if f.sheet in present else ""),
                 rule_title(f.rule), SEVERITY_VI.get(f.severity, f.severity), f.value, f.message]
        for c, text in enumerate(texts, 2):
            set_text(ws.cell(r, c), text).alignment = wrap
        if f.sheet in present:
            target = f.cell.strip().upper() if f.cell and valid_cell(f.cell) else ""
            link = ws.cell(r, 3)
            link.hyperlink = Hyperlink(ref=link.coordinate, location=sheet_link(f.sheet, target))
            link.font = _LINK_FONT
        ws.cell(r, 5).fill = PatternFill("solid", fgColor=FILLS.get(f.severity, FILLS[ERROR]))
        ws.row_dimensions[r].height = 15 * max(_lines(t, COLUMNS[c + 1][1] - 2)
                                               for c, t in enumerate(texts))
    ws.freeze_panes = ws.cell(header + 1, 1)
    if result.findings:
        last = header + len(result.findings)
        ws.auto_filter.ref = f"A{header}:{get_column_letter(len(COLUMNS))}{last}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def period_label(period: str) -> str:
    try:
        return parse_period(period).label
    except PeriodError:
        return "không xác định"
