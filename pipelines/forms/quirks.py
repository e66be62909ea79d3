"""What real offices do to the form (FORM.md 1.2), as small functions over an openpyxl Workbook.

`QUIRKS` names each one; the sample generator spreads them over its files and the tests build
one tiny workbook per quirk with `apply_quirk`.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Callable

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from pipelines.forms.form import (CODE_COL, COVER_SHEET, FIXED_CODES, NAME_COL, locate_table,
                            relocate, save_workbook)
from pipelines.base.text import vn_flexible, vn_number
from pipelines.base.xlsx import set_text
from schemas.catalogue import load_catalogue
from schemas.periods import parse_period


# ---------------------------------------------------------------- workbook helpers
def _content(wb: Workbook):
    """(worksheet, first data row, total row, columns) of every content sheet."""
    for ws in wb.worksheets:
        found = locate_table(ws)
        if found:
            yield (ws, *found)


def _cells(wb: Workbook, types: tuple[str, ...]):
    """Every unit-row cell of the given indicator types."""
    inds = load_catalogue().indicators
    for ws, first, total, cols in _content(wb):
        for code, col in cols.items():
            if code in inds and inds[code].type in types:
                for r in range(first, total):
                    yield ws.cell(r, col)


def _name_cells(wb: Workbook):
    for ws, first, total, _ in _content(wb):
        for r in range(first, total):
            yield ws.cell(r, NAME_COL)


def _cover_cell(wb: Workbook, label: str):
    ws = wb[COVER_SHEET]
    return next(ws.cell(r, 2) for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == label)


# ---------------------------------------------------------------- quirks
_TONES = "\u0300\u0301\u0303\u0309\u0323"


def swap_tone(text: str) -> str:
    """The other tone-mark placement of a final oa/oe/uy: `Thuỷ` <-> `Thủy`, `Hoà` <-> `Hòa`."""
    words = []
    for word in text.split(" "):
        d = unicodedata.normalize("NFD", word)
        tones = [ch for ch in d if ch in _TONES]
        base = "".join(ch for ch in d if ch not in _TONES)
        bare = base.lower()
        if len(tones) == 1 and bare.endswith(("oa", "oe", "uy")) and not bare.endswith("quy"):
            word = base + tones[0] if not d.endswith(tones[0]) else base[:-1] + tones[0] + base[-1]
        words.append(unicodedata.normalize("NFC", word))
    return " ".join(words)


_PREFIX = re.compile(r"^(Xã|Phường|Thị trấn)\s+")
_ABBREV = {"Xã": "X.", "Phường": "P.", "Thị trấn": "TT"}


def _map_names(fn: Callable[[str], str]) -> Callable[[Workbook], None]:
    def quirk(wb: Workbook) -> None:
        for cell in _name_cells(wb):
            set_text(cell, fn(str(cell.value)))
    return quirk


def _numbers_as_text(wb: Workbook) -> None:
    for cell in _cells(wb, ("int", "money")):
        if isinstance(cell.value, (int, float)):
            as_int = isinstance(cell.value, int) or float(cell.value).is_integer()
            set_text(cell, vn_number(cell.value) if as_int else vn_flexible(cell.value, 2))


def _dash_for_zero(wb: Workbook) -> None:
    for cell in _cells(wb, ("int", "money")):
        if cell.value == 0:
            set_text(cell, "-")


def _flags_as_text(wb: Workbook) -> None:
    for cell in _cells(wb, ("flag",)):
        if cell.value in (0, 1):
            set_text(cell, ("x" if cell.row % 2 else "đạt") if cell.value == 1 else "chưa đạt")


def _codes_as_numbers(wb: Workbook) -> None:
    for ws, first, total, _ in _content(wb):
        for r in range(first, total):
            ws.cell(r, CODE_COL).value = int(ws.cell(r, CODE_COL).value)


def _cover_period_text(wb: Workbook) -> None:
    cell = _cover_cell(wb, "Kỳ báo cáo")
    set_text(cell, parse_period(cell.value).label)


def _cover_code_blank(wb: Workbook) -> None:
    _cover_cell(wb, "Mã đơn vị").value = None


def _cover_date_text(wb: Workbook) -> None:
    cell = _cover_cell(wb, "Ngày lập")
    set_text(cell, cell.value.strftime("%d/%m/%Y"))


def _columns_reordered(wb: Workbook) -> None:
    """Indicator columns in reverse order."""
    for ws, first, total, cols in _content(wb):
        indicator_cols = [c for code, c in cols.items() if code not in FIXED_CODES]
        lo, hi = min(indicator_cols), max(indicator_cols)
        relocate(ws, lambda r, c: (r, lo + hi - c if lo <= c <= hi else c))


def _code_row_deleted(wb: Workbook) -> None:
    for ws, first, total, cols in _content(wb):
        if ws.cell(first - 1, NAME_COL).value == FIXED_CODES[2]:
            gone = first - 1
            relocate(ws, lambda r, c: None if r == gone else (r - (r > gone), c))


def _extra_title_rows(wb: Workbook) -> None:
    district = str(_cover_cell(wb, "Tên đơn vị").value or "")
    for ws, *_ in list(_content(wb)):
        relocate(ws, lambda r, c: (r + 2, c))
        set_text(ws.cell(1, 1), f"ỦY BAN NHÂN DÂN {district.upper()}")
        set_text(ws.cell(2, 1), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM - Độc lập - Tự do - Hạnh phúc")


def _hidden_rows(wb: Workbook) -> None:
    for ws, first, total, _ in _content(wb):
        for r in range(first + 1, total, 5):
            ws.row_dimensions[r].hidden = True


def _hidden_columns(wb: Workbook) -> None:
    for ws, first, total, cols in _content(wb):
        ws.column_dimensions["A"].hidden = True
        second = sorted(c for code, c in cols.items() if code not in FIXED_CODES)[1]
        ws.column_dimensions[get_column_letter(second)].hidden = True


def strip_marks(text: str) -> str:
    """`Xã Đại Thắng` -> `Xa Dai Thang`: typed on a machine without Vietnamese input."""
    d = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in d if not unicodedata.combining(ch))


def _no_diacritics(wb: Workbook) -> None:
    """Unit names, sheet names, cover labels and the district's name without any mark."""
    for cell in _name_cells(wb):
        set_text(cell, strip_marks(str(cell.value)))
    cover = wb.worksheets[0]
    for row in cover.iter_rows(min_col=1, max_col=1):
        if isinstance(row[0].value, str):
            set_text(row[0], strip_marks(row[0].value))
    name = _cover_cell(wb, "Ten don vi")
    set_text(name, strip_marks(str(name.value)))
    for ws in wb.worksheets:
        ws.title = strip_marks(ws.title)


