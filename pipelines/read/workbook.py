"""Reading a district workbook: the cover sheet and the content sheets' tables.

Reading is tolerant of what real offices do (FORM.md 1.2): rows inserted above the
header, reordered or hidden columns, a deleted code row, sheet names typed in
another case or without the number prefix. Every value keeps the address of the
cell it came from, as it is in the file, so every finding can name it.
"""
from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from pipelines.base.cells import column_letter
from pipelines.read.guard import (
    _CHUNK,
    UnreadableWorkbook,
    _is_panic,
    guard,
    over_limits,
    shown,
    too_large,
)
from pipelines.base.text import vn_flexible
from schemas.names import ascii_fold, fold
from schemas.catalogue import Catalogue, Indicator, Sheet

COVER_NAME = "Thông tin"
COVER_LABELS = {  # field -> label in column A
    "district_code": "Mã đơn vị",
    "district_name": "Tên đơn vị",
    "period": "Kỳ báo cáo",
    "preparer": "Người lập biểu",
    "phone": "Điện thoại",
    "made_on": "Ngày lập",
    "form_version": "Phiên bản biểu mẫu",
}
HEADER_SCAN_ROWS = 60
ID_COLUMNS = {"stt": ("stt", "tt", "số tt", "số thứ tự"),
              "ma_dv": ("mã đv", "mã đơn vị", "mã", "mã số"),
              "ten_dv": ("tên đơn vị", "tên", "đơn vị", "tên xã, phường, thị trấn")}
TOTAL_LABELS = ("tổng cộng", "tổng", "cộng", "tổng số", "toàn huyện", "toàn quận")
STOP_PREFIXES = ("ghi chú", "người lập", "thủ trưởng", "ghi chu")
_TOTAL_KEYS = {fold(x) for x in TOTAL_LABELS}
_STOP_KEYS = tuple(fold(x) for x in STOP_PREFIXES)


@lru_cache(maxsize=1 << 16)
def address(row: int, col: int) -> str:
    """0-based row and column -> `H12`."""
    return f"{column_letter(col + 1)}{row + 1}"


def sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# --------------------------------------------------------------------------- workbook


log = logging.getLogger(__name__)

@dataclass
class Workbook:
    path: Path
    sheet_names: list[str]
    _book: object = field(repr=False, default=None)
    max_rows: int = 20_000
    _grids: dict[str, list[list]] = field(default_factory=dict, repr=False)
    sha256: str = ""  # of the content read (the private copy), not of the file as it is now

    def grid(self, name: str) -> list[list]:
        """The sheet's cells from A1, row by row (calamine values; '' for empty)."""
        if name not in self._grids:
            try:
                sheet = self._book.get_sheet_by_name(name)
                rows, cols = (sheet.end[0] + 1, sheet.end[1] + 1) if sheet.end else (0, 0)
                if over_limits(rows, cols, self.max_rows):  # `guard` refuses these first
                    raise too_large(f"trang '{shown(name)}'", rows, cols, self.max_rows)
                self._grids[name] = sheet.to_python(skip_empty_area=False)
            except UnreadableWorkbook:
                raise
            except BaseException as exc:  # calamine raises several error types
                if not isinstance(exc, Exception) and not _is_panic(exc):
                    raise
                log.info("calamine could not read sheet %r of %s: %s", name, self.path, exc)
                raise UnreadableWorkbook(f"không đọc được trang '{shown(name)}' (nội dung hỏng "
                                         "hoặc không đúng định dạng Excel)") from exc
        return self._grids[name]


