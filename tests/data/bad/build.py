"""Build the hostile-file corpus (issue 7, "Nothing lost, nothing broken in"): files that are
broken, disguised, or made to hurt the reader, each with the one outcome FORM.md asks for.
Run from the project root:

    .venv/bin/python tests/data/bad/build.py

It rewrites the small files of this folder and the table at the end of `README.md`; the
output is deterministic (fixed dates, zip timestamps and, for the encrypted workbook, a
seeded random source), so a rebuild gives byte-identical files.

The large or dangerous files are never committed: `generate(folder)` writes them, and the
tests call it into a temporary folder. One of them (`calamine_killer_xfd1048576.xlsx`)
makes python-calamine 0.9.1 abort the whole Python process (a Rust allocation failure of
about 512 GB, no exception) if it ever reaches calamine: only `pipelines.read.guard.guard`
stands in between. Open it with nothing else.

The encrypted workbook is a genuine one (ECMA-376 agile encryption, password `thongke`),
made with msoffcrypto-tool, which is no dependency of the project: to rebuild it, run this
script with msoffcrypto-tool importable, e.g.

    python3 -m venv /tmp/crypt && /tmp/crypt/bin/pip install msoffcrypto-tool
    PYTHONPATH=/tmp/crypt/lib/python3.11/site-packages .venv/bin/python tests/data/bad/build.py

Without it the committed file is kept as it is.
"""
from __future__ import annotations

