"""What a workbook may be at most (FORM.md R18: "too large"), and the error of a file that
cannot be read as one. The guard (`guard.py`, `ole.py`) checks these before any parser sees
the file, so a hostile or broken file costs one finding, in bounded time and memory."""
from __future__ import annotations

from pipelines.base.text import vn_number
from pipelines.settings import Limits  # noqa: F401  (the reader's limits, set there)


MAX_COLUMNS = 2_000
MAX_CELLS = 2_000_000  # cells of one sheet counted from A1 (rows x columns): the reader builds
#                        every one of them (20.000 rows x 100 columns)


class UnreadableWorkbook(Exception):
    """The file cannot be read as a workbook (rule R18); the message is Vietnamese.

    `sha256`: of the content refused, when it was read whole before it was refused
    (`open_workbook` sets it), so that a refused file is not read again to be hashed."""

    sha256: str = ""


def too_large(what: str, rows: int, cols: int, max_rows: int) -> "UnreadableWorkbook":
    return UnreadableWorkbook(
        f"{what} quá lớn ({vn_number(rows)} dòng × {vn_number(cols)} cột; giới hạn "
        f"{vn_number(max_rows)} dòng, {vn_number(MAX_COLUMNS)} cột và "
        f"{vn_number(MAX_CELLS)} ô một trang)")


def over_limits(rows: int, cols: int, max_rows: int) -> bool:
    return rows > max_rows or cols > MAX_COLUMNS or rows * cols > MAX_CELLS


def shown(text: object, limit: int = 60) -> str:
    """Text from a file, safe to quote in a message: no control characters, shortened."""
    clean = "".join(ch if ch.isprintable() else " " for ch in str(text)[:limit + 1])
    return clean if len(clean) <= limit else clean[:limit] + "…"
