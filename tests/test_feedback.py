"""Feedback to districts: marked-up copies and one-page summaries, from real workbooks."""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import time
import zipfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from builders import column_of, unit_row, write_clean
from openpyxl.comments import Comment

from pipelines.feedback.annotate import FINDINGS_SHEET, annotate_copy, cells_to_mark, sheet_link
from pipelines.feedback.folders import folder_name, render_district_summary, write_feedback
from pipelines.check.findings import finding
from pipelines.check.submissions import decide_statuses
from pipelines.check.checker import WorkbookResult, check_workbook
from pipelines.base.xlsx import set_text
from schemas.periods import parse_period

D, P = "317", "2017-H1"  # Huyện Cát Hải: 2 thị trấn, 10 xã
TT_CB, TT_CH, XA_NL = "11914", "11917", "11920"  # Cát Bà, Cát Hải, Nghĩa Lộ
GN = "4.' Giảm nghèo"  # the GN sheet renamed with a quote in its name (still matched)
TT, NL = "1. Tuyên truyền", "2. Nguồn lực"
EVIL = '=HYPERLINK("http://evil.example","bấm")'
RED, AMBER = "FFC7CE", "FFEB9C"


def addr(key: str, unit: str, code: str) -> str:
    return f"{column_of(key, code)}{unit_row(D, P, key, unit)}"


def check(path: Path, catalogue, registry, name: str | None = None) -> WorkbookResult:
    return check_workbook(path, catalogue=catalogue, registry=registry,
                          expected_period=parse_period(P), name=name)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def table(ws) -> list[list]:
    """The findings table of the `Kết quả kiểm tra` sheet: rows under the `STT` header."""
    header = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "STT")
    return [[ws.cell(r, c) for c in range(1, 8)] for r in range(header + 1, ws.max_row + 1)]


def make_case(path: Path, **kw) -> Path:
    """A Cát Hải workbook with two errors, one warning, a hidden row and a hidden column
    group over flagged cells, a text cell starting with `=`, a district comment on a flagged
    cell and a sheet name with a quote in it."""
    write_clean(path, D, P, **kw)
    wb = openpyxl.load_workbook(path)
    gn = wb["4. Giảm nghèo"]
    gn.title = GN
    set_text(gn[addr("GN", TT_CB, "GN01")], EVIL)  # R01, value starting with `=`
    bad = gn[addr("GN", XA_NL, "GN06")]
    bad.value = 999  # R07
    bad.comment = Comment("Số liệu tạm tính", "Huyện Cát Hải")
    gn.row_dimensions[bad.row].hidden = True
    nl = wb[NL]
    nl.column_dimensions.group("D", "F", hidden=True)
    nl[addr("NL", TT_CH, "NL02")].value = "nhiều"  # R01 in column E, inside the hidden group
    tt = wb[TT]
    tt[f"C{unit_row(D, P, 'TT', TT_CB)}"].value = "Thị trấn Cát Hải"  # R19: Cát Bà's code
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def case(tmp_path_factory, catalogue, registry):
    folder = tmp_path_factory.mktemp("case")
    source = make_case(folder / "=1+1 Cát Hải.xlsx")
    before = sha(source)
    result = check(source, catalogue, registry)
    out = annotate_copy(source, folder / "out" / "1_danh_dau.xlsx", result, result.status)
    return {"source": source, "before": before, "result": result, "out": out,
            "wb": openpyxl.load_workbook(out)}


def test_case_has_the_expected_findings(case):
    got = {(f.rule, f.sheet, f.cell) for f in case["result"].findings}
    assert got == {("R01", GN, addr("GN", TT_CB, "GN01")), ("R07", GN, addr("GN", XA_NL, "GN06")),
                   ("R01", NL, addr("NL", TT_CH, "NL02")),
                   ("R19", TT, f"C{unit_row(D, P, 'TT', TT_CB)}")}
    assert case["result"].status == "partial"