import copy
import datetime as dt
import io
import random
import re
import shutil
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[2]
for _p in (str(PROJECT), str(PROJECT / "tests")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from builders import clean_values, column_of, unit_row  # noqa: E402
from pipelines.forms.form import build_form  # noqa: E402

PERIOD = "2017"
MADE_ON = dt.date(2018, 1, 8)
ZIP_TIME = (2018, 1, 8, 8, 0, 0)
STAMP = "2018-01-08T08:00:00Z"
PASSWORD = "thongke"
LEGACY = PROJECT / "tests" / "data" / "legacy_bach_long_vi_2017.xls"
# zip part of each sheet in a workbook written by pipelines.forms.form (the cover first)
PART = {"cover": "xl/worksheets/sheet1.xml", "TT": "xl/worksheets/sheet2.xml",
        "NL": "xl/worksheets/sheet3.xml", "AS": "xl/worksheets/sheet4.xml",
        "GN": "xl/worksheets/sheet5.xml", "NTM": "xl/worksheets/sheet6.xml",
        "VM": "xl/worksheets/sheet7.xml", "MH": "xl/worksheets/sheet8.xml",
        "GS": "xl/worksheets/sheet9.xml"}
SHEET = {"TT": "1. Tuyên truyền", "NL": "2. Nguồn lực", "GN": "4. Giảm nghèo",
         "VM": "6. Đô thị văn minh", "GS": "8. Giám sát", "MH": "7. Mô hình"}
COVER = "Thông tin"
# A district name made of everything a path or a shell must not take from a file:
# parent folders, both slashes, a drive, NUL and other control characters (written as the
# `_x0000_` escapes Excel itself uses, which readers turn back into the characters), a
# right-to-left override, markup, wildcards.
HOSTILE_NAME = ("../../../../tmp/thongke_pwned/..\\..\\C:\\Windows\\system32\\_x0000_%00"
                "\u2400/_x0001__x001f_\u202e<script>x</script>|*?:\"'`$(id)\n../")


@dataclass
class Case:
    file: str
    what: str  # what the file is (English)
    status: str  # the submission's status: accepted, partial, rejected
    findings: tuple[tuple[str, str, str], ...]  # (rule, sheet, cell), each exactly once
    why: str  # why that is the right outcome
    make: Callable[[Path], None]
    message: str = ""  # words the R18 message holds: which guard refused the file
    generated: bool = False  # large or dangerous: written by `generate`, not committed


R18 = (("R18", "", ""),)


# --------------------------------------------------------------------------- helpers


def normalised(data: bytes) -> bytes:
    """A workbook's zip with fixed timestamps (a rebuild gives the same bytes)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*",
                              rb"\g<1>" + STAMP.encode(), body)
            item = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            item.compress_type = zipfile.ZIP_DEFLATED
            item.external_attr = 0o644 << 16
            z.writestr(item, body)
    return out.getvalue()


def workbook(district: str, values: dict | None = None, cover: dict | None = None,
             book: Callable | None = None) -> bytes:
    """A form of `district` for 2017 with clean values (or `values`), as normalised bytes;
    `book` changes the openpyxl workbook before it is saved."""
    wb = build_form(district, PERIOD, values=values if values is not None else
                    clean_values(district, PERIOD),
                    cover={"Người lập biểu": "Nguyễn Văn An", "Điện thoại": "0225 3123 456",
                           "Ngày lập": MADE_ON, **(cover or {})})
    if book is not None:
        book(wb)
    wb.properties.creator = "thongke tests/data/bad/build.py"
    buf = io.BytesIO()
    wb.save(buf)
    return normalised(buf.getvalue())


def edit_parts(data: bytes, edits: dict[str, Callable[[bytes], bytes]]) -> bytes:
    """The workbook with some parts' XML rewritten (`edits`: part -> bytes -> bytes)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename in edits:
                body = edits[info.filename](body)
            item = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            item.compress_type = zipfile.ZIP_DEFLATED
            item.external_attr = 0o644 << 16
            z.writestr(item, body)
    return out.getvalue()


def replace_once(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def change(body: bytes) -> bytes:
        assert body.count(old) == 1, (old, body.count(old))
        return body.replace(old, new)
    return change


def chain(*changes: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    def change(body: bytes) -> bytes:
        for c in changes:
            body = c(body)
        return body
    return change


def units(district: str, key: str) -> list[str]:
    return list(clean_values(district, PERIOD)[key])


def at(district: str, key: str, unit: str, code: str) -> str:
    return f"{column_of(key, code)}{unit_row(district, PERIOD, key, unit)}"


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


# --------------------------------------------------------------------------- small files


def make_random_bytes(path: Path) -> None:
    data = random.Random(7).randbytes(4096)
    assert not data.startswith((b"PK", b"\xd0\xcf\x11\xe0"))
    write(path, data)


def make_truncated(path: Path) -> None:
    data = workbook("306")
    write(path, data[:len(data) * 3 // 5])


def make_encrypted(path: Path) -> None:
    """Genuine ECMA-376 agile encryption (what Excel's "Encrypt with Password" writes)."""
    try:
        import msoffcrypto.method.container.ecma376_encrypted as container
        import msoffcrypto.method.ecma376_agile as agile
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:
        if path.exists():
            print(f"msoffcrypto-tool not importable: {path.name} kept as committed")
            return
        raise SystemExit("msoffcrypto-tool is needed to build the encrypted workbook "
                         "(see this script's docstring)")

    class _Fixed(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2018, 1, 8, 8, 0, 0)

    seeded = random.Random(2017)
    agile._random_buffer = seeded.randbytes  # deterministic salts and keys
    container.datetime = _Fixed
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(workbook("306"))).encrypt(PASSWORD, out)
    write(path, out.getvalue())


def make_legacy(path: Path) -> None:
    write(path, LEGACY.read_bytes())


def make_csv(path: Path) -> None:
    text = ("Mã đơn vị;Tên đơn vị;Kỳ báo cáo\n306;Quận Hải An;2017\n"
            "STT;Mã ĐV;Tên đơn vị;Tổng số hộ dân cư\n1;11440;Phường Đông Hải 1;5.234\n")
    write(path, text.encode("utf-8-sig"))


def make_empty(path: Path) -> None:
    write(path, b"")


LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else
                                                     b"&lol;") * 10) for i in range(1, 10))
          + b"]>")


