"""Every rule of this stage, each with a real workbook that breaks only it."""
from pathlib import Path

import openpyxl
import pytest
from builders import clean_values, column_of, edit, unit_row, write_clean

from pipelines.check.checker import check_workbook
from schemas.periods import parse_period

D, P = "317", "2017-H1"  # Huyện Cát Hải: 2 thị trấn, 10 xã
TT_CB, XA_NL, XA_GL = "11914", "11920", "11935"  # Cát Bà, Nghĩa Lộ, Gia Luận (19/19, NTM 2016)
GN, TT, NTM, VM = "4. Giảm nghèo", "1. Tuyên truyền", "5. Nông thôn mới", "6. Đô thị văn minh"


def cell(sheet_key: str, unit: str, code: str) -> str:
    return f"{column_of(sheet_key, code)}{unit_row(D, P, sheet_key, unit)}"


def check(path: Path, period: str = P):
    return check_workbook(path, catalogue=_cat(), registry=_reg(), expected_period=parse_period(period))


def _cat():
    from schemas.catalogue import load_catalogue
    return load_catalogue()


def _reg():
    from schemas.units import load_registry
    return load_registry()


def found(result) -> set[tuple[str, str, str]]:
    return {(f.rule, f.sheet, f.cell) for f in result.findings}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    return write_clean(tmp_path_factory.mktemp("clean") / "clean.xlsx", D, P)


@pytest.fixture
def copy(clean, tmp_path):
    def make(**cells) -> Path:
        return edit(clean, tmp_path / "case.xlsx", **cells)
    return make


def test_clean_workbook_has_no_finding(clean):
    result = check(clean)
    assert result.findings == []
    assert result.status == "accepted"
    assert result.district_code == D and result.period == P
    assert all(s.status in ("accepted", "absent") for s in result.sheets.values())


@pytest.mark.parametrize("value", ["abc", "1,5", -3, "12.5"])
def test_r01_type(copy, value):
    addr = cell("GN", TT_CB, "GN01")
    result = check(copy(**{f"{GN}!{addr}": value}))
    assert found(result) == {("R01", GN, addr)}
    assert result.sheets["GN"].status == "rejected" and result.status == "partial"


def test_r01_flag_and_money(copy):
    flag, money = cell("NTM", XA_NL, "NTM01"), cell("NL", TT_CB, "NL01")
    result = check(copy(**{f"{NTM}!{flag}": 2, f"2. Nguồn lực!{money}": 12.345}))
    assert found(result) == {("R01", NTM, flag), ("R01", "2. Nguồn lực", money)}


def test_r02_required_blank(copy):
    addr = cell("GN", XA_NL, "GN07")
    result = check(copy(**{f"{GN}!{addr}": None}))
    assert found(result) == {("R02", GN, addr)}


def test_optional_flow_blank_is_fine(copy):
    result = check(copy(**{f"{TT}!{cell('TT', XA_NL, 'TT01')}": None}))
    assert result.findings == [] and result.status == "accepted"


def test_r03_unknown_and_duplicate_unit(copy):
    row = unit_row(D, P, "GN", XA_NL)
    result = check(copy(**{f"{GN}!B{row}": "99999", f"{GN}!C{row}": "Xã Không Có"}))
    assert ("R03", GN, f"B{row}") in found(result)
    assert ("R04", GN, "") in found(result)  # Nghĩa Lộ is now missing
    dup = unit_row(D, P, "GN", "11923")
    result = check(copy(**{f"{GN}!B{dup}": XA_NL, f"{GN}!C{dup}": "Xã Nghĩa Lộ"}))
    assert ("R03", GN, f"B{dup}") in found(result)


def test_r03_unit_of_the_wrong_kind(copy):
    row = unit_row(D, P, "NTM", XA_NL)
    result = check(copy(**{f"{NTM}!B{row}": TT_CB, f"{NTM}!C{row}": "Thị trấn Cát Bà"}))
    assert {("R03", NTM, f"B{row}"), ("R04", NTM, "")} == found(result)


def test_r04_missing_unit(clean, tmp_path):
    out = tmp_path / "missing.xlsx"
    wb = openpyxl.load_workbook(clean)
    wb[GN].delete_rows(unit_row(D, P, "GN", XA_NL))
    wb.save(out)
    result = check(out)
    assert found(result) == {("R04", GN, "")}
    assert "Nghĩa Lộ" in result.findings[0].message


