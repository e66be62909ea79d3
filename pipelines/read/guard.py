"""What a workbook may be before any parser sees it (FORM.md R18: corrupt, encrypted, not a
workbook, too large): `guard` reads the file once, a chunk at a time, and refuses a zip or
XML bomb, an encrypted file, or a sheet whose cells reach past the limits, with a Vietnamese
message (`UnreadableWorkbook`, finding R18). python-calamine must never be handed such a
sheet: a failed allocation in its Rust code aborts the whole process (XFD1048576 in an
.xlsx, column 65.536 in an .xls), which no `except` can catch. The corpus of such files and
their tests: `tests/data/bad/`, `tests/test_hostile.py`. Legacy (OLE) files: `pipelines/read/ole.py`.
"""
from __future__ import annotations

import html
import logging
import posixpath
import re
import struct
import zipfile
import zlib
from itertools import repeat
from pathlib import Path
from typing import Callable

from pipelines.base.text import vn_flexible, vn_number
from pipelines.read.limits import (MAX_CELLS, MAX_COLUMNS, UnreadableWorkbook, over_limits,
                                   shown, too_large)

log = logging.getLogger(__name__)

# What the guard allows beyond the extent limits of `limits.py`.
MAX_MEMBERS = 2_000  # parts in a workbook's zip (a real one has 20 to a few hundred)
MAX_RATIO = 200  # how many times one part may grow when unpacked (real parts: 2 to 50)...
RATIO_FLOOR = 1 << 20  # ...once it unpacks to more than this (small parts vary more)
MAX_RUN = 8 << 20  # bytes of a worksheet's XML between two `<` (a cell's text is 32.767
#                    characters at most in Excel)
_CHUNK = 1 << 20  # bytes read, or unpacked, at a time
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _is_panic(exc: BaseException) -> bool:
    """pyo3's PanicException (a Rust panic inside calamine) derives from BaseException."""
    return type(exc).__name__ == "PanicException"



# --------------------------------------------------------------------------- guard


def guard(path: Path, *, max_file_mb: float = 50.0, max_rows: int = 20_000,
          max_unpacked_mb: float = 200.0) -> str:
    """Refuse (UnreadableWorkbook) a file that no parser should be handed; else say its kind:
    `xlsx` (a zip: .xlsx, .xlsm) or `xls` (an OLE file: Excel 97-2003).

    Reads the file once, a chunk at a time: its size; for a zip, the number of parts, the
    unpacked size (declared, then actual: a part that unpacks to more than it declares is
    refused as it grows), each part's compression ratio, no DOCTYPE or ENTITY in any part
    (entity-expansion bombs; a real workbook has none) and each worksheet's real extent
    from the addresses of its rows and cells (`SheetScan`); for an OLE file, encryption and
    each sheet's extent from its cell records (`pipelines.read.ole.guard_ole`).
    """
    size = path.stat().st_size
    if size == 0:
        raise UnreadableWorkbook("tệp rỗng (0 byte)")
    if size > max_file_mb * 1024 * 1024:
        raise UnreadableWorkbook(f"tệp quá lớn ({vn_flexible(size / 1048576, 1)} MB, giới hạn "
                                 f"{vn_flexible(max_file_mb, 1)} MB)")
    with path.open("rb") as f:
        found = kind_of(f.read(8))
        if found == "xlsx":
            _guard_zip(f, size, max_rows, int(max_unpacked_mb * 1024 * 1024))
        elif found == "xls":
            from pipelines.read.ole import guard_ole

            guard_ole(f, size, max_rows)
        else:
            raise UnreadableWorkbook("không phải tệp bảng tính Excel (.xlsx, .xlsm, .xls)")
    return found


def kind_of(magic: bytes) -> str:
    """`xlsx`, `xls` or "" from a file's first 8 bytes: its kind, not its safety (a
    file whose content already passed `guard` is known by its kind alone)."""
    if magic.startswith(b"PK"):
        return "xlsx"
    return "xls" if magic == _OLE else ""


_BAD_ZIP = "tệp nén hỏng, không phải bảng tính Excel hợp lệ"


