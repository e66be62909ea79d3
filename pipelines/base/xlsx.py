"""Small openpyxl helpers shared by every workbook the pipeline writes."""
from __future__ import annotations

from openpyxl.cell.cell import Cell

# Excel number format per indicator type (and report value kind); Excel shows them with the
# reader's locale separators, `1.234,50` on a Vietnamese machine.
NUMBER_FORMATS = {"int": "#,##0", "money": "#,##0.00", "flag": "0", "year": "0",
                  "rate": "0.00", "mean": "#,##0.00"}


def set_text(cell: Cell, value: object) -> Cell:
    """Write `value` as a text cell, never as a formula.

    openpyxl turns any string starting with `=` into a formula; text that came
    from a submission (`=HYPERLINK(...)`, `+1`, `@cmd`) must stay inert.
    """
    cell.value = None if value is None else str(value)
    if cell.value is not None:
        cell.data_type = "s"
    return cell