def make_billion_laughs(path: Path) -> None:
    """The entity-expansion bomb in the XML of sheet 4 (a cell reads `&lol9;`: 10^9 `lol`)."""
    unit = units("308", "GN")[0]
    cell = at("308", "GN", unit, "GN01").encode()
    expand = chain(
        replace_once(b"<worksheet", LAUGHS + b"<worksheet"),
        lambda body: re.sub(rb'<c r="' + cell + rb'"[^>]*>.*?</c>',
                            b'<c r="' + cell + b'" t="inlineStr"><is><t>&lol9;</t></is></c>',
                            body, count=1))
    write(path, edit_parts(workbook("308"), {PART["GN"]: expand}))


SENTINELS = {"NaN": 987654301, "inf": 987654302, "-inf": 987654303, "1e999": 987654304}


def _nan_cells() -> list[tuple[str, str, str, str]]:
    """(sheet key, unit, indicator, raw text of the <v>): non-finite numbers of sheet 4."""
    gn = units("303", "GN")
    return [("GN", gn[0], "GN01", "NaN"), ("GN", gn[1], "GN07", "inf"),
            ("GN", gn[2], "GN02", "-inf"), ("GN", gn[3], "GN03", "1e999")]


def make_nan_inf(path: Path) -> None:
    """NaN, inf, -inf and 1e999 (an overflow: inf) as the cached numbers of int cells; openpyxl
    writes them as empty cells, so the XML is written here."""
    values = copy.deepcopy(clean_values("303", PERIOD))
    for key, unit, code, raw in _nan_cells():
        values[key][unit][code] = SENTINELS[raw]
    edits = chain(*(replace_once(b"<v>%d</v>" % SENTINELS[raw], b"<v>%s</v>" % raw.encode())
                    for _, _, _, raw in _nan_cells()))
    write(path, edit_parts(workbook("303", values), {PART["GN"]: edits}))


def _dates_booleans() -> list[tuple[str, str, str, object, bool]]:
    """(sheet key, unit, indicator, value, is a finding): 304 is a quận (phường only)."""
    tt, nl, vm = units("304", "TT"), units("304", "NL"), units("304", "VM")
    vm_on = [u for u in vm if clean_values("304", PERIOD)["VM"][u]["VM03"] == 1][0]
    return [("TT", tt[0], "TT01", dt.datetime(2017, 6, 30), True),  # a date in an int column
            ("TT", tt[1], "TT02", True, True),  # TRUE in an int column
            ("NL", nl[0], "NL01", False, True),  # FALSE in a money column
            ("NL", nl[1], "NL04", dt.time(8, 30), True),  # a time of day in an int column
            ("VM", vm_on, "VM03", True, False)]  # TRUE in a flag column: 1, no finding


def make_dates_booleans(path: Path) -> None:
    """Each typed as Excel stores it: a date or a time is a number with a date or time
    format (the form's `#,##0` would show it as a plain number, and it would be one)."""
    values = copy.deepcopy(clean_values("304", PERIOD))
    for key, unit, code, value, _ in _dates_booleans():
        values[key][unit][code] = value

    def formats(wb) -> None:
        for key, unit, code, value, _ in _dates_booleans():
            if isinstance(value, (dt.date, dt.time)):
                cell = wb[SHEET[key]][at("304", key, unit, code)]
                cell.number_format = "hh:mm" if isinstance(value, dt.time) else "DD/MM/YYYY"
    write(path, workbook("304", values, book=formats))


LONG = ("Số liệu đang tổng hợp, sẽ gửi sau " * 3000)[:100_000]


def make_long_text(path: Path) -> None:
    """A 100.000-character text in an int cell (the message must stay readable)."""
    values = copy.deepcopy(clean_values("305", PERIOD))
    values["MH"][units("305", "MH")[0]]["MH01"] = LONG
    write(path, workbook("305", values))