def _zip_counts(f, size: int) -> tuple[int, int]:
    """(parts, bytes of the central directory) as the zip's end record declares them."""
    tail_len = min(size, 22 + 0xFFFF)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        raise UnreadableWorkbook(_BAD_ZIP)
    entries, cd_size = struct.unpack_from("<HL", tail, at + 10)
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF:  # zip64: the counts are in another record
        entries = cd_size = 1 << 62
        if at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":
            (offset,) = struct.unpack_from("<Q", tail, at - 12)
            f.seek(offset)
            record = f.read(56)
            if len(record) == 56 and record[:4] == b"PK\x06\x06":
                entries, cd_size = struct.unpack_from("<QQ", record, 32)
    return entries, cd_size


def _guard_zip(f, size: int, max_rows: int, max_unpacked: int) -> None:
    entries, cd_size = _zip_counts(f, size)
    if entries > MAX_MEMBERS or cd_size > MAX_MEMBERS * 1024:
        raise UnreadableWorkbook(f"tệp nén có quá nhiều thành phần (giới hạn "
                                 f"{vn_number(MAX_MEMBERS)}; nghi tệp độc hại)")
    try:
        with zipfile.ZipFile(f) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            struct.error, NotImplementedError) as exc:
        raise UnreadableWorkbook(_BAD_ZIP) from exc
    if len(infos) > MAX_MEMBERS:
        raise UnreadableWorkbook(f"tệp nén có quá nhiều thành phần ({vn_number(len(infos))}; "
                                 f"giới hạn {vn_number(MAX_MEMBERS)}; nghi tệp độc hại)")
    declared = sum(i.file_size for i in infos)
    if declared > max_unpacked:
        raise UnreadableWorkbook(
            f"tệp giải nén ra quá lớn ({vn_flexible(declared / 1048576, 1)} MB, giới hạn "
            f"{vn_flexible(max_unpacked / 1048576, 1)} MB; nghi tệp độc hại)")
    sheets = _sheet_parts(f, infos)

    def what(info: zipfile.ZipInfo) -> str:
        return sheets.get(info.filename) or f"phần '{shown(info.filename)}'"

    for info in infos:
        if info.flag_bits & 0x1:
            raise UnreadableWorkbook("tệp được đặt mật khẩu (mã hóa)")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UnreadableWorkbook(f"{what(info)} được nén theo cách Excel không dùng")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UnreadableWorkbook(
                f"{what(info)} có tỉ lệ nén bất thường (giải nén ra lớn gấp "
                f"{vn_number(info.file_size / max(info.compress_size, 1))} lần; giới hạn "
                f"{vn_number(MAX_RATIO)} lần; nghi tệp độc hại)")
    try:
        for info in infos:
            scan = SheetScan(info.filename, max_rows, sheets)
            for chunk in _unpack(f, info, what):
                scan.feed(chunk)
            scan.close()
    except (zlib.error, OSError, struct.error) as exc:  # a damaged packed stream
        raise UnreadableWorkbook(_BAD_ZIP) from exc


def _unpack(f, info: zipfile.ZipInfo, what: Callable[[zipfile.ZipInfo], str] | None = None):
    """A zip part's bytes, a chunk at a time, unpacked here (not by zipfile): a part must
    unpack to exactly the size and CRC its directory entry declares, and is refused as soon
    as it grows past that size (calamine's own unzip would go on)."""
    f.seek(info.header_offset)
    head = f.read(30)
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise UnreadableWorkbook(_BAD_ZIP)
    method, = struct.unpack_from("<H", head, 8)
    name_len, extra_len = struct.unpack_from("<HH", head, 26)
    if method != info.compress_type:
        raise UnreadableWorkbook(_BAD_ZIP)
    f.seek(info.header_offset + 30 + name_len + extra_len)
    inflate = zlib.decompressobj(-15) if method == zipfile.ZIP_DEFLATED else None
    left, out, crc = info.compress_size, 0, 0
    while inflate is None or not inflate.eof:
        if inflate is not None and inflate.unconsumed_tail:
            data = inflate.decompress(inflate.unconsumed_tail, _CHUNK)
        elif left > 0:
            raw = f.read(min(_CHUNK, left))
            if not raw:
                raise UnreadableWorkbook(_BAD_ZIP)
            left -= len(raw)
            data = raw if inflate is None else inflate.decompress(raw, _CHUNK)
        elif inflate is not None:  # output still pending inside zlib
            data = inflate.decompress(b"", _CHUNK)
            if not data:
                break
        else:
            break
        out += len(data)
        if out > info.file_size:
            part = what(info) if what else f"phần '{shown(info.filename)}'"
            raise UnreadableWorkbook(f"{part} giải nén ra lớn hơn kích thước khai báo (tệp "
                                     "hỏng hoặc độc hại)")
        if data:
            crc = zlib.crc32(data, crc)
            yield data
    if (inflate is not None and not inflate.eof) or out != info.file_size or crc != info.CRC:
        raise UnreadableWorkbook(_BAD_ZIP)