def open_workbook(path: Path, *, max_file_mb: float = 50.0, max_rows: int = 20_000,
                  max_unpacked_mb: float = 200.0) -> Workbook:
    """Open a workbook with python-calamine, refusing what cannot or should not be read.

    The file is copied to a private folder first, and `guard` reads the copy: calamine is
    never handed a file that would make it allocate past the limits (a failed Rust
    allocation aborts the whole process; it is no exception that could be caught), nor
    one changed after it was checked. The copy is named `workbook.xlsx` for a zip and
    `workbook.xls` for an OLE file: calamine picks its reader by the extension (and tries
    every reader when it knows none), so no other reader (xlsb, ods) parses what `guard`
    checked, and the name the file came with does not matter (FORM.md 1)."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="thongke-read-", ignore_cleanup_errors=True) as tmp:
        copy, sha256 = private_copy(path, Path(tmp) / "workbook", max_file_mb)
        try:
            book = _open_checked(copy, path, max_file_mb, max_rows, max_unpacked_mb)
        except UnreadableWorkbook as exc:
            exc.sha256 = sha256
            raise
        names = list(book.sheet_names)
    return Workbook(path=path, sheet_names=names, _book=book, max_rows=max_rows, sha256=sha256)


def _open_checked(copy: Path, path: Path, max_file_mb: float, max_rows: int,
                  max_unpacked_mb: float):
    """The private copy, guarded, then opened by calamine under the name of its kind."""
    from python_calamine import CalamineWorkbook

    kind = guard(copy, max_file_mb=max_file_mb, max_rows=max_rows,
                 max_unpacked_mb=max_unpacked_mb)
    copy = copy.rename(copy.with_suffix(".xlsx" if kind == "xlsx" else ".xls"))
    try:  # calamine keeps the file open: its sheets are read later, from the open file
        book = CalamineWorkbook.from_path(str(copy))
        book.sheet_names  # noqa: B018  (a broken file fails here, not later)
        return book
    except BaseException as exc:  # calamine raises several error types
        if not isinstance(exc, Exception) and not _is_panic(exc):
            raise
        log.info("calamine could not open %s: %s", path, exc)
        if type(exc).__name__ == "PasswordError":
            raise UnreadableWorkbook("tệp được đặt mật khẩu (mã hóa)") from exc
        raise UnreadableWorkbook("không mở được bảng tính (tệp hỏng hoặc không đúng định "
                                 "dạng Excel)") from exc


def private_copy(path: Path, to: Path, max_file_mb: float) -> tuple[Path, str]:
    """`path` copied to `to`, refused past `max_file_mb` (read no further than that); the
    copy and the sha256 of what was copied (the content every later step reads)."""
    limit = int(max_file_mb * 1024 * 1024)
    digest = hashlib.sha256()
    with path.open("rb") as src, to.open("wb") as out:
        copied = 0
        while chunk := src.read(min(_CHUNK, limit + 1 - copied)):
            out.write(chunk)
            digest.update(chunk)
            copied += len(chunk)
            if copied > limit:
                size = max(path.stat().st_size, copied)
                raise UnreadableWorkbook(f"tệp quá lớn ({vn_flexible(size / 1048576, 1)} MB, "
                                         f"giới hạn {vn_flexible(max_file_mb, 1)} MB)")
    return to, digest.hexdigest()


# --------------------------------------------------------------------------- sheet names

# `4. `, `4) `, `Biểu 4 - ` before a sheet's name (on `fold` keys: `biêu4`, or `bieu`)
_NUMBER_PREFIX = re.compile(r"^\s*(?:bi[eê]u[1-5]?\s*)?\d+\s*[.)\-:]?\s*", re.IGNORECASE)


def _name_keys(name: str) -> tuple[str, str]:
    bare = _NUMBER_PREFIX.sub("", fold(name))
    return bare, ascii_fold(bare)


def match_sheets(names: list[str], catalogue: Catalogue) -> tuple[str | None, dict[str, str]]:
    """Find the cover and each content sheet among the file's sheet names.

    Returns (cover sheet name or None, {sheet key: sheet name in the file}).
    """
    keys = {n: _name_keys(n) for n in names}
    taken: set[str] = set()

    def find(name: str) -> str | None:
        """`name` without its number: folded match first, then without diacritics."""
        want = _name_keys(name)
        for exact in (True, False):
            for n in names:
                if n in taken:
                    continue
                if keys[n][0] == want[0] or (not exact and keys[n][1] == want[1]):
                    taken.add(n)
                    return n
        return None

    cover = find(COVER_NAME)
    found = {}
    for sheet in catalogue.sheets:
        n = find(sheet.name)
        if n is not None:
            found[sheet.key] = n
    return cover, found


# --------------------------------------------------------------------------- cover


@dataclass
class CoverField:
    value: object
    cell: str


@dataclass
class Cover:
    sheet: str
    fields: dict[str, CoverField]

    def get(self, key: str) -> object:
        f = self.fields.get(key)
        return None if f is None or f.value in ("", None) else f.value

    def cell(self, key: str) -> str:
        f = self.fields.get(key)
        return f.cell if f else ""


_LABEL_KEYS = {fold(v): k for k, v in COVER_LABELS.items()}
_LABEL_KEYS.update({ascii_fold(v): k for k, v in COVER_LABELS.items()})


def read_cover(grid: list[list], sheet_name: str) -> Cover:
    fields: dict[str, CoverField] = {}
    for r, row in enumerate(grid[:200]):
        if not row:
            continue
        label = str(row[0]).strip().rstrip(":").strip() if row[0] not in ("", None) else ""
        key = _LABEL_KEYS.get(fold(label)) or _LABEL_KEYS.get(ascii_fold(label))
        if key and key not in fields:
            fields[key] = CoverField(row[1] if len(row) > 1 else "", address(r, 1))
    return Cover(sheet=sheet_name, fields=fields)


def parse_made_on(value: object) -> date | None:
    """`Ngày lập`: an Excel date, or text `dd/mm/yyyy`."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\s*", value)
        if m:
            try:
                return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            except ValueError:
                return None
    return None


