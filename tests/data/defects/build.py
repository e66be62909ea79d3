"""Build the defect corpus: bad workbooks, one defect each, and the clean record they are
checked against (FORM.md sections 3-4). Run from the project root:

    .venv/bin/python tests/data/defects/build.py

It rewrites `record/`, `bad/`, `ok/`, `expected.csv` and `README.md`'s table in this folder.
The output is deterministic (fixed dates, fixed zip timestamps): rerunning it on the same
code gives byte-identical files. The files are committed; the tests do not regenerate them.

- `record/<period>/`: clean workbooks of four districts for 2017, 2018-H1 and 2018, values
  from `pipelines.forms.sample.simulate_values(district, period, seed=2017)` (consistent across
  periods: GN02 of 2018 is GN06 of 2017, H1 flows are 40-60 % of the year's).
- `bad/`: period 2018, each file its district's clean 2018 values with one defect.
- `ok/`: period 2018, legitimate variants FORM.md allows (no finding expected).
- `expected.csv`: one row per expected finding (`file, rule, sheet, cell, defect`); a file
  of `record/2018` or `ok/` with no row must give no finding at all.
"""
from __future__ import annotations

import copy
import csv
import datetime as dt
import random
import re
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[2]
sys.path[:0] = [str(PROJECT), str(PROJECT / "tests")]

import openpyxl  # noqa: E402

from builders import column_of, unit_row  # noqa: E402
from pipelines.forms.form import (CODE_COL, FIRST_DATA_ROW, NAME_COL, STT_COL, build_form,  # noqa: E402
                            relocate, save_workbook, total_row)
from pipelines.forms.sample import simulate_values  # noqa: E402
from pipelines.base.xlsx import set_text  # noqa: E402
from schemas.catalogue import load_catalogue  # noqa: E402
from schemas.periods import parse_period  # noqa: E402
from schemas.units import load_registry  # noqa: E402

SEED = 2017
PERIOD = "2018"
RECORD_PERIODS = ("2017", "2018-H1", "2018")
# 309 Dương Kinh: 6 phường; 313 An Lão: 15 xã + 2 thị trấn; 314 Kiến Thuỵ: 17 xã + 1 thị trấn
# (32 xã as peers); 318 Bạch Long Vĩ: the district is its own single unit.
DISTRICTS = {"309": "duong_kinh", "313": "an_lao", "314": "kien_thuy", "318": "bach_long_vi"}
MADE_ON = {"2017": dt.date(2018, 1, 8), "2018-H1": dt.date(2018, 7, 9), "2018": dt.date(2019, 1, 9)}
ZIP_TIME = (2019, 1, 9, 8, 0, 0)
STAMP = "2019-01-09T08:00:00Z"

CAT, REG = load_catalogue(), load_registry()
S = {s.key: s.display_name for s in CAT.sheets}  # sheet key -> name in the file
COVER = "Thông tin"


def cover(period: str, district: str) -> dict:
    return {"Người lập biểu": "Nguyễn Thị Hương", "Điện thoại": f"0225 3{district} 123",
            "Ngày lập": MADE_ON[period]}


def units(district: str, period: str = PERIOD):
    return REG.units(district, parse_period(period))


def at(district: str, key: str, unit: str, code: str) -> str:
    """Address of a unit's indicator cell in a freshly written 2018 form."""
    return f"{column_of(key, code)}{unit_row(district, PERIOD, key, unit)}"


def total_at(district: str, key: str, code: str) -> str:
    n = sum(CAT.sheet(key).holds(u.type) for u in units(district))
    return f"{column_of(key, code)}{total_row(n)}"


# --------------------------------------------------------------------------- workbook surgery


def insert_row(ws, row: int, cells: dict[int, object]) -> None:
    """Insert a row at `row` (rows from there move down one, formulas follow) and fill it."""
    relocate(ws, lambda r, c: (r + (r >= row), c))
    for col, value in cells.items():
        if isinstance(value, str):
            set_text(ws.cell(row, col), value)
        else:
            ws.cell(row, col).value = value


def row_cells(ws, row: int) -> dict[int, object]:
    return {c: ws.cell(row, c).value for c in range(1, ws.max_column + 1)}


def delete_row(ws, gone: int) -> None:
    relocate(ws, lambda r, c: None if r == gone else (r - (r > gone), c))