_SHEET = re.compile(rb"<(?:[^\s<>/:!?=\"']+:)?sheet\s[^>]*>")
_REL = re.compile(rb"<(?:[^\s<>/:!?=\"']+:)?Relationship\s[^>]*>")
_ATTR = re.compile(rb"(?:^|\s)(?:[^\s=:<>]+:)?(name|id|Id|Target)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def _attrs(tag: bytes) -> dict[bytes, str]:
    return {m.group(1): html.unescape((m.group(2) if m.group(2) is not None else m.group(3))
                                      .decode("utf-8", "replace")) for m in _ATTR.finditer(tag)}


def _sheet_parts(f, infos: list[zipfile.ZipInfo]) -> dict[str, str]:
    """Best effort, for messages only: zip part -> `trang 'name'`, from the workbook's sheet
    list and its relationships (`xl/workbook.xml`, `xl/_rels/workbook.xml.rels`). Every part
    is scanned whatever this finds."""
    by_name = {i.filename: i for i in infos}
    book, rels = by_name.get("xl/workbook.xml"), by_name.get("xl/_rels/workbook.xml.rels")
    if book is None or rels is None or book.file_size > (4 << 20) or rels.file_size > (4 << 20):
        return {}
    try:
        book_xml = b"".join(_unpack(f, book))
        rels_xml = b"".join(_unpack(f, rels))
    except (UnreadableWorkbook, zlib.error, OSError, struct.error):
        return {}  # the scan that follows says what is wrong
    targets = {}
    for m in _REL.finditer(rels_xml):
        a = _attrs(m.group(0))
        target = a.get(b"Target", "")
        target = target[1:] if target.startswith("/") else "xl/" + target
        targets[a.get(b"Id")] = posixpath.normpath(target)
    out = {}
    for m in _SHEET.finditer(book_xml):
        a = _attrs(m.group(0))
        part = targets.get(a.get(b"id"))
        if part and b"name" in a:
            out[part] = f"trang '{shown(a[b'name'])}'"
    return out


# A worksheet's rows and cells: `<row r="12" …>`, `<c r="H12" …>` (with or without a
# namespace prefix, attributes in any order, `r` left out for the next position).
_P = rb"<(?:[^\s<>/:!?=\"']+:)?"  # `<` and a namespace prefix
_SHEET_DATA = re.compile(_P + rb"sheetData(?=[\s/>])")
_SHEET_DATA_NAME = re.compile(rb"sheetData[\s>]")
_END_TAG = re.compile(rb"</(?:[^\s<>/:!?=\"']+:)?")
_TAG_START = re.compile(_P + rb"(c|row)(?=[\s/>])")
_TAG = re.compile(_P + rb"(c|row)((?:\s+[^\s=<>/\"']+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>")
_NS = rb"(?:(?!xmlns:)[^\s=:<>\"']+:)?"  # an attribute's prefix (`xmlns:r` declares one)
_R = re.compile(rb"(?:^|\s)" + _NS + rb"r\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
# The usual tags, `<row r="12" …>` and `<c r="H12" …>`: no prefix, `r` first, in double quotes
_FAST_ROW = re.compile(rb"<row r=\"(\d{1,11})\"")
_FAST_C = re.compile(rb"<c r=\"([A-Z]{1,3})(\d{1,11})\"")
# anything else that could be a row, a cell or its `r` (each pattern starts with a literal:
# one alternation of them all would cost 20 times as much): a prefixed tag, a tag name
# followed by another space, an `r` with spaces around its `=` (or in single quotes)
_UNUSUAL = (re.compile(rb":(?:c|row)[\s/>]"), re.compile(rb"<(?:c|row)[\t\r\n/>]"),
            re.compile(rb"r\s+=|r=\s"))
_CELL_REF = re.compile(rb"([A-Za-z]+)(\d+)")
_DOCTYPE = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_UTF16 = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")
_BIG = 1 << 40  # a row or column number too long to be one


def _column_number(letters: bytes) -> int:
    if len(letters) > 7:
        return _BIG
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def _number(digits: bytes) -> int:
    return int(digits) if len(digits) < 12 else _BIG


def _sheet_data_end(seg: bytes) -> int | None:
    """Where `</sheetData>` (with or without a prefix) starts in `seg`, if it does."""
    for m in _SHEET_DATA_NAME.finditer(seg):
        at = seg.rfind(b"<", 0, m.start())
        if at >= 0 and _END_TAG.fullmatch(seg, at, m.start()):
            return at
    return None


class SheetScan:
    """The extent of one zip part read as a worksheet, fed a chunk at a time: the largest
    row and column of its cells that hold something (a `<c>` that is not empty, `<c …/>`),
    as calamine places them (a row or cell without `r` takes the next position, a cell's
    own `r` wins over its row's). Refuses the part as soon as it passes the limits, so a
    million-row sheet costs the unpacking of its first rows only. Every part of the zip
    goes through it (a worksheet may be any part the workbook's relationships name); only
    what follows a `<sheetData` counts, as calamine reads only that. Also refuses any
    DOCTYPE or ENTITY declaration, and an XML part in UTF-16 (unseen by the patterns here).

    The usual segment, where every row and cell carries one `r` in capitals, is bounded
    with a few regex passes (empty cells counted too: an upper bound); only when that
    bound passes a limit, or a tag lacks `r`, is it walked tag by tag."""

    def __init__(self, part: str, max_rows: int, sheets: dict[str, str] | None = None):
        self.part, self.max_rows, self.sheets = part, max_rows, sheets or {}
        self.tail = b""
        self.started = not part.lower().endswith((".xml", ".rels", ".vml"))  # for UTF-16
        self.active = False  # inside the worksheet's data
        self.done = False  # past its end (calamine reads the first `<sheetData>` only)
        self.plain = True  # no comment, CDATA or processing instruction in it so far
        self.row = self.col = 0  # the current position (1-based; 0: none yet)
        self.rows = self.cols = 0  # the extent so far
        self.tags = 0  # row and cell tags so far (the same address may come again and again)

    @property
    def what(self) -> str:
        return self.sheets.get(self.part) or f"phần '{shown(self.part)}'"

    def feed(self, chunk: bytes) -> None:
        if not self.started:
            self.started = True
            if chunk.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(_UTF16):
                raise UnreadableWorkbook(f"{self.what} được lưu dạng UTF-16, không đọc được")
        buf = self.tail + chunk if self.tail else chunk
        cut = buf.rfind(b"<")
        if cut < 0:  # text only
            self.tail = b""
            return
        if cut == 0 and len(buf) > MAX_RUN:
            raise UnreadableWorkbook(f"{self.what} có nội dung bất thường (một thẻ hoặc "
                                     "đoạn chữ quá dài)")
        self.tail = buf[cut:]
        if cut:
            self._segment(buf[:cut])

    def close(self) -> None:
        if self.tail:
            self._segment(self.tail)
            self.tail = b""

    def _segment(self, seg: bytes) -> None:
        odd = b"<!" in seg or b"<?" in seg  # a declaration, comment, CDATA or instruction
        if odd and _DOCTYPE.search(seg):
            raise UnreadableWorkbook(f"{self.what} có khai báo DOCTYPE/ENTITY (tệp Excel thật "
                                     "không có; nghi tệp độc hại)")
        if self.done:
            return
        if not self.active:
            m = _SHEET_DATA.search(seg)
            if m is None:
                return
            self.active, seg = True, seg[m.start():]
        # Stop at the end of the data, unless something there could hide a false end.
        self.plain = self.plain and b"<!" not in seg and b"<?" not in seg
        if self.plain:
            end = _sheet_data_end(seg)
            if end is not None:
                self.done, seg = True, seg[:end]
        if not self._bounded(seg):
            self._walk(seg)
        if self.tags > MAX_CELLS + self.max_rows:  # each cell once, and each row
            raise UnreadableWorkbook(f"{self.what} có quá nhiều ô (hơn {vn_number(MAX_CELLS)} "
                                     "ô; nghi tệp độc hại)")
        if over_limits(self.rows, self.cols, self.max_rows):
            raise too_large(self.what, self.rows, self.cols, self.max_rows)

    def _bounded(self, seg: bytes) -> bool:
        """The fast path: every row and cell tag is written the usual way, its `r` first and
        once (cells' in capitals), and the largest row and column numbers found (empty
        cells included) are within the limits. Then they are the extent so far (an upper
        bound) and the position."""
        n_cells, n_rows = seg.count(b"<c "), seg.count(b"<row ")
        if not n_cells and not n_rows and not _TAG_START.search(seg):
            return True
        if b"r='" in seg or any(p.search(seg) for p in _UNUSUAL):
            return False
        rows, cells = _FAST_ROW.findall(seg), _FAST_C.findall(seg)
        # each row and cell tag matched, and no other `r="` (calamine takes a tag's last `r`)
        if (len(rows) != n_rows or len(cells) != n_cells
                or seg.count(b'r="') != n_rows + n_cells):
            return False
        top_row = max(map(int, rows), default=0)
        top_col = 0
        if cells:
            letters, digits = zip(*cells)
            top_row = max(top_row, max(map(int, digits)))
            top_col = _column_number(max(map(bytes.rjust, letters, repeat(3))).lstrip())
        rows_, cols_ = max(self.rows, top_row), max(self.cols, top_col)
        if over_limits(rows_, cols_, self.max_rows):
            return False
        self.rows, self.cols = rows_, cols_
        self.row, self.col = top_row, top_col
        self.tags += n_rows + n_cells
        return True

    def _walk(self, seg: bytes) -> None:
        """The exact way: tag by tag, positions as calamine takes them."""
        tags = _TAG.findall(seg)
        if len(tags) != len(_TAG_START.findall(seg)):
            raise UnreadableWorkbook(f"{self.what} có thẻ dòng hoặc ô sai cú pháp")
        self.tags += len(tags)
        row, col, rows, cols = self.row, self.col, self.rows, self.cols
        for name, attrs, empty in tags:
            refs = [a or b for a, b in _R.findall(attrs)] if b"r" in attrs else ()
            if name == b"row":
                col = 0
                if refs:
                    for value in refs:
                        if not value.isdigit():
                            raise UnreadableWorkbook(f"{self.what} có số dòng không hợp lệ "
                                                     f"('{shown(value.decode('latin-1'), 20)}')")
                    row = max(map(_number, refs))
                else:
                    row += 1
                continue
            if refs:
                row_here, col = 0, 0
                for value in refs:
                    m = _CELL_REF.fullmatch(value)
                    if m is None:
                        raise UnreadableWorkbook(f"{self.what} có địa chỉ ô không hợp lệ "
                                                 f"('{shown(value.decode('latin-1'), 20)}')")
                    col = max(col, _column_number(m.group(1)))
                    row_here = max(row_here, _number(m.group(2)))
            else:
                row_here, col = max(row, 1), col + 1
            if not empty:
                rows, cols = max(rows, row_here), max(cols, col)
                if over_limits(rows, cols, self.max_rows):
                    break
        self.row, self.col, self.rows, self.cols = row, col, rows, cols


