"""The guard for OLE compound files (`pipelines/read/guard.py` calls it): a password-protected
.xlsx (an `EncryptedPackage` stream inside) is refused; a legacy Excel 97-2003 workbook gets
the same extent limits as an .xlsx from its BIFF cell records, before calamine reads it."""
from __future__ import annotations

import struct

from pipelines.read.limits import UnreadableWorkbook, over_limits, shown, too_large


def guard_ole(f, size: int, max_rows: int) -> None:
    """An OLE compound file: a password-protected .xlsx (an `EncryptedPackage` inside), or a
    legacy workbook (a `Workbook` or `Book` stream of BIFF records; read whatever its name:
    people rename files), whose sheets' extents come from their cell records."""
    try:
        streams = _ole_streams(f, size)
    except (struct.error, ValueError, IndexError, KeyError, OverflowError) as exc:
        raise UnreadableWorkbook("tệp dạng OLE (Excel 97-2003 hoặc tệp đặt mật khẩu) bị hỏng, "
                                 "không đọc được") from exc
    if "encryptedpackage" in streams or "encryptioninfo" in streams:
        raise UnreadableWorkbook("tệp được đặt mật khẩu (mã hóa)")
    stream = streams.get("workbook") or streams.get("book")
    if stream is None:
        raise UnreadableWorkbook("tệp dạng OLE nhưng không phải bảng tính Excel (có thể là "
                                 "tệp Word hoặc PowerPoint)")
    try:
        data = stream()
    except (struct.error, ValueError, IndexError, KeyError, OverflowError) as exc:
        raise UnreadableWorkbook("tệp Excel 97-2003 (.xls) bị hỏng, không đọc được") from exc
    _biff_extent(data, max_rows)


_FREE, _END = 0xFFFFFFFF, 0xFFFFFFFE
_MAX_STREAM = 64 << 20


def _ole_streams(f, size: int) -> dict:
    """The streams of an OLE compound file's root storage: lower-case name -> a function
    that reads it (FAT and mini-FAT chains followed with loop and bounds checks)."""
    f.seek(0)
    header = f.read(512)
    if len(header) < 512:
        raise ValueError("short header")
    sector_shift, mini_shift = struct.unpack_from("<HH", header, 30)
    if sector_shift not in (9, 12) or mini_shift != 6:
        raise ValueError("sector size")
    sector = 1 << sector_shift
    n_fat, dir_start = struct.unpack_from("<LL", header, 44)
    mini_cutoff, minifat_start, n_minifat, difat_start, n_difat = struct.unpack_from(
        "<5L", header, 56)
    n_sectors = (size - 512 + sector - 1) // sector  # the sectors the file holds
    if n_fat > n_sectors or n_difat > n_sectors:
        raise ValueError("counts")

    def read_sector(i: int) -> bytes:
        if not 0 <= i < n_sectors:
            raise ValueError("sector out of the file")
        f.seek(512 + i * sector)
        return f.read(sector)

    fat_sectors = list(struct.unpack_from("<109L", header, 76))
    next_difat, seen = difat_start, 0
    while next_difat not in (_FREE, _END) and seen <= n_difat:
        block = struct.unpack(f"<{sector // 4}L", read_sector(next_difat).ljust(sector, b"\0"))
        fat_sectors += block[:-1]
        next_difat, seen = block[-1], seen + 1
    fat_sectors = [s for s in fat_sectors if s not in (_FREE, _END)][:n_fat]
    fat = b"".join(read_sector(s).ljust(sector, b"\0") for s in fat_sectors)
    fat_entries = struct.unpack(f"<{len(fat) // 4}L", fat)

    def chain(start: int, table, limit: int) -> list[int]:
        out, at = [], start
        while at not in (_FREE, _END):
            if at >= len(table) or len(out) > limit:
                raise ValueError("broken chain")
            out.append(at)
            at = table[at]
        return out

    def read_chain(start: int, length: int) -> bytes:
        if length > _MAX_STREAM:
            raise ValueError("stream too long")
        blocks = chain(start, fat_entries, length // sector + 1)
        return b"".join(read_sector(s) for s in blocks)[:length]

    directory = b"".join(read_sector(s) for s in chain(dir_start, fat_entries, n_sectors))
    entries = []
    for at in range(0, len(directory) - 127, 128):
        raw = directory[at:at + 128]
        name_len, kind = struct.unpack_from("<HB", raw, 64)
        start, length = struct.unpack_from("<LQ", raw, 116)
        if sector == 512:
            length &= 0xFFFFFFFF  # version 3 files: the high half is undefined
        name = raw[:max(name_len - 2, 0)].decode("utf-16-le", "replace")
        entries.append((name, kind, start, length))
    if not entries or entries[0][1] != 5:
        raise ValueError("no root entry")
    root_start, root_length = entries[0][2], entries[0][3]

    def reader(start: int, length: int):
        def read() -> bytes:
            if length >= mini_cutoff:
                return read_chain(start, length)
            mini_stream = read_chain(root_start, root_length)
            minifat = read_chain(minifat_start, n_minifat * sector)
            table = struct.unpack(f"<{len(minifat) // 4}L", minifat)
            blocks = chain(start, table, length // 64 + 1)
            return b"".join(mini_stream[b * 64:(b + 1) * 64] for b in blocks)[:length]
        return read

    return {name.lower(): reader(start, length) for name, kind, start, length in entries[1:]
            if kind == 2}


# BIFF cell records: (row, column) at the start; MULRK/MULBLANK end with their last column.
_BIFF_CELLS = {0x0006, 0x0406, 0x00D6, 0x00FD, 0x0201, 0x0203, 0x0204, 0x0205, 0x027E}
_BIFF_MULTI = {0x00BD, 0x00BE}
_BIFF_BOF, _BIFF_SHEET = 0x0809, 0x0085


def _biff_extent(data: bytes, max_rows: int) -> None:
    """Each sheet's extent in a legacy workbook's BIFF stream, from its cell records."""
    names: list[str] = []  # BOUNDSHEET records, in order: the sheets' names
    sheet, pos, rows, cols = -2, 0, 0, 0  # the first BOF opens the globals, not a sheet
    end = len(data)

    def check() -> None:
        if over_limits(rows, cols, max_rows):
            what = (f"trang '{shown(names[sheet])}'" if 0 <= sheet < len(names)
                    else "một trang của tệp .xls")
            raise too_large(what, rows, cols, max_rows)

    while pos + 4 <= end:
        kind, length = struct.unpack_from("<HH", data, pos)
        body = data[pos + 4:pos + 4 + length]
        pos += 4 + length
        if kind == _BIFF_BOF:
            check()
            sheet, rows, cols = sheet + 1, 0, 0
        elif kind == _BIFF_SHEET and len(body) >= 8:
            n, flags = body[6], body[7]
            raw = body[8:8 + (2 * n if flags & 1 else n)]
            names.append(raw.decode("utf-16-le" if flags & 1 else "latin-1", "replace"))
        elif kind in _BIFF_CELLS and len(body) >= 4:
            r, c = struct.unpack_from("<HH", body, 0)
            if kind != 0x0201:  # BLANK: formatting only
                rows, cols = max(rows, r + 1), max(cols, c + 1)
        elif kind in _BIFF_MULTI and len(body) >= 6:
            r, first = struct.unpack_from("<HH", body, 0)
            (last,) = struct.unpack_from("<H", body, len(body) - 2)
            if kind == 0x00BD:
                rows, cols = max(rows, r + 1), max(cols, first + 1, last + 1)
    check()