@pytest.mark.parametrize("cells,where", [
    ({"Thông tin!A1": None, "Thông tin!B1": None, "Thông tin!B2": "Huyện Không Có"}, "B2"),
    ({"Thông tin!B1": "999", "Thông tin!B2": None}, "B1"),
    ({"Thông tin!B3": None}, "B3"),
    ({"Thông tin!B3": "Quý 3"}, "B3"),
    ({"Thông tin!B3": "2017"}, "B3"),  # the folder is 2017-H1
])
def test_r05_cover(copy, cells, where):
    result = check(copy(**cells))
    assert found(result) == {("R05", "Thông tin", where)}
    assert result.status == "rejected" and result.values().empty


def test_r05_no_cover(clean, tmp_path):
    out = tmp_path / "nocover.xlsx"
    wb = openpyxl.load_workbook(clean)
    del wb["Thông tin"]
    wb.save(out)
    assert found(check(out)) == {("R05", "", "")}


def test_cover_name_alone_is_enough(copy):
    result = check(copy(**{"Thông tin!B1": None, "Thông tin!B2": "huyện cát hải"}))
    assert result.findings == [] and result.district_code == D


def test_r06_missing_sheet(clean, tmp_path):
    out = tmp_path / "nosheet.xlsx"
    wb = openpyxl.load_workbook(clean)
    del wb["7. Mô hình"]
    wb.save(out)
    result = check(out)
    assert found(result) == {("R06", "7. Mô hình", "")}
    assert result.status == "partial"
    assert result.sheets["MH"].status == "rejected" and result.sheets["GN"].status == "accepted"


def test_r07_balance(copy):
    addr = cell("GN", XA_NL, "GN06")
    v = clean_values(D, P)["GN"][XA_NL]
    result = check(copy(**{f"{GN}!{addr}": v["GN06"] + 1}))
    assert found(result) == {("R07", GN, addr)}


def test_r08_totals(copy):
    v = clean_values(D, P)["GN"][XA_NL]
    addr = cell("GN", XA_NL, "GN07")
    result = check(copy(**{f"{GN}!{addr}": v["GN01"]}))
    assert found(result) == {("R08", GN, cell("GN", XA_NL, "GN06"))}
    # GN03 > GN02 with the balance kept: GN05 rises by as much as GN03.
    extra = v["GN02"] - v["GN03"] + 1
    result = check(copy(**{f"{GN}!{cell('GN', XA_NL, 'GN03')}": v["GN03"] + extra,
                           f"{GN}!{cell('GN', XA_NL, 'GN05')}": v["GN05"] + extra}))
    assert found(result) == {("R08", GN, cell("GN", XA_NL, "GN03"))}


def test_r09_parts_and_cross_sheet(copy):
    v = clean_values(D, P)
    addr = cell("TT", TT_CB, "TT04")
    result = check(copy(**{f"{TT}!{addr}": v["TT"][TT_CB]["TT03"] + 1}))
    assert found(result) == {("R09", TT, addr)}
    tt03 = cell("TT", TT_CB, "TT03")  # TT03 > GN01 of the other sheet: TT03's cell, TT rejected
    result = check(copy(**{f"{TT}!{tt03}": v["GN"][TT_CB]["GN01"] + 1,
                           f"{TT}!{addr}": v["GN"][TT_CB]["GN01"] + 1}))
    assert found(result) == {("R09", TT, tt03)}
    assert result.sheets["TT"].status == "rejected" and result.sheets["GN"].status == "accepted"


def test_r10_year_after_period(copy):
    addr = cell("NTM", XA_GL, "NTM20")
    result = check(copy(**{f"{NTM}!{addr}": 2018}))
    assert found(result) == {("R10", NTM, addr)}


def test_r11_recognised_without_19_criteria(copy):
    year = cell("NTM", XA_NL, "NTM20")
    result = check(copy(**{f"{NTM}!{year}": 2015}))
    assert found(result) == {("R11", NTM, year)}
    assert result.status == "accepted"  # a warning keeps the data


def test_r12_standard_and_year(copy):
    v = clean_values(D, P)["VM"]
    unit = next(u for u, row in v.items() if row["VM03"] == 0)
    addr = cell("VM", unit, "VM04")
    result = check(copy(**{f"{VM}!{addr}": 2016}))
    assert found(result) == {("R12", VM, addr)}