def make_long_period(path: Path) -> None:
    """A 100.000-character `Kỳ báo cáo`: the R05 message quotes it, shortened."""
    write(path, workbook("309", cover={"Kỳ báo cáo": LONG}))


def _hostile_cover(code) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        marker = "TEN-DON-VI-THAY-THE"
        data = workbook("307", cover={"Tên đơn vị": marker, "Mã đơn vị": code})
        name = (HOSTILE_NAME.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                .replace('"', "&quot;"))
        write(path, edit_parts(data, {PART["cover"]: replace_once(marker.encode(),
                                                                 name.encode())}))
    return make


# --------------------------------------------------------------------------- large files

# The first part of a worksheet's XML, and its end (the rows go between).
SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def _replace_part(data: bytes, part: str, body: bytes) -> bytes:
    return edit_parts(data, {part: lambda _: body})


def make_killer(path: Path) -> None:
    """Sheet 8 declares A1:XFD1048576 and holds a value in XFD1048576: calamine would build
    1.048.576 x 16.384 cells from A1 (about 512 GB) and abort the process."""
    body = (SHEET_HEAD + b'<dimension ref="A1:XFD1048576"/><sheetData>'
            b'<row r="1"><c r="A1" t="inlineStr"><is><t>STT</t></is></c></row>'
            b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>')
    write(path, _replace_part(workbook("308"), PART["GS"], body))


def make_area(path: Path) -> None:
    """Within the row and column limits, not within the cells: A1 and BXX20000 (2.000
    columns x 20.000 rows: 40 million cells, 1,3 GB in calamine)."""
    body = (SHEET_HEAD + b'<sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
            b'<row r="20000"><c r="BXX20000"><v>1</v></c></row></sheetData></worksheet>')
    write(path, _replace_part(workbook("308"), PART["GS"], body))


def make_million_rows(path: Path) -> None:
    """Sheet 8 with 1.000.000 filled rows (a 45 MB part, 2 MB packed), streamed."""
    src = zipfile.ZipFile(io.BytesIO(workbook("308")))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for info in src.infolist():
            if info.filename != PART["GS"]:
                z.writestr(info.filename, src.read(info.filename))
                continue
            with z.open(PART["GS"], "w", force_zip64=True) as out:
                out.write(SHEET_HEAD + b"<sheetData>")
                for start in range(1, 1_000_001, 10_000):
                    out.write(b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (r, r, r)
                                       for r in range(start, start + 10_000)))
                out.write(b"</sheetData></worksheet>")


def _zip(path: Path, parts: list[tuple[str, int, int, int, list[bytes] | bytes, int]]) -> None:
    """A zip written by hand: (name, crc, packed size, unpacked size, deflated bytes (a list
    of pieces is written one by one), unpacked size declared). Sizes are what the caller
    says, true or not."""
    with path.open("wb") as f:
        central = []
        for name, crc, packed, _, data, declared in parts:
            offset = f.tell()
            raw = name.encode()
            head = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0x4000, 0x4C28, crc, packed,
                               declared, len(raw), 0)
            f.write(head + raw)
            for piece in (data if isinstance(data, list) else [data]):
                f.write(piece)
            central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0x4000, 0x4C28,
                                       crc, packed, declared, len(raw), 0, 0, 0, 0, 0o644 << 16,
                                       offset) + raw)
        start = f.tell()
        for entry in central:
            f.write(entry)
        f.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central),
                            f.tell() - start, start, 0))


def _deflated(data: bytes) -> tuple[int, int, int, bytes]:
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = co.compress(data) + co.flush()
    return zlib.crc32(data), len(packed), len(data), packed