def test_error_cell_red_with_comment_warning_amber(case):
    wb = case["wb"]
    err = wb[GN][addr("GN", TT_CB, "GN01")]
    assert err.fill.fill_type == "solid" and err.fill.fgColor.rgb.endswith(RED)
    assert err.comment is not None and err.comment.author == "thongke"
    assert "R01" in err.comment.text and "Giá trị không đúng kiểu" in err.comment.text
    message = next(f.message for f in case["result"].findings if f.rule == "R01" and f.sheet == GN)
    assert message in err.comment.text
    with zipfile.ZipFile(case["out"]) as z:  # openpyxl does not read the size back
        vml = b"".join(z.read(n) for n in z.namelist() if n.endswith(".vml"))
    assert b"width:340" in vml
    warn = wb[TT][f"C{unit_row(D, P, 'TT', TT_CB)}"]
    assert warn.fill.fgColor.rgb.endswith(AMBER)
    assert "R19" in warn.comment.text
    clean = wb[GN][addr("GN", TT_CB, "GN02")]
    assert clean.fill.fill_type is None and clean.comment is None


def test_district_comment_kept_beside_ours(case):
    cell = case["wb"][GN][addr("GN", XA_NL, "GN06")]
    assert "R07" in cell.comment.text and "Số liệu tạm tính" in cell.comment.text


def test_findings_sheet_first_active_one_row_per_finding(case):
    wb, result = case["wb"], case["result"]
    assert wb.sheetnames[0] == FINDINGS_SHEET and wb.active.title == FINDINGS_SHEET
    assert [ws.title for ws in wb.worksheets if ws.sheet_view.tabSelected] == [FINDINGS_SHEET]
    ws = wb[FINDINGS_SHEET]
    rows = table(ws)
    assert len(rows) == len(result.findings)
    for row, f in zip(rows, result.findings):
        assert (row[1].value, row[2].value, row[6].value) == (f.sheet, f.cell, f.message)
        assert row[3].value.startswith(f.rule)
        assert row[4].value == ("Lỗi" if f.is_error else "Cảnh báo")
        assert row[2].hyperlink.location == sheet_link(f.sheet, f.cell)
    assert ws.freeze_panes == f"A{rows[0][0].row}"
    texts = [str(c.value) for r in ws.iter_rows() for c in r if c.value is not None]
    assert "Tiếp nhận một phần" in texts and "317 – Huyện Cát Hải" in texts
    assert "6 tháng đầu năm 2017" in texts and any("Ngày lập" in t for t in texts)


def test_link_to_sheet_with_quote(case):
    cell = addr("GN", TT_CB, "GN01")
    assert sheet_link(GN, cell) == f"'4.'' Giảm nghèo'!{cell}"
    assert sheet_link("O'Brien's", "") == "'O''Brien''s'!A1"
    links = [r[2].hyperlink.location for r in table(case["wb"][FINDINGS_SHEET])]
    assert f"'4.'' Giảm nghèo'!{cell}" in links


def test_untrusted_text_stays_text(case):
    ws = case["wb"][FINDINGS_SHEET]
    value = next(r[5] for r in table(ws) if r[5].value == EVIL)
    assert value.data_type == "s"
    name = next(c for r in ws.iter_rows() for c in r if c.value == case["source"].name)
    assert name.value.startswith("=") and name.data_type == "s"
    formulas = [c.coordinate for r in ws.iter_rows() for c in r if c.data_type == "f"]
    assert formulas == []


def test_hidden_row_and_column_of_flagged_cells_unhidden(case):
    wb = case["wb"]
    row = unit_row(D, P, "GN", XA_NL)
    assert not wb[GN].row_dimensions[row].hidden
    dims = {(d.min, d.max): d.hidden for d in wb[NL].column_dimensions.values() if d.min}
    assert dims[(5, 5)] is False and dims[(4, 4)] is True and dims[(6, 6)] is True
    notes = " ".join(str(c.value) for r in wb[FINDINGS_SHEET].iter_rows() for c in r if c.value)
    assert f"dòng {row}" in notes and "cột E" in notes


