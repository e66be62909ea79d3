"""Real workbooks for tests: clean, rule-abiding values for any district and period,
written through the project's own form writer, then changed cell by cell."""
from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl

from pipelines.forms.form import CODE_ROW, FIRST_DATA_ROW, write_form
from schemas.catalogue import load_catalogue
from schemas.periods import Period, parse_period
from schemas.units import load_registry


def clean_values(district: str, period: str | Period, seed: int = 0) -> dict:
    """Deterministic values that pass every rule: {sheet key: {unit code: {code: value}}}."""
    cat, reg = load_catalogue(), load_registry()
    p = parse_period(period)
    values: dict = {}
    for i, unit in enumerate(reg.units(district, p)):
        k = i + seed
        gn01 = 2000 + 37 * k
        gn02 = 40 + k
        gn03, gn04, gn05 = 10 + k % 5, k % 3, 2 + k % 4
        gn06 = gn02 - gn03 + gn04 + gn05
        row = {
            "TT": dict(TT01=3 + k % 4, TT02=150 + k, TT03=gn01 - 100, TT04=gn01 - 300, TT05=8 + k % 5,
                       TT06=6 + k % 3),
            "NL": dict(NL01=120.5 + k, NL02=300.25, NL03=55 + k, NL04=400 + k),
            "AS": dict(AS01=1 + k % 2, AS02=1, AS03=60.0 * (2 + k % 2), AS04=10 + k, AS05=30 + k),
            "GN": dict(GN01=gn01, GN02=gn02, GN03=gn03, GN04=gn04, GN05=gn05, GN06=gn06,
                       GN07=2 * gn06 + 5),
            "NTM": {**{f"NTM{n:02d}": (1 if n <= 12 + k % 8 else 0) for n in range(1, 20)},
                    "NTM20": None},
            "VM": dict(VM01=12 + k % 6, VM02=9 + k % 3, VM03=k % 2, VM04=(2015 if k % 2 else None)),
            "MH": dict(MH01=2 + k % 3, MH02=1, MH03=20 + k, MH04=3 + k % 2),
            "GS": dict(GS01=4 + k % 3, GS02=2, GS03=6 + k % 4, GS04=5, GS05=100 + k, GS06=90 + k),
        }
        if all(row["NTM"][f"NTM{n:02d}"] == 1 for n in range(1, 20)):
            row["NTM"]["NTM20"] = p.year - 1
        for sheet in cat.sheets:
            if sheet.holds(unit.type):
                values.setdefault(sheet.key, {})[unit.code] = row[sheet.key]
    for sheet in cat.sheets:
        values.setdefault(sheet.key, {})
    return values


def write_clean(path: Path, district: str = "315", period: str = "2017-H1", *, values=None,
                **kw) -> Path:
    write_form(path, district, parse_period(period),
               values=values if values is not None else clean_values(district, period), **kw)
    return path


def edit(path: Path, out: Path | None = None, **cells) -> Path:
    """Copy `path` to `out` (or edit in place) setting cells: edit(p, sheet__A1=value).

    Keys are `<sheet name>!<cell>` passed through a dict: edit(p, **{"4. Giảm nghèo!I7": 5}).
    """
    out = out or path
    if out != path:
        shutil.copy(path, out)
    wb = openpyxl.load_workbook(out)
    for key, value in cells.items():
        sheet, cell = key.rsplit("!", 1)
        wb[sheet][cell].value = value
    wb.save(out)
    return out


def unit_row(district: str, period: str, sheet_key: str, unit_code: str) -> int:
    """The 1-based row of a unit in a freshly written form."""
    cat, reg = load_catalogue(), load_registry()
    sheet = cat.sheet(sheet_key)
    units = [u for u in reg.units(district, parse_period(period)) if sheet.holds(u.type)]
    return FIRST_DATA_ROW + [u.code for u in units].index(unit_code)


def column_of(sheet_key: str, code: str) -> str:
    """The column letter of an indicator in a freshly written form."""
    from openpyxl.utils import get_column_letter

    sheet = load_catalogue().sheet(sheet_key)
    return get_column_letter(4 + sheet.codes.index(code))


__all__ = ["clean_values", "write_clean", "edit", "unit_row", "column_of", "CODE_ROW"]


# --------------------------------------------------------------------------- raw workbooks

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


def sheet_xml(rows: str, dimension: str | None = None) -> str:
    """A worksheet's XML around `rows` (`<row …>…</row>` as given), with a `<dimension>`."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{_MAIN_NS}">{dim}<sheetData>{rows}</sheetData></worksheet>')


def minimal_xlsx(path: Path, sheet: str | bytes, *, name: str = "Trang 1") -> Path:
    """A workbook of one sheet whose worksheet XML is `sheet`, byte for byte (no openpyxl):
    for what openpyxl would not write (odd addresses, prefixes, raw values)."""
    import zipfile

    types = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
             'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
             '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
             'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
             'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
             'spreadsheetml.worksheet+xml"/></Types>')
    rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
            f'xmlns="{_PKG_REL}"><Relationship Id="rId1" Type="{_REL_NS}/officeDocument" '
            f'Target="xl/workbook.xml"/></Relationships>')
    book = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook '
            f'xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><sheets><sheet name="{name}" sheetId="1" '
            f'r:id="rId1"/></sheets></workbook>')
    book_rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
                 f'xmlns="{_PKG_REL}"><Relationship Id="rId1" Type="{_REL_NS}/worksheet" '
                 f'Target="worksheets/sheet1.xml"/></Relationships>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for part, body in (("[Content_Types].xml", types), ("_rels/.rels", rels),
                           ("xl/workbook.xml", book), ("xl/_rels/workbook.xml.rels", book_rels),
                           ("xl/worksheets/sheet1.xml", sheet)):
            z.writestr(zipfile.ZipInfo(part, date_time=(2018, 1, 8, 8, 0, 0)),
                       body if isinstance(body, bytes) else body.encode())
    return path