def _spaces(megabytes: int) -> tuple[int, int, int, list[bytes]]:
    """A worksheet of `megabytes` MB of spaces between its tags, deflated without ever
    holding it: each MB packs to the same 1 KB after a full flush."""
    block = b" " * (1 << 20)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = SHEET_HEAD + b"<sheetData>"
    tail = b"</sheetData></worksheet>"
    first = co.compress(head) + co.flush(zlib.Z_FULL_FLUSH)
    middle = co.compress(block) + co.flush(zlib.Z_FULL_FLUSH)
    last = co.compress(tail) + co.flush()
    crc = zlib.crc32(head)
    for _ in range(megabytes):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    pieces = [first] + [middle] * megabytes + [last]
    return crc, sum(map(len, pieces)), len(head) + len(tail) + megabytes * len(block), pieces


def _with_sheet(sheet: tuple, declared: int | None = None) -> list[tuple]:
    """The parts of a clean 308 workbook, sheet 8 replaced by `sheet` (crc, packed, size,
    data): unpacked size declared as `declared` (default: the truth)."""
    src = zipfile.ZipFile(io.BytesIO(workbook("308")))
    parts = []
    for info in src.infolist():
        if info.filename == PART["GS"]:
            crc, packed, size, data = sheet
            parts.append((info.filename, crc, packed, size, data,
                          size if declared is None else declared))
        else:
            crc, packed, size, data = _deflated(src.read(info.filename))
            parts.append((info.filename, crc, packed, size, data, size))
    return parts


def make_zip_bomb(path: Path) -> None:
    """2 GB of spaces in sheet 8, in a 2 MB file: every size declared truly."""
    _zip(path, _with_sheet(_spaces(2048)))


def make_ratio_bomb(path: Path) -> None:
    """150 MB of spaces in sheet 8 (under the 200 MB unpacked limit, about 1.000 times its
    packed size)."""
    _zip(path, _with_sheet(_spaces(150)))


def make_lying_bomb(path: Path) -> None:
    """Sheet 8 declares 2 KB unpacked (and packed 100 KB: no suspicious ratio) but unpacks to
    100 MB: a reader trusting the directory would be fooled."""
    _zip(path, _with_sheet(_spaces(100), declared=2048))