def test_r13_total_row(clean, tmp_path):
    values = clean_values(D, P)
    out = write_clean(tmp_path / "total.xlsx", D, P, values=values,
                      totals={"GN": {"GN01": 1, "GN02": sum(r["GN02"] for r in values["GN"].values())}})
    result = check(out)
    total_row = unit_row(D, P, "GN", list(values["GN"])[-1]) + 1
    assert found(result) == {("R13", GN, f"{column_of('GN', 'GN01')}{total_row}")}
    assert result.status == "accepted"


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage" * 100, b"PK\x03\x04truncated",
                                     b"a,b,c\n1,2,3\n"])
def test_r18_unreadable(tmp_path, content):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    result = check(path)
    assert found(result) == {("R18", "", "")}
    assert result.status == "rejected"


def test_r19_name_of_another_unit(copy):
    row = unit_row(D, P, "GN", XA_NL)
    result = check(copy(**{f"{GN}!C{row}": "Xã Đồng Bài"}))
    assert found(result) == {("R19", GN, f"C{row}")}
    values = result.values()
    kept = values[(values.unit_code == XA_NL) & (values.indicator == "GN01")]
    assert kept.value.tolist() == [clean_values(D, P)["GN"][XA_NL]["GN01"]]


def test_finding_messages_are_vietnamese(copy):
    addr = cell("GN", TT_CB, "GN01")
    f = check(copy(**{f"{GN}!{addr}": "abc"})).findings[0]
    assert f.severity == "error" and f.value == "abc" and "Cột GN01" in f.message
    assert f.file == "case.xlsx" and f.district_code == D


def test_unforeseen_failure_costs_one_finding(clean, monkeypatch):
    from pipelines.check import checker as validate

    def boom(*args, **kwargs):
        raise KeyError("something no rule foresaw")

    monkeypatch.setattr(validate.rules, "total_findings", boom)
    result = check(clean)
    assert found(result) == {("R18", "", "")} and result.status == "rejected"
    assert "KeyError" in result.findings[0].message


def test_file_that_cannot_be_opened(clean, monkeypatch):
    from pipelines.read import workbook

    def denied(path, to, max_file_mb):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(workbook, "private_copy", denied)
    result = check(clean)
    assert found(result) == {("R18", "", "")} and result.sha256 == ""
    assert "Permission denied" in result.findings[0].message


def test_sheet_over_the_row_limit(clean):
    result = check_workbook(clean, catalogue=_cat(), registry=_reg(),
                            expected_period=parse_period(P), max_rows=10)
    assert found(result) == {("R18", "", "")}
    assert "quá lớn" in result.findings[0].message


# ------------------------------------------------- a unit that no longer exists (issue 15)


def _on_the_old_form(tmp_path, blank_successor=False) -> Path:
    """Đồ Sơn's 2019 form (Phường Ngọc Hải and Phường Vạn Sơn listed) sent for 2020, after
    Vạn Sơn was absorbed into Ngọc Hải, renamed Hải Sơn (1 Feb 2020)."""
    path = write_clean(tmp_path / "do_son.xlsx", "308", "2019")
    wb = openpyxl.load_workbook(path)
    cover = wb.worksheets[0]
    for row in cover.iter_rows():
        if row[0].value == "Kỳ báo cáo":
            row[1].value = "2020"
    if blank_successor:
        for ws in wb.worksheets[1:]:
            for row in ws.iter_rows():
                if row[1].value in ("11458", 11458):
                    row[1].value = row[2].value = None
    wb.save(path)
    return path


def test_r03_names_the_successor_and_sets_the_row_aside(tmp_path):
    result = check(_on_the_old_form(tmp_path), "2020")
    r03 = [f for f in result.findings if f.rule == "R03"]
    assert r03 and all(f.severity == "warning" for f in r03)
    assert all("Phường Vạn Sơn đã nhập vào Phường Hải Sơn (mã 11458) từ 01/02/2020" in f.message
               and "không được tính" in f.message for f in r03)
    assert result.status != "rejected"
    assert "11464" not in set(result.values()["unit_code"])  # not counted


def test_r03_tells_where_the_numbers_go_when_the_successor_is_missing(tmp_path):
    result = check(_on_the_old_form(tmp_path, blank_successor=True), "2020")
    gone = [f for f in result.findings if f.rule == "R03" and "Vạn Sơn" in f.message]
    assert gone and all(f.severity == "error" for f in gone)
    assert all("cộng số liệu vào dòng của Phường Hải Sơn" in f.message for f in gone)
