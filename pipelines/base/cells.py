"""A1-style cell addresses, on the path of every check.

openpyxl has the same functions (`openpyxl.utils.cell`), but importing any part of it loads
the whole package (about 0.2 s, PIL included), a fifth of the one-second budget of
`thongke check`; these few lines are tested against openpyxl's (tests/test_cells.py).
"""
from __future__ import annotations

import re
from functools import lru_cache

_ADDRESS = re.compile(r"^\$?([A-Z]{1,3})\$?([1-9][0-9]*)$")


@lru_cache(maxsize=4096)
def column_letter(index: int) -> str:
    """1 -> `A`, 27 -> `AA`, 16384 -> `XFD`."""
    if not 1 <= index <= 18278:
        raise ValueError(f"column index out of range: {index}")
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@lru_cache(maxsize=4096)
def column_index(letters: str) -> int:
    """`A` -> 1, `AA` -> 27."""
    index = 0
    for ch in letters.upper():
        if not "A" <= ch <= "Z":
            raise ValueError(f"not a column: {letters!r}")
        index = index * 26 + ord(ch) - 64
    return index


def split_address(address: str) -> tuple[str, int]:
    """`H12` -> (`H`, 12)."""
    m = _ADDRESS.match(address.upper())
    if not m:
        raise ValueError(f"not a cell address: {address!r}")
    return m.group(1), int(m.group(2))


def address_to_tuple(address: str) -> tuple[int, int]:
    """`H12` -> (12, 8): row, then column, both from 1."""
    letters, row = split_address(address)
    return row, column_index(letters)