def _sheet_names_loose(wb: Workbook) -> None:
    for ws, *_ in list(_content(wb)):
        ws.title = re.sub(r"^\d+\.\s*", "", ws.title).upper()


# Applied in this order: value quirks first, then those that move cells, then looks.
QUIRKS: dict[str, Callable[[Workbook], None]] = {
    "names_without_prefix": _map_names(lambda s: _PREFIX.sub("", s)),
    "names_abbreviated": _map_names(lambda s: _PREFIX.sub(lambda m: _ABBREV[m[1]] + " ", s)),
    "names_upper": _map_names(str.upper),
    "names_nfd": _map_names(lambda s: unicodedata.normalize("NFD", s)),
    "names_other_tone": _map_names(swap_tone),
    "codes_as_numbers": _codes_as_numbers,
    "numbers_as_text": _numbers_as_text,
    "dash_for_zero": _dash_for_zero,
    "flags_as_text": _flags_as_text,
    "cover_period_text": _cover_period_text,
    "cover_code_blank": _cover_code_blank,
    "cover_date_text": _cover_date_text,
    "columns_reordered": _columns_reordered,
    "code_row_deleted": _code_row_deleted,
    "extra_title_rows": _extra_title_rows,
    "hidden_rows": _hidden_rows,
    "hidden_columns": _hidden_columns,
    "sheet_names_loose": _sheet_names_loose,
    "no_diacritics": _no_diacritics,
}


def apply_quirk(path_in: Path | str, path_out: Path | str, name: str) -> Path:
    """Read a workbook, apply one quirk, write the result (tests: one tiny workbook per quirk)."""
    wb = load_workbook(path_in)
    QUIRKS[name](wb)
    return save_workbook(wb, path_out)