def delete_column(ws, gone: int) -> None:
    """Delete a column as Excel does: cells on the right move left; each total formula is
    rewritten for its new column. The sheet's input validations are dropped (cosmetic)."""
    ws.data_validations.dataValidation = []
    ws.delete_cols(gone)
    for row in ws.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.value = re.sub(r"\b[A-Z]{1,3}(?=\d)", cell.column_letter, cell.value)


def put(ws, address: str, value) -> None:
    if isinstance(value, str):
        set_text(ws[address], value)
    else:
        ws[address].value = value


def normalise_zip(path: Path) -> None:
    """Fixed timestamps inside the package, so a rebuild gives the same bytes."""
    with zipfile.ZipFile(path) as z:
        items = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in items:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*",
                              rb"\g<1>" + STAMP.encode(), data)
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            out.writestr(info, data)
    tmp.replace(path)


def save(wb, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.properties.creator = "thongke tests/data/defects/build.py"
    save_workbook(wb, path)
    normalise_zip(path)


def workbook(district: str, period: str, values: dict, cover_over: dict | None = None,
             totals: dict | None = None):
    return build_form(district, period, values=values, cover={**cover(period, district),
                                                              **(cover_over or {})},
                      totals=totals, catalogue=CAT, registry=REG)


# --------------------------------------------------------------------------- the cases


@dataclass
class Case:
    file: str  # name inside bad/ (or ok/)
    district: str
    defect: str  # short English line
    expected: list[tuple[str, str, str]]  # (rule, sheet, cell)
    values: Callable[[dict], None] | None = None  # change the clean values before writing
    book: Callable[[openpyxl.Workbook], None] | None = None  # change the built workbook
    cover: dict | None = None
    totals: Callable[[dict], dict] | None = None  # values -> totals= of write_form
    raw: Callable[[], bytes] | None = None  # the file's bytes, for files that are no workbook
    note: str = ""  # why a file has more than one expected finding, or a reading chosen


def setv(key: str, unit: str, code: str, value) -> Callable[[dict], None]:
    def change(v: dict) -> None:
        assert unit in v[key], (key, unit)
        v[key][unit][code] = value
    return change


def chain(*changes: Callable[[dict], None]) -> Callable[[dict], None]:
    def change(v: dict) -> None:
        for c in changes:
            c(v)
    return change


def cell_edit(key: str, address: str, value) -> Callable[[openpyxl.Workbook], None]:
    return lambda wb: put(wb[S[key]], address, value)


def clean_values(district: str, period: str = PERIOD) -> dict:
    return simulate_values(district, period, seed=SEED, catalogue=CAT)


# Units used below (all valid in 2017 and 2018).
DK = "309"  # Quận Dương Kinh
P_DA_PHUC, P_HUNG_DAO, P_ANH_DUNG, P_HAI_THANH, P_HOA_NGHIA, P_TAN_THANH = (
    "11683", "11686", "11689", "11692", "11707", "11740")
AL = "313"  # Huyện An Lão
TT_AN_LAO = "11629"  # Thị trấn An Lão
X_BAT_TRANG, X_TRUONG_THANH, X_AN_TIEN, X_TAN_DAN, X_CHIEN_THANG = (
    "11632", "11638", "11641", "11659", "11671")
KT = "314"  # Huyện Kiến Thuỵ
X_NGU_PHUC = "11710"
BLV = "318"


def _date_cell(key: str, address: str, day: dt.date) -> Callable[[openpyxl.Workbook], None]:
    """Book change: a real date cell (the form's number format would hide it as a number)."""
    def change(wb) -> None:
        cell = wb[S[key]][address]
        cell.value, cell.number_format = day, "DD/MM/YYYY"
    return change


def _h1(district: str, key: str, unit: str, code: str):
    return clean_values(district, "2018-H1")[key][unit][code]


def _clean_2018_bytes() -> bytes:
    return (HERE / "record" / "2018" / record_name(DK, "2018")).read_bytes()


def _other_district_unit():
    u = units("305")[0]  # a phường of Quận Lê Chân: no unit of Dương Kinh
    return u.code, u.name


def _extra_row(key: str, district: str, unit_code, unit_name, like: str):
    """Book change: a row for (unit_code, unit_name) before the total, values copied from `like`."""
    def change(wb) -> None:
        ws = wb[S[key]]
        src = unit_row(district, PERIOD, key, like)
        total = total_row(sum(CAT.sheet(key).holds(u.type) for u in units(district)))
        cells = row_cells(ws, src)
        cells[STT_COL] = total - FIRST_DATA_ROW + 1
        cells[CODE_COL], cells[NAME_COL] = unit_code, unit_name
        insert_row(ws, total, cells)
    return change


def _gn_totals(v: dict, bump: dict[str, float]) -> dict:
    """Literal totals of the GN sheet: the true sums, plus `bump` on some columns."""
    rows = v["GN"].values()
    return {"GN": {c: sum(r[c] for r in rows) + bump.get(c, 0) for c in CAT.sheet("GN").codes}}


def _r08_gn03_over_gn02(v: dict) -> None:
    """GN03 > GN02 with GN05 raised by as much, so GN06 = GN02 − GN03 + GN04 + GN05 still holds."""
    r = v["GN"][P_TAN_THANH]
    step = r["GN02"] + 1 - r["GN03"]
    r["GN03"] += step
    r["GN05"] += step


def _r08_over_total(v: dict) -> None:
    r = v["GN"][P_HAI_THANH]
    r["GN07"] = r["GN01"] - r["GN06"] + 1


def _r14_start_stock(v: dict) -> None:
    r = v["GN"][P_DA_PHUC]
    r["GN02"] += 3
    r["GN06"] += 3  # still GN06 = GN02 − GN03 + GN04 + GN05 (no R07)


def _r11_missing_criterion(v: dict) -> None:
    r = v["NTM"][X_CHIEN_THANG]
    assert r["NTM20"] and all(r[f"NTM{n:02d}"] == 1 for n in range(1, 20))
    r["NTM05"] = 0


def _r16_below_h1(district: str, key: str, unit: str, code: str) -> Callable[[dict], None]:
    def change(v: dict) -> None:
        h1 = _h1(district, key, unit, code)
        assert h1 >= 2 and v[key][unit][code] > h1
        v[key][unit][code] = h1 - 1
    return change


def _random_bytes() -> bytes:
    data = random.Random(18).randbytes(4096)
    assert not data.startswith((b"PK", b"\xd0\xcf\x11\xe0"))
    return data


def _zip_not_workbook() -> bytes:
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("bao_cao.txt", date_time=ZIP_TIME)
        z.writestr(info, "Báo cáo năm 2018 Quận Dương Kinh (bản nén, không phải Excel)\n")
    return buf.getvalue()


def cases() -> list[Case]:
    gn, tt, vm, mh, gs, nl, as_, ntm = (S[k] for k in ("GN", "TT", "VM", "MH", "GS", "NL", "AS", "NTM"))
    other_code, other_name = _other_district_unit()
    dk_units = {u.code: u for u in units(DK)}
    c: list[Case] = []
    add = c.append

    # R01: a value that does not fit its type
    add(Case("r01_text_in_int.xlsx", DK, "GN01 (int) holds text 'khoảng 2 nghìn'",
             [("R01", gn, at(DK, "GN", P_ANH_DUNG, "GN01"))],
             values=setv("GN", P_ANH_DUNG, "GN01", "khoảng 2 nghìn")))
    add(Case("r01_decimal_comma_in_int.xlsx", DK, "TT01 (int) holds the text '1,5' (one and a half)",
             [("R01", tt, at(DK, "TT", P_HAI_THANH, "TT01"))],
             values=setv("TT", P_HAI_THANH, "TT01", "1,5")))
    add(Case("r01_negative.xlsx", DK, "MH01 (int) is -3",
             [("R01", mh, at(DK, "MH", P_HOA_NGHIA, "MH01"))],
             values=setv("MH", P_HOA_NGHIA, "MH01", -3)))
    add(Case("r01_money_3_decimals.xlsx", DK, "NL01 (money) has 3 decimals: 65.955",
             [("R01", nl, at(DK, "NL", P_DA_PHUC, "NL01"))],
             values=setv("NL", P_DA_PHUC, "NL01", 65.955)))
    add(Case("r01_text_in_money.xlsx", DK, "NL02 (money) holds text 'năm trăm triệu'",
             [("R01", nl, at(DK, "NL", P_HUNG_DAO, "NL02"))],
             values=setv("NL", P_HUNG_DAO, "NL02", "năm trăm triệu")))
    add(Case("r01_ambiguous_dot_decimal.xlsx", DK,
             "NL03 (money) holds the text '12.5' (neither 1.234 grouping nor 12,5 decimal)",
             [("R01", nl, at(DK, "NL", P_TAN_THANH, "NL03"))],
             values=setv("NL", P_TAN_THANH, "NL03", "12.5"),
             note="docs/decisions.md: `12.5` is ambiguous in Vietnamese notation, an R01 error."))
    add(Case("r01_date_in_int.xlsx", DK, "GS05 (int) holds a date (31/12/2018, date format)",
             [("R01", gs, at(DK, "GS", P_ANH_DUNG, "GS05"))],
             book=_date_cell("GS", at(DK, "GS", P_ANH_DUNG, "GS05"), dt.date(2018, 12, 31))))
    add(Case("r01_boolean_in_int.xlsx", DK, "GS01 (int) holds the boolean TRUE",
             [("R01", gs, at(DK, "GS", P_HOA_NGHIA, "GS01"))],
             values=setv("GS", P_HOA_NGHIA, "GS01", True),
             note="docs/decisions.md: TRUE/FALSE is 1/0 in a flag column only, R01 elsewhere."))
    add(Case("r01_flag_2.xlsx", AL, "NTM01 (flag) is 2 for a commune not yet recognised",
             [("R01", ntm, at(AL, "NTM", X_TRUONG_THANH, "NTM01"))],
             values=setv("NTM", X_TRUONG_THANH, "NTM01", 2)))
    add(Case("r01_year_two_digits.xlsx", DK, "VM04 (year) typed as 11 instead of 2011 (VM03 = 1)",
             [("R01", vm, at(DK, "VM", P_ANH_DUNG, "VM04"))],
             values=setv("VM", P_ANH_DUNG, "VM04", 11),
             note="One bad cell, one finding: the year is wrong, not blank, so R12 "
                  "(VM03 = 1 but VM04 blank) must not fire as well."))

    # R02: a required cell is blank
    add(Case("r02_blank_stock.xlsx", DK, "GN07 (stock, required) left blank",
             [("R02", gn, at(DK, "GN", P_HOA_NGHIA, "GN07"))],
             values=setv("GN", P_HOA_NGHIA, "GN07", None)))
    add(Case("r02_blank_flag.xlsx", AL, "NTM03 (flag, required) left blank",
             [("R02", ntm, at(AL, "NTM", X_TRUONG_THANH, "NTM03"))],
             values=setv("NTM", X_TRUONG_THANH, "NTM03", None)))
    add(Case("r02_missing_column.xlsx", DK, "column TT05 deleted from sheet 1 (header and code row)",
             [("R02", tt, "")],
             book=lambda wb: delete_column(wb[S["TT"]], 4 + CAT.sheet("TT").codes.index("TT05")),
             note="docs/decisions.md: a missing indicator column is one R02 for the sheet, no cell."))

    # R03: a row naming no unit of the district, a unit twice, a unit on the wrong sheet
    gn_total = total_row(len(dk_units))
    add(Case("r03_unit_of_other_district.xlsx", DK,
             f"extra GN row for {other_name} ({other_code}), a unit of another district",
             [("R03", gn, f"B{gn_total}")],
             book=_extra_row("GN", DK, other_code, other_name, P_HUNG_DAO)))
    add(Case("r03_unit_twice.xlsx", DK, "MH row of Phường Anh Dũng repeated before the total",
             [("R03", mh, f"B{gn_total}")],
             book=_extra_row("MH", DK, P_ANH_DUNG, dk_units[P_ANH_DUNG].name, P_ANH_DUNG)))
    al_units = {u.code: u for u in units(AL)}
    ntm_total = total_row(sum(u.type == "xã" for u in al_units.values()))
    add(Case("r03_township_on_ntm_sheet.xlsx", AL,
             "NTM sheet holds an extra row for Thị trấn An Lão (the NTM sheet holds xã only)",
             [("R03", ntm, f"B{ntm_total}")],
             book=_extra_row("NTM", AL, TT_AN_LAO, al_units[TT_AN_LAO].name, X_TRUONG_THANH),
             note="docs/decisions.md: a unit on a sheet that does not hold its kind is R03."))

    # R04: a unit missing from a sheet
    add(Case("r04_row_deleted.xlsx", DK, "MH row of Phường Hải Thành deleted",
             [("R04", mh, "")],
             book=lambda wb: delete_row(wb[S["MH"]], unit_row(DK, PERIOD, "MH", P_HAI_THANH))))

    # R05: the cover's district or period missing or unknown
    add(Case("r05_period_blank.xlsx", DK, "cover: Kỳ báo cáo left blank",
             [("R05", COVER, "B3")], cover={"Kỳ báo cáo": None}))
    add(Case("r05_district_blank.xlsx", DK, "cover: Mã đơn vị and Tên đơn vị both blank",
             [("R05", COVER, "B1")], cover={"Mã đơn vị": None, "Tên đơn vị": None}))
    add(Case("r05_period_unreadable.xlsx", DK, "cover: Kỳ báo cáo 'Quý IV/2018' (no such period)",
             [("R05", COVER, "B3")], cover={"Kỳ báo cáo": "Quý IV/2018"}))
    add(Case("r05_unknown_district.xlsx", DK,
             "cover: Mã đơn vị 320 (no such district) and Tên đơn vị 'Huyện Hải Đảo' (no such name)",
             [("R05", COVER, "B1")], cover={"Mã đơn vị": 320, "Tên đơn vị": "Huyện Hải Đảo"}))
    add(Case("r05_period_of_other_folder.xlsx", DK, "cover says 2017 in the 2018 folder",
             [("R05", COVER, "B3")], cover={"Kỳ báo cáo": "Năm 2017"},
             note="docs/decisions.md: a cover period other than the folder's is R05."))
    add(Case("r05_no_cover_sheet.xlsx", DK, "the cover sheet 'Thông tin' removed",
             [("R05", "", "")], book=lambda wb: wb.remove(wb[COVER]),
             note="No cover at all: district and period are missing. The checker names no "
                  "sheet (the cover is not in the file)."))

    # R06: a sheet of the form missing
    add(Case("r06_sheet_removed.xlsx", DK, "sheet '8. Giám sát' removed",
             [("R06", gs, "")], book=lambda wb: wb.remove(wb[S["GS"]])))

    # R07
    add(Case("r07_gn06_unbalanced.xlsx", DK, "GN06 raised by 3: GN06 ≠ GN02 − GN03 + GN04 + GN05",
             [("R07", gn, at(DK, "GN", P_HOA_NGHIA, "GN06"))],
             values=lambda v: v["GN"][P_HOA_NGHIA].update(GN06=v["GN"][P_HOA_NGHIA]["GN06"] + 3)))

    # R08, both forms (the finding sits on the relation's first left-hand indicator)
    add(Case("r08_poor_and_near_poor_over_total.xlsx", DK,
             "GN07 typed so that GN06 + GN07 = GN01 + 1",
             [("R08", gn, at(DK, "GN", P_HAI_THANH, "GN06"))], values=_r08_over_total,
             note="The relation GN06 + GN07 ≤ GN01 is placed on GN06, its first term "
                  "(rules.relation_findings). R15 is not expected on GN07: the sheet is rejected."))
    add(Case("r08_escaped_over_start.xlsx", DK,
             "GN03 = GN02 + 1 (GN05 raised as much, so R07 still holds)",
             [("R08", gn, at(DK, "GN", P_TAN_THANH, "GN03"))], values=_r08_gn03_over_gn02))

    # R09, each of its six relations
    def over(key, unit, small, big, extra=1):
        return lambda v: v[key][unit].update({small: v[key][unit][big] + extra})

    add(Case("r09_tt04_over_tt03.xlsx", DK, "TT04 = TT03 + 1",
             [("R09", tt, at(DK, "TT", P_DA_PHUC, "TT04"))], values=over("TT", P_DA_PHUC, "TT04", "TT03")))
    add(Case("r09_tt06_over_tt05.xlsx", DK, "TT06 = TT05 + 1",
             [("R09", tt, at(DK, "TT", P_ANH_DUNG, "TT06"))], values=over("TT", P_ANH_DUNG, "TT06", "TT05")))
    add(Case("r09_vm02_over_vm01.xlsx", DK, "VM02 = VM01 + 1",
             [("R09", vm, at(DK, "VM", P_HAI_THANH, "VM02"))], values=over("VM", P_HAI_THANH, "VM02", "VM01")))
    add(Case("r09_gs04_over_gs03.xlsx", DK, "GS04 = GS03 + 1",
             [("R09", gs, at(DK, "GS", P_HOA_NGHIA, "GS04"))], values=over("GS", P_HOA_NGHIA, "GS04", "GS03")))
    add(Case("r09_gs06_over_gs05.xlsx", DK, "GS06 = GS05 + 1",
             [("R09", gs, at(DK, "GS", P_HUNG_DAO, "GS06"))], values=over("GS", P_HUNG_DAO, "GS06", "GS05")))
    add(Case("r09_tt03_over_gn01.xlsx", DK, "TT03 (sheet 1) = GN01 (sheet 4) + 1",
             [("R09", tt, at(DK, "TT", P_TAN_THANH, "TT03"))],
             values=lambda v: v["TT"][P_TAN_THANH].update(TT03=v["GN"][P_TAN_THANH]["GN01"] + 1),
             note="Crosses sheets; docs/decisions.md places it on TT03's cell (sheet 1)."))

    # R10
    add(Case("r10_ntm20_after_period.xlsx", AL, "NTM20 = 2019 for a commune at 19/19 (was 2014)",
             [("R10", ntm, at(AL, "NTM", X_BAT_TRANG, "NTM20"))],
             values=setv("NTM", X_BAT_TRANG, "NTM20", 2019)))
    add(Case("r10_vm04_after_period.xlsx", DK, "VM04 = 2019 with VM03 = 1 (was 2010)",
             [("R10", vm, at(DK, "VM", P_HUNG_DAO, "VM04"))],
             values=setv("VM", P_HUNG_DAO, "VM04", 2019)))

    # R11
    add(Case("r11_recognised_with_18_criteria.xlsx", AL,
             "commune recognised NTM in 2017 but NTM05 = 0 (18/19)",
             [("R11", ntm, at(AL, "NTM", X_CHIEN_THANG, "NTM20"))], values=_r11_missing_criterion))

    # R12, both directions
    add(Case("r12_vm03_1_without_year.xlsx", DK, "VM03 set to 1, VM04 left blank",
             [("R12", vm, at(DK, "VM", P_TAN_THANH, "VM04"))],
             values=setv("VM", P_TAN_THANH, "VM03", 1)))
    add(Case("r12_vm03_0_with_year.xlsx", DK, "VM03 set to 0 while VM04 = 2011",
             [("R12", vm, at(DK, "VM", P_DA_PHUC, "VM04"))],
             values=setv("VM", P_DA_PHUC, "VM03", 0)))

    # R13
    add(Case("r13_literal_total_differs.xlsx", DK,
             "GN total row typed as numbers; GN01's total is 100 more than the sum",
             [("R13", gn, total_at(DK, "GN", "GN01"))],
             totals=lambda v: _gn_totals(v, {"GN01": 100}),
             note="The other GN totals are literal and right (not findings); SUM formulas "
                  "saved without cached values are not compared (docs/decisions.md)."))

    add(Case("r13_flag_count_total.xlsx", AL,
             "NTM total row typed as numbers; NTM01's count of 1s is 1 more than the xã meeting it",
             [("R13", ntm, total_at(AL, "NTM", "NTM01"))],
             totals=lambda v: {"NTM": {c: sum(r[c] == 1 for r in v["NTM"].values()) + (c == "NTM01")
                                       for c in CAT.sheet("NTM").codes if c != "NTM20"}},
             note="FORM.md: flag columns' total counts the 1s; the other NTM totals are right."))

    # R14
    add(Case("r14_start_differs_from_last_year.xlsx", DK,
             "GN02 is 3 more than the unit's 2017 annual GN06 (GN06 raised too, so R07 holds)",
             [("R14", gn, at(DK, "GN", P_DA_PHUC, "GN02"))], values=_r14_start_stock))

    # R15: extra zeros; peers are the 32 xã of 313 and 314 on record
    add(Case("r15_money_extra_zeros.xlsx", AL, "NL01 of a xã typed ×1000 (377.400 instead of 377,4)",
             [("R15", nl, at(AL, "NL", X_AN_TIEN, "NL01"))],
             values=lambda v: v["NL"][X_AN_TIEN].update(NL01=round(v["NL"][X_AN_TIEN]["NL01"] * 1000, 2))))
    add(Case("r15_count_extra_zeros.xlsx", AL, "NL04 of a xã typed ×100 (454.100 days)",
             [("R15", nl, at(AL, "NL", X_BAT_TRANG, "NL04"))],
             values=lambda v: v["NL"][X_BAT_TRANG].update(NL04=v["NL"][X_BAT_TRANG]["NL04"] * 100)))

    # R16: an annual flow below the same unit's 2018-H1 flow on record
    add(Case("r16_mh03_below_h1.xlsx", DK, "annual MH03 = the unit's 2018-H1 MH03 − 1",
             [("R16", mh, at(DK, "MH", P_ANH_DUNG, "MH03"))],
             values=_r16_below_h1(DK, "MH", P_ANH_DUNG, "MH03")))
    add(Case("r16_tt02_below_h1.xlsx", AL, "annual TT02 = the unit's 2018-H1 TT02 − 1",
             [("R16", tt, at(AL, "TT", X_TAN_DAN, "TT02"))],
             values=_r16_below_h1(AL, "TT", X_TAN_DAN, "TT02")))

    # R17: AS03 per house outside 5-300 million đồng
    add(Case("r17_cost_per_house_low.xlsx", DK, "AS03 = 4,5 for 1 house (4,5 million per house)",
             [("R17", as_, at(DK, "AS", P_HUNG_DAO, "AS03"))],
             values=setv("AS", P_HUNG_DAO, "AS03", 4.5)))
    add(Case("r17_cost_per_house_high.xlsx", DK, "AS03 = 320 for 1 house (320 million per house)",
             [("R17", as_, at(DK, "AS", P_TAN_THANH, "AS03"))],
             values=setv("AS", P_TAN_THANH, "AS03", 320)))

    # R18: not a readable workbook
    add(Case("r18_random_bytes.xlsx", DK, "4 KB of random bytes named .xlsx", [("R18", "", "")],
             raw=_random_bytes))
    add(Case("r18_empty.xlsx", DK, "an empty file (0 bytes)", [("R18", "", "")], raw=lambda: b""))
    add(Case("r18_text_file.xlsx", DK, "a UTF-8 text (CSV) file named .xlsx", [("R18", "", "")],
             raw=lambda: "Mã đơn vị,Tên đơn vị,Kỳ báo cáo\n309,Quận Dương Kinh,2018\n".encode()))
    add(Case("r18_truncated.xlsx", DK, "the first half of a good workbook (a broken zip)",
             [("R18", "", "")], raw=lambda: _clean_2018_bytes()[:len(_clean_2018_bytes()) // 2]))
    add(Case("r18_zip_not_workbook.xlsx", DK, "a valid zip holding a text file, not a workbook",
             [("R18", "", "")], raw=_zip_not_workbook))
    add(Case("r18_sheet_too_large.xlsx", DK,
             "a good workbook with a stray 'x' in A1048576 of sheet 8 (a sheet of 1.048.576 rows)",
             [("R18", "", "")], book=cell_edit("GS", "A1048576", "x"),
             note="Too large for the reader's row limit (20.000 rows per sheet by default)."))
    add(Case("r18_ole_header.xlsx", DK,
             "OLE2 signature then zeros, as an encrypted workbook or a legacy .xls begins",
             [("R18", "", "")], raw=lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4088)))

    # R19: code and name name different units
    add(Case("r19_name_of_other_unit.xlsx", DK, "GN row of Phường Hưng Đạo named 'Phường Anh Dũng'",
             [("R19", gn, f"C{unit_row(DK, PERIOD, 'GN', P_HUNG_DAO)}")],
             book=cell_edit("GN", f"C{unit_row(DK, PERIOD, 'GN', P_HUNG_DAO)}",
                            dk_units[P_ANH_DUNG].name)))
    add(Case("r19_wrong_code_right_name.xlsx", DK,
             "GS row of Phường Hải Thành with code 11699 (no unit of the district), name right",
             [("R19", gs, f"B{unit_row(DK, PERIOD, 'GS', P_HAI_THANH)}")],
             book=cell_edit("GS", f"B{unit_row(DK, PERIOD, 'GS', P_HAI_THANH)}", "11699"),
             note="docs/decisions.md: a bad code with a name of the district is R19 on the code cell."))
    return c


def ok_cases() -> list[Case]:
    """Variants FORM.md allows: no finding."""
    def drop(*keys):
        def change(wb) -> None:
            for k in keys:
                wb.remove(wb[S[k]])
        return change

    return [
        Case("ok_quan_without_ntm_sheet.xlsx", DK,
             "a quận leaves out the NTM sheet (it has no xã)", [], book=drop("NTM")),
        Case("ok_bach_long_vi_without_ntm_vm.xlsx", BLV,
             "Bạch Long Vĩ leaves out the NTM and VM sheets (no xã, phường, thị trấn)", [],
             book=drop("NTM", "VM")),
        Case("ok_cover_name_without_code.xlsx", DK,
             "cover Mã đơn vị blank, Tên đơn vị names the district", [], cover={"Mã đơn vị": None}),
        Case("ok_literal_totals_right.xlsx", DK,
             "GN total row typed as numbers, all equal to the sums", [],
             totals=lambda v: _gn_totals(v, {})),
    ]


def clean_expected() -> list[tuple[str, str, str, str, str]]:
    """Genuine findings in the clean record of 2018: (file, rule, sheet, cell, reason).

    None: the lowest NL03 of the 32 xã (20,32 of Xã Ngũ Phúc, about 13 times below the
    median) was an R15 while R15 flagged flows far below their peers; it no longer does
    (`flows_below = false` in schemas/data/checks.toml): a quiet period is common."""
    return []


# --------------------------------------------------------------------------- writing


def record_name(district: str, period: str) -> str:
    return f"{district}_{DISTRICTS[district]}_{period}.xlsx"


def write_case(case: Case, folder: Path) -> None:
    path = folder / case.file
    if case.raw is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.raw())
        return
    values = copy.deepcopy(clean_values(case.district))
    if case.values:
        case.values(values)
    totals = case.totals(values) if case.totals else None
    wb = workbook(case.district, PERIOD, values, case.cover, totals)
    if case.book:
        case.book(wb)
    save(wb, path)


def main() -> None:
    for sub in ("record", "bad", "ok"):
        shutil.rmtree(HERE / sub, ignore_errors=True)
    for period in RECORD_PERIODS:
        for district in DISTRICTS:
            save(workbook(district, period, clean_values(district, period)),
                 HERE / "record" / period / record_name(district, period))
    rows = []
    for folder, group in (("bad", cases()), ("ok", ok_cases())):
        names = [c.file for c in group]
        assert len(names) == len(set(names)), "duplicate file name"
        for case in group:
            write_case(case, HERE / folder)
            for rule, sheet, cell in case.expected:
                rows.append({"file": f"{folder}/{case.file}", "rule": rule, "sheet": sheet,
                             "cell": cell, "defect": case.defect})
    for file, rule, sheet, cell, reason in clean_expected():
        rows.append({"file": file, "rule": rule, "sheet": sheet, "cell": cell, "defect": reason})
    with (HERE / "expected.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["file", "rule", "sheet", "cell", "defect"],
                           lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    write_readme(cases(), ok_cases())
    print(f"{len(cases())} bad, {len(ok_cases())} ok, "
          f"{len(RECORD_PERIODS) * len(DISTRICTS)} record files; {len(rows)} expected findings")


README_MARK = "<!-- generated by build.py: do not edit below -->"


def write_readme(bad: list[Case], ok: list[Case]) -> None:
    path = HERE / "README.md"
    head = path.read_text(encoding="utf-8").split(README_MARK)[0] if path.exists() else ""
    lines = [README_MARK, "", "| file | expected (rule sheet!cell) | defect | note |",
             "| --- | --- | --- | --- |"]
    for folder, group in (("bad", bad), ("ok", ok)):
        for case in group:
            exp = "<br>".join(" ".join(x for x in (r, "!".join(y for y in (s, cl) if y)) if x)
                              for r, s, cl in case.expected)
            lines.append(f"| `{folder}/{case.file}` | {exp or 'none'} | {case.defect} | {case.note} |")
    for file, rule, sheet, cell, reason in clean_expected():
        lines.append(f"| `{file}` | {rule} {sheet}!{cell} | clean record file | {reason} |")
    path.write_text(head.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
