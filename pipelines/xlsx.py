"""Small openpyxl helpers shared by every workbook the pipeline writes."""
from __future__ import annotations

from openpyxl.cell.cell import Cell


def set_text(cell: Cell, value: object) -> Cell:
    """Write `value` as a text cell, never as a formula.

    openpyxl turns any string starting with `=` into a formula; text that came
    from a submission (`=HYPERLINK(...)`, `+1`, `@cmd`) must stay inert.
    """
    cell.value = None if value is None else str(value)
    if cell.value is not None:
        cell.data_type = "s"
    return cell