def test_original_untouched(case):
    assert sha(case["source"]) == case["before"]
    assert case["out"].name == "1_danh_dau.xlsx"
    with pytest.raises(ValueError):
        annotate_copy(case["source"], case["source"], case["result"], "partial")
    assert sha(case["source"]) == case["before"]


def test_resent_annotated_copy(case, tmp_path):
    """A district sends our copy back: one findings sheet, old marks gone, own note back."""
    resent = tmp_path / "resent.xlsx"
    shutil.copy(case["out"], resent)
    r19 = [f for f in case["result"].findings if f.rule == "R19"]
    result = replace(case["result"], findings=r19, file="resent.xlsx", sha256=sha(resent))
    out = annotate_copy(resent, tmp_path / "again.xlsx", result, "accepted")
    wb = openpyxl.load_workbook(out)
    assert [n for n in wb.sheetnames if n == FINDINGS_SHEET] == [FINDINGS_SHEET]
    assert wb.sheetnames[0] == FINDINGS_SHEET and len(table(wb[FINDINGS_SHEET])) == 1
    fixed = wb[GN][addr("GN", TT_CB, "GN01")]
    assert fixed.fill.fill_type is None and fixed.comment is None
    own = wb[GN][addr("GN", XA_NL, "GN06")]
    assert own.comment.text == "Số liệu tạm tính" and own.fill.fill_type is None
    warn = wb[TT][f"C{unit_row(D, P, 'TT', TT_CB)}"]
    assert warn.comment.text.count("R19") == 1


def test_several_findings_on_one_cell_one_comment_worst_fill(tmp_path):
    source = write_clean(tmp_path / "x.xlsx", D, P)
    cell = addr("TT", TT_CB, "TT01")
    fs = [finding("R19", "cảnh báo thứ nhất", file="x.xlsx", sheet=TT, cell=cell),
          finding("R01", "lỗi thứ hai", file="x.xlsx", sheet=TT, cell=cell.lower())]
    assert len(cells_to_mark(fs)) == 1
    result = WorkbookResult(file="x.xlsx", sha256="", mtime=0, district_code=D,
                            district_name="Huyện Cát Hải", period=P, findings=fs)
    ws = openpyxl.load_workbook(annotate_copy(source, tmp_path / "o.xlsx", result, "rejected"))[TT]
    assert ws[cell].fill.fgColor.rgb.endswith(RED)
    assert "cảnh báo thứ nhất" in ws[cell].comment.text and "lỗi thứ hai" in ws[cell].comment.text


XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
VBA_TYPE = '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
VBA_REL = ('<Relationship Id="rIdVBA" Target="vbaProject.bin" Type="http://schemas.microsoft.com/'
           'office/2006/relationships/vbaProject"/>')