def make_many_parts(path: Path) -> None:
    """A workbook with 5.000 extra parts (empty images)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        src = zipfile.ZipFile(io.BytesIO(workbook("308")))
        for info in src.infolist():
            z.writestr(info.filename, src.read(info.filename))
        for i in range(5000):
            z.writestr(zipfile.ZipInfo(f"xl/media/image{i}.png", date_time=ZIP_TIME), b"")


def _legacy_cell(row: int, col: int) -> Callable[[Path], None]:
    """The legacy .xls with its first RK cell (on the cover) moved to (row, col), 0-based."""
    def make(path: Path) -> None:
        data = bytearray(LEGACY.read_bytes())
        at = data.find(b"\x7e\x02\x0a\x00")  # RK record, 10 bytes: row, column, ...
        assert at > 0
        struct.pack_into("<HH", data, at + 4, row, col)
        write(path, bytes(data))
    return make


# --------------------------------------------------------------------------- the cases


def cases() -> list[Case]:
    nan = tuple(("R01", SHEET[k], at("303", k, u, c)) for k, u, c, _ in _nan_cells())
    typed = tuple(("R01", SHEET[k], at("304", k, u, c)) for k, u, c, _, bad in _dates_booleans()
                  if bad)
    long_cell = ("R01", SHEET["MH"], at("305", "MH", units("305", "MH")[0], "MH01"))
    return [
        Case("random_bytes.xlsx", "4 KB of random bytes named .xlsx", "rejected", R18,
             "not a zip nor an OLE file: no reader can take it", make_random_bytes,
             "không phải tệp bảng tính"),
        Case("truncated_zip.xlsx", "the first 60 % of a good workbook (its zip directory lost)",
             "rejected", R18, "a broken zip: nothing of it can be trusted", make_truncated,
             "tệp nén hỏng"),
        Case("encrypted_password.xlsx",
             f"a good workbook encrypted by Excel's 'Encrypt with Password' (ECMA-376 agile, "
             f"password `{PASSWORD}`, made with msoffcrypto-tool): an OLE file holding "
             "EncryptionInfo and EncryptedPackage", "rejected", R18,
             "the office cannot know the password; the district must send it unprotected",
             make_encrypted, "mật khẩu"),
        Case("legacy_bach_long_vi_2017.xls",
             "a real legacy Excel 97-2003 workbook (BIFF8, written by xlwt): Bạch Long Vĩ, "
             "2017, clean values (a copy of tests/data/legacy_bach_long_vi_2017.xls)",
             "accepted", (),
             "FORM.md 1: legacy .xls is read where the reader supports it, and calamine "
             "does; its sheets' extents are checked from its cell records first",
             make_legacy),
        Case("csv_renamed.xlsx", "a CSV export (UTF-8, `;`) renamed .xlsx", "rejected", R18,
             "text is no workbook: the district must send the .xlsx form", make_csv,
             "không phải tệp bảng tính"),
        Case("empty.xlsx", "an empty file (0 bytes)", "rejected", R18,
             "nothing to read", make_empty, "rỗng"),
        Case("billion_laughs.xlsx",
             "a good workbook whose sheet 4 XML declares nested entities (`&lol9;`: 10^9 "
             "`lol`, 3 GB) and uses one in a cell", "rejected", R18,
             "no real workbook has a DOCTYPE; it is refused before any XML parser sees it",
             make_billion_laughs, "DOCTYPE"),
        Case("numbers_nan_inf.xlsx",
             "NaN, inf, -inf and 1e999 as the cached numbers of four int cells of sheet 4 "
             "(raw sheet XML)", "partial", nan,
             "R01 on each cell (not a finite number); sheet 4 rejected, the others "
             "accepted; no NaN or inf is ever recorded as a value", make_nan_inf),
        Case("numbers_dates_booleans.xlsx",
             "a date and TRUE in int columns, FALSE in a money column, a time of day in an "
             "int column, TRUE in a flag column", "partial", typed,
             "R01 on each but the flag (TRUE is 1 in a flag column only; docs/decisions.md)",
             make_dates_booleans),
        Case("long_text_100k.xlsx", "a 100.000-character text in an int cell (MH01)",
             "partial", (long_cell,),
             "R01 on the cell; the finding's value is shortened to 200 characters and its "
             "message does not quote it", make_long_text),
        Case("long_text_in_period.xlsx", "a 100.000-character `Kỳ báo cáo` on the cover",
             "rejected", (("R05", COVER, "B3"),),
             "R05 (no period can be read); the message quotes the text shortened",
             make_long_period),
        Case("cover_path_chars_no_code.xlsx",
             "cover: `Mã đơn vị` blank, `Tên đơn vị` full of path and control characters "
             "(`../../`, `..\\`, `C:\\`, `_x0000_` NUL, `%00`, RTL override, markup)",
             "rejected", (("R05", COVER, "B1"),),
             "R05 (no district is named); the file's feedback goes to `khong_xac_dinh/`; no "
             "path is made from cover text", _hostile_cover(None)),
        Case("cover_path_chars_with_code.xlsx",
             "the same district name, with `Mã đơn vị` 307 (Quận Kiến An)", "accepted", (),
             "the code names the district (FORM.md 1.1); every output path comes from the "
             "registry, never from the cover", _hostile_cover("307")),
        # generated (large or dangerous)
        Case("calamine_killer_xfd1048576.xlsx",
             "sheet 8 declares `A1:XFD1048576` and holds a value in XFD1048576",
             "rejected", R18,
             "python-calamine 0.9.1 would build 17 billion cells and abort the process; the "
             "guard reads the cells' addresses first", make_killer, "quá lớn", True),
        Case("area_2000_cols_20000_rows.xlsx",
             "sheet 8 holds A1 and BXX20000: within the row and column limits",
             "rejected", R18,
             "40 million cells (1,3 GB in calamine): over the 2.000.000-cell limit of a "
             "sheet", make_area, "quá lớn", True),
        Case("million_rows.xlsx", "sheet 8 with 1.000.000 filled rows (45 MB unpacked)",
             "rejected", R18,
             "over the row limit (THONGKE_MAX_ROWS, 20.000); the guard stops unpacking at "
             "row 20.001", make_million_rows, "quá lớn", True),
        Case("zip_bomb_2gb.xlsx", "2 GB of spaces in sheet 8, in a 2 MB file", "rejected", R18,
             "over the unpacked limit (THONGKE_MAX_UNPACKED_MB, 200)", make_zip_bomb,
             "giải nén ra quá lớn", True),
        Case("zip_bomb_ratio.xlsx", "150 MB of spaces in sheet 8 (about 1.000:1)", "rejected",
             R18, "under the unpacked limit, over the per-part ratio (200:1)", make_ratio_bomb,
             "tỉ lệ nén", True),
        Case("zip_bomb_lying_sizes.xlsx",
             "sheet 8 declares 2 KB unpacked but unpacks to 100 MB", "rejected", R18,
             "the guard unpacks every part itself and stops at the declared size",
             make_lying_bomb, "lớn hơn kích thước khai báo", True),
        Case("zip_many_parts.xlsx", "a good workbook plus 5.000 empty parts", "rejected", R18,
             "over 2.000 parts (a real workbook has a few hundred at most)", make_many_parts,
             "quá nhiều thành phần", True),
        Case("legacy_far_cell.xls",
             "the legacy .xls with one cover cell moved to IV65536", "rejected", R18,
             "65.536 rows: over the row limit (calamine would take 1 GB)",
             _legacy_cell(65535, 255), "quá lớn", True),
        Case("legacy_killer_column_65536.xls",
             "the legacy .xls with one cover cell moved to row 65.536, column 65.536",
             "rejected", R18,
             "calamine 0.9.1 would build 4 billion cells and abort the process; the guard "
             "reads the BIFF cell records first", _legacy_cell(65535, 65535), "quá lớn", True),
    ]


def committed() -> list[Case]:
    return [c for c in cases() if not c.generated]


def generate(folder: Path) -> list[Path]:
    """Write the large and dangerous files into `folder` (never into this one)."""
    folder = Path(folder)
    assert folder.resolve() != HERE, "the generated files are never committed"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for case in cases():
        if case.generated:
            case.make(folder / case.file)
            out.append(folder / case.file)
    return out


# --------------------------------------------------------------------------- writing

README_MARK = "<!-- generated by build.py: do not edit below -->"


def write_readme(all_cases: list[Case]) -> None:
    path = HERE / "README.md"
    head = path.read_text(encoding="utf-8").split(README_MARK)[0] if path.exists() else ""
    lines = [README_MARK, "", "| file | where | what it is | outcome | why |",
             "| --- | --- | --- | --- | --- |"]
    for c in all_cases:
        found = "<br>".join(" ".join(x for x in (r, "!".join(y for y in (s, cl) if y)) if x)
                            for r, s, cl in c.findings) or "no finding"
        where = "generated (fixture)" if c.generated else "committed"
        outcome = f"{c.status}: {found}" + (f" (“{c.message}”)" if c.message else "")
        lines.append(f"| `{c.file}` | {where} | {c.what} | {outcome} | {c.why} |")
    path.write_text(head.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    keep = {c.file for c in committed()} | {"build.py", "README.md"}
    for old in HERE.iterdir():
        if old.is_file() and old.name not in keep:
            old.unlink()
    shutil.rmtree(HERE / "__pycache__", ignore_errors=True)
    for case in committed():
        case.make(HERE / case.file)
    write_readme(cases())
    print(f"{len(committed())} committed files, {len(cases()) - len(committed())} generated "
          "by the tests")


if __name__ == "__main__":
    main()