# --------------------------------------------------------------------------- tables


@dataclass
class DataRow:
    row: int  # 0-based row in the file
    code: object
    code_cell: str
    name: object
    name_cell: str
    cells: dict[str, tuple[object, str]]  # indicator code -> (raw value, address)


@dataclass
class Table:
    sheet: str
    header_row: int | None
    code_row: int | None
    columns: dict[str, int]  # indicator code or id column -> 0-based column
    missing: list[str]  # indicator codes with no column
    rows: list[DataRow]
    total: DataRow | None


def _is_blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


@lru_cache(maxsize=1024)
def _label_keys(ind: Indicator) -> frozenset[str]:
    labels = [ind.label, re.sub(r"\s*\(.*\)\s*$", "", ind.label), *ind.aliases]
    return frozenset({fold(x) for x in labels} | {ascii_fold(x) for x in labels})


def _cell_key(v: object) -> tuple[str, str]:
    text = str(v).strip() if not _is_blank(v) else ""
    bare = re.sub(r"\s*\(.*\)\s*$", "", text)
    return fold(bare), ascii_fold(bare)


def _find_code_row(grid, sheet: Sheet) -> int | None:
    codes = {c.lower() for c in sheet.codes}
    for r, row in enumerate(grid[:HEADER_SCAN_ROWS]):
        vals = {str(v).strip().lower() for v in row if isinstance(v, str)}
        if "ma_dv" in vals and ("ten_dv" in vals or vals & codes):
            return r
    return None


@lru_cache(maxsize=1)
def _id_keys() -> tuple[tuple[str, frozenset[str], frozenset[str]], ...]:
    return tuple((name, frozenset(fold(x) for x in labels), frozenset(ascii_fold(x) for x in labels))
                 for name, labels in ID_COLUMNS.items())


def _id_column(key: tuple[str, str]) -> str | None:
    for name, folded, plain in _id_keys():
        if key[0] in folded or key[1] in plain:
            return name
    return None


@lru_cache(maxsize=64)
def _sheet_labels(sheet: Sheet) -> frozenset[str]:
    return frozenset().union(*(_label_keys(i) for i in sheet.indicators))


def _find_header_row(grid, sheet: Sheet, before: int | None) -> int | None:
    rows = range(before - 1, max(before - 3, -1), -1) if before is not None else range(
        min(len(grid), HEADER_SCAN_ROWS))
    labels = _sheet_labels(sheet)
    for r in rows:
        keys = [_cell_key(v) for v in grid[r] if not _is_blank(v)]
        ids = {_id_column(k) for k in keys} - {None}
        hits = len(ids) + sum(k[0] in labels or k[1] in labels for k in keys)
        if ids & {"ma_dv", "ten_dv"} and hits >= 2:
            return r
    return None