def make_xlsm(src: Path, out: Path) -> Path:
    """`src` turned into a macro-enabled workbook with a (dummy) VBA project, as Excel does."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename).decode()
            if item.filename == "[Content_Types].xml":
                data = data.replace(XLSX_MAIN, XLSM_MAIN)
                data = data.replace("<Default ", VBA_TYPE + "<Default ", 1)
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace("</Relationships>", VBA_REL + "</Relationships>")
            zout.writestr(item, data.encode())
        zout.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not really vba")
    return out


def test_xlsm_gives_xlsx_without_macros(tmp_path, catalogue, registry):
    xlsm = make_xlsm(write_clean(tmp_path / "c.xlsx", D, P), tmp_path / "c.xlsm")
    assert openpyxl.load_workbook(xlsm, keep_vba=True).vba_archive is not None
    result = check(xlsm, catalogue, registry)
    result = replace(result, findings=[finding("R19", "thử", file="c.xlsm", sheet=TT, cell="C7")])
    out = annotate_copy(xlsm, tmp_path / "out.xlsm", result, "accepted")
    assert out.suffix == ".xlsx"
    with zipfile.ZipFile(out) as z:
        assert not any("vba" in n.lower() for n in z.namelist())
        assert b"macroEnabled" not in z.read("[Content_Types].xml")


def test_legacy_xls_copy_from_values(tmp_path, catalogue, registry):
    source = Path(__file__).parent / "data" / "legacy_bach_long_vi_2017.xls"
    result = check_workbook(source, catalogue=catalogue, registry=registry)
    sheet = result.sheets["GN"].name
    result.findings = [finding("R07", "thử trên tệp cũ", file=source.name, district_code="318",
                               sheet=sheet, cell="E5")]
    out = annotate_copy(source, tmp_path / "1_danh_dau.xlsx", result, "rejected")
    wb = openpyxl.load_workbook(out)
    from python_calamine import CalamineWorkbook
    book = CalamineWorkbook.from_path(str(source))
    assert wb.sheetnames == [FINDINGS_SHEET, *book.sheet_names]
    grid = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    assert wb[sheet]["C5"].value == grid[4][2] == "Huyện Bạch Long Vĩ"
    assert wb[sheet]["E5"].value == grid[4][4] and wb[sheet]["E5"].fill.fgColor.rgb.endswith(RED)
    notes = " ".join(str(c.value) for r in wb[FINDINGS_SHEET].iter_rows() for c in r if c.value)
    assert "không giữ định dạng" in notes


def test_unreadable_file_no_copy_summary_says_why(tmp_path, catalogue, registry):
    bad = tmp_path / "hỏng.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is not a zip")
    result = check(bad, catalogue, registry)
    assert [f.rule for f in result.findings] == ["R18"]
    assert annotate_copy(bad, tmp_path / "1_danh_dau.xlsx", result, "rejected") is None
    assert not (tmp_path / "1_danh_dau.xlsx").exists()
    html = render_district_summary(P, "", "", [result], {result.file: "rejected"}, {})
    assert "hỏng.xlsx" in html and "Không đọc được tệp" in html and "không đọc được" in html


def test_no_copy_of_a_file_changed_since_its_check(tmp_path, catalogue, registry):
    """The marked copy is made from the content that was checked, through the same guard:
    a file replaced since (here by an entity-expansion bomb) gets no copy and no crash."""
    from builders import minimal_xlsx, sheet_xml

    source = write_clean(tmp_path / "Cát Hải.xlsx", D, P)
    result = check(source, catalogue, registry)
    good = tmp_path / "good.xlsx"
    assert annotate_copy(source, good, result, result.status) == good  # as checked: copied
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    xml = sheet_xml('<row r="1"><c r="A1"><v>&b;</v></c></row>').replace("?>\n", "?>\n" + bomb, 1)
    minimal_xlsx(source, xml)
    assert annotate_copy(source, tmp_path / "changed.xlsx", result, result.status) is None
    assert not (tmp_path / "changed.xlsx").exists()
    changed = check(source, catalogue, registry)  # checked again: R18, and still no copy
    assert [f.rule for f in changed.findings] == ["R18"]
    assert annotate_copy(source, tmp_path / "bomb.xlsx", changed, "rejected") is None


def test_checked_content_is_read_once_and_not_guarded_again(tmp_path, catalogue, registry,
                                                             monkeypatch):
    """One read of a workbook: the check opens the file once (its private copy is hashed,
    guarded and parsed); the marked copy of that same content is not guarded again, while
    a copy asked for with no checked content is."""
    import pathlib

    from pipelines.read import guard as guard_module

    source = write_clean(tmp_path / "Cát Hải.xlsx", D, P)
    opened, real_open = [], pathlib.Path.open

    def counting_open(self, *args, **kwargs):
        if self == source:
            opened.append(self)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", counting_open)
    result = check(source, catalogue, registry)
    assert len(opened) == 1 and result.sha256
    guarded, real_guard = [], guard_module.guard

    def counting_guard(path, **limits):
        guarded.append(path)
        return real_guard(path, **limits)

    monkeypatch.setattr(guard_module, "guard", counting_guard)
    assert annotate_copy(source, tmp_path / "a.xlsx", result, result.status) == tmp_path / "a.xlsx"
    assert guarded == []
    unchecked = WorkbookResult(file=result.file, sha256="", mtime=0, findings=result.findings)
    assert annotate_copy(source, tmp_path / "b.xlsx", unchecked, "rejected") == tmp_path / "b.xlsx"
    assert len(guarded) == 1


def test_summary_escapes_file_name():
    name = "<script>alert(1)</script>.xlsx"
    r = WorkbookResult(file=name, sha256="", mtime=0, district_code=D,
                       district_name="Huyện Cát Hải", period=P,
                       findings=[finding("R01", "Giá trị <b>x</b>", file=name, district_code=D,
                                         sheet="<img src=x>", cell="D7")])
    html = render_district_summary(P, D, "Huyện Cát Hải", [r], {name: "rejected"},
                                   {name: "1_danh_dau.xlsx"})
    assert "<script>" not in html and "<b>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.xlsx" in html
    assert '<html lang="vi">' in html and "@page { size: A4" in html


def test_summary_caps_long_lists():
    fs = [finding("R01", f"lỗi {i}", file="a.xlsx", sheet=TT, cell=f"D{i + 7}")
          for i in range(1_020)]
    r = WorkbookResult(file="a.xlsx", sha256="", mtime=0, district_code=D, period=P, findings=fs)
    html = render_district_summary(P, D, "Huyện Cát Hải", [r], {"a.xlsx": "rejected"},
                                   {"a.xlsx": "1_danh_dau.xlsx"})
    assert "lỗi 14<" in html and "lỗi 15<" not in html
    assert "… và 1.005 lỗi khác, xem tệp đánh dấu" in html


def test_district_without_file():
    html = render_district_summary(P, "303", "Quận Hồng Bàng", [], {}, {})
    assert "Chưa nhận được báo cáo 6 tháng đầu năm 2017 của Quận Hồng Bàng" in html
    assert "Gửi báo cáo" in html


def test_folder_name_from_registry():
    assert folder_name("315", "Huyện Tiên Lãng") == "315_huyen_tien_lang"
    assert folder_name("318", "Huyện Bạch Long Vĩ") == "318_huyen_bach_long_vi"


def test_write_feedback(tmp_path, catalogue, registry):
    raw = tmp_path / "raw" / P
    (raw / "sub").mkdir(parents=True)
    old = make_case(raw / "Cat Hai.xlsx", cover={"Ngày lập": date(2017, 7, 10)})
    newer = write_clean(raw / "sub" / "<b>Cat Hai</b> ..xlsx", D, P,
                        cover={"Ngày lập": date(2017, 7, 20)})
    wb = openpyxl.load_workbook(newer)
    wb[TT][f"C{unit_row(D, P, 'TT', TT_CB)}"].value = "Thị trấn Cát Hải"  # R19 only
    wb.save(newer)
    (raw / "hỏng.xlsx").write_bytes(b"\xd0\xcf\x11\xe0 encrypted or not a workbook")
    write_clean(raw / "=cmd.xlsx", "318", P)
    hashes = {p: sha(p) for p in raw.rglob("*.xlsx")}
    files = sorted(p for p in raw.rglob("*") if p.is_file())
    results = [check(p, catalogue, registry, name=str(p.relative_to(raw))) for p in files]
    statuses = decide_statuses(results)
    out = tmp_path / "reports" / P / "phan_hoi"
    stale = out / "317_huyen_cat_hai" / "3_danh_dau.xlsx"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old run")

    written = write_feedback(out, P, results, statuses, raw, registry)

    districts = registry.districts(parse_period(P))
    assert set(written) == {folder_name(d.code, d.name) for d in districts} | {"khong_xac_dinh"}
    for folder, paths in written.items():
        assert re.fullmatch(r"\d+_[a-z_]+|khong_xac_dinh", folder)
        for p in paths:
            assert p.parent == out / folder
            assert re.fullmatch(r"\d+_danh_dau\.xlsx|tom_tat\.html", p.name)
    all_names = [p.name for p in out.rglob("*")]
    assert not any("Cat" in n or "<" in n or "cmd" in n or "hỏng" in n for n in all_names)
    assert not stale.exists() and {p: sha(p) for p in hashes} == hashes

    cat_hai = out / "317_huyen_cat_hai"
    assert sorted(p.name for p in cat_hai.iterdir()) == ["1_danh_dau.xlsx", "2_danh_dau.xlsx",
                                                         "tom_tat.html"]
    first = openpyxl.load_workbook(cat_hai / "1_danh_dau.xlsx")[FINDINGS_SHEET]
    assert "Cat Hai.xlsx" in [c.value for r in first.iter_rows() for c in r]
    assert "Đã được thay thế" in [c.value for r in first.iter_rows() for c in r]
    html = (cat_hai / "tom_tat.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;Cat Hai&lt;/b&gt;" in html and "<b>Cat" not in html
    assert "Đã được thay thế" in html and "Đã tiếp nhận" in html and "R19" in html
    assert re.search(r"1_danh_dau\.xlsx</strong> là bản sao của tệp “<span[^>]*>Cat Hai\.xlsx",
                     html)
    assert old.name in html

    unknown = out / "khong_xac_dinh"
    assert [p.name for p in unknown.iterdir()] == ["tom_tat.html"]
    text = (unknown / "tom_tat.html").read_text(encoding="utf-8")
    assert "hỏng.xlsx" in text and "không tạo được" in text and "mật khẩu" in text

    blv = (out / "318_huyen_bach_long_vi" / "tom_tat.html").read_text(encoding="utf-8")
    assert "=cmd.xlsx" in blv and "Không cần làm gì thêm" in blv
    assert [p.name for p in (out / "318_huyen_bach_long_vi").iterdir()] == ["tom_tat.html"]
    hong_bang = (out / "303_quan_hong_bang" / "tom_tat.html").read_text(encoding="utf-8")
    assert "chưa nhận được" in hong_bang.casefold()


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_libreoffice_keeps_comment_and_fill(case, tmp_path):
    profile = tmp_path / "lo_profile"
    started = time.monotonic()
    subprocess.run(["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--convert-to", "ods", "--outdir", str(tmp_path), str(case["out"])],
                   check=True, timeout=120, capture_output=True)
    print(f"LibreOffice conversion: {time.monotonic() - started:.1f} s")
    with zipfile.ZipFile(tmp_path / "1_danh_dau.ods") as z:
        content = z.read("content.xml").decode("utf-8")
    notes = re.findall(r"<office:annotation\b.*?</office:annotation>", content, re.S)
    assert any("R07" in n and "Hộ nghèo cuối kỳ không cân đối" in n for n in notes)
    styles = re.findall(r'<style:style style:name="([^"]+)"[^>]*style:family="table-cell"'
                        r'.*?</style:style>', content, re.S)
    red = [s for s in re.findall(r'<style:style style:name="[^"]+"[^>]*>.*?</style:style>',
                                 content, re.S) if 'fo:background-color="#ffc7ce"' in s.lower()]
    assert styles and red
    red_names = {re.search(r'style:name="([^"]+)"', s).group(1) for s in red}
    assert any(f'table:style-name="{n}"' in content for n in red_names)