def read_table(grid: list[list], sheet: Sheet, sheet_name: str) -> Table:
    code_row = _find_code_row(grid, sheet)
    header_row = _find_header_row(grid, sheet, code_row)
    columns: dict[str, int] = {}
    if code_row is not None:
        wanted = {c.lower(): c for c in [*sheet.codes, "stt", "ma_dv", "ten_dv"]}
        for c, v in enumerate(grid[code_row]):
            if isinstance(v, str) and v.strip().lower() in wanted:
                columns.setdefault(wanted[v.strip().lower()], c)
    if header_row is not None:
        label_index = {ind.code: _label_keys(ind) for ind in sheet.indicators}
        for c, v in enumerate(grid[header_row]):
            key = _cell_key(v)
            if not key[0]:
                continue
            id_col = _id_column(key)
            if id_col and id_col not in columns:
                columns[id_col] = c
                continue
            for code, keys in label_index.items():
                if code not in columns and (key[0] in keys or key[1] in keys):
                    if c not in columns.values():
                        columns[code] = c
                    break
    start = max(r for r in (code_row, header_row, -1) if r is not None) + 1
    if code_row is None and header_row is None:
        start = len(grid)  # no table found
    missing = [c for c in sheet.codes if c not in columns]
    rows: list[DataRow] = []
    total: DataRow | None = None
    while start < len(grid) and _is_numbering_row(grid[start]):
        start += 1
    data_columns = _data_columns(columns, sheet)
    for r in range(start, len(grid)):
        row = grid[r]
        texts = [fold(v) for v in row if isinstance(v, str) and v.strip()]
        if any(t.startswith(p) for t in texts for p in _STOP_KEYS):
            break
        rec = _data_row(row, r, columns, data_columns)
        if any(t.rstrip(": ") in _TOTAL_KEYS for t in texts):
            total = rec
            break
        if _is_blank(rec.code) and _is_blank(rec.name) and all(
                _is_blank(v) for v, _ in rec.cells.values()):
            continue
        rows.append(rec)
    return Table(sheet=sheet_name, header_row=header_row, code_row=code_row, columns=columns,
                 missing=missing, rows=rows, total=total)


_NUMBERING = re.compile(r"^\(?([A-Za-z]|\d{1,3})\)?$")


def _is_numbering_row(row: list) -> bool:
    """A row of column numbers under the header (`A B C 1 2 3…` or `(1) (2) (3)…`), as many
    Vietnamese forms carry: not a unit row. Its numbers rise one by one."""
    cells = [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()
             for v in row if not _is_blank(v)]
    if len(cells) < 3 or not all(_NUMBERING.match(c) for c in cells):
        return False
    numbers = [int(c.strip("()")) for c in cells if c.strip("()").isdigit()]
    return len(numbers) >= 2 and all(b == a + 1 for a, b in zip(numbers, numbers[1:]))


def _data_columns(columns: dict[str, int], sheet: Sheet) -> list[tuple[str, int]]:
    """(indicator code, 0-based column) of the indicators found, in the form's order."""
    return [(code, columns[code]) for code in sheet.codes if code in columns]


def _data_row(row: list, r: int, columns: dict[str, int], data_columns: list[tuple[str, int]]
              ) -> DataRow:
    def at(c: int | None) -> object:
        return row[c] if c is not None and c < len(row) else None

    code_c, name_c = columns.get("ma_dv"), columns.get("ten_dv")
    width = len(row)
    cells = {code: (row[c] if c < width else None, address(r, c))
             for code, c in data_columns}
    return DataRow(row=r, code=at(code_c), code_cell=address(r, code_c) if code_c is not None else "",
                   name=at(name_c), name_cell=address(r, name_c) if name_c is not None else "",
                   cells=cells)
