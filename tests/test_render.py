"""The leaders' report: HTML, summary workbook and charts from the run's contract frames."""
from __future__ import annotations

import base64
import io
import math
import re
import time
from html.parser import HTMLParser

import openpyxl
import pandas as pd
import pytest

from pipelines.report import charts, drawing
from pipelines.report.render import fmt_value, render_report
from schemas.catalogue import Catalogue, load_catalogue
from schemas.periods import parse_period

PERIOD = "2019"
NAN = math.nan
SCRIPT = "<script>alert(1)</script>.xlsx"
FORMULA = '=HYPERLINK("http://x","y")'
CITY = ("city", "31", "Thành phố Hải Phòng")
DISTRICTS = {"304": "Quận Ngô Quyền", "315": "Huyện Tiên Lãng", "316": "Huyện Vĩnh Bảo"}

# (indicator) -> {org unit code: value}; a tuple (value, False) marks the value incomplete.
VALUES: dict[str, dict[str, object]] = {
    # 1. Tuyên truyền: Tiên Lãng left TT01 blank, so the city sum is a lower bound.
    "TT01": {"304": 12, "315": (NAN, False), "316": 30, "31": (42, False)},
    "TT03": {"304": 9_800, "315": 41_000, "316": 44_500, "31": 95_300},
    "TT04": {"304": 9_100, "315": 38_200, "316": 40_010, "31": 87_310},
    "TT_TL_GDVH": {"304": 89.2157, "315": 86.8182, "316": 84.2316, "31": 85.9},
    # 2. Nguồn lực (triệu đồng)
    "NL01": {"304": 120.5, "315": 1_234.5, "316": 310.25, "31": 1_665.25},
    "NL02": {"304": 0, "315": 2_000, "316": 1_500, "31": 3_500},
    "NL03": {"304": 50, "315": 75.75, "316": 0, "31": 125.75},
    "NL_TONG": {"304": 170.5, "315": 3_310.25, "316": 1_810.25, "31": 5_291},
    # 3. Hỗ trợ hộ nghèo: Vĩnh Bảo's count is incomplete.
    "AS01": {"304": 2, "315": 18, "316": (12, False), "31": (32, False)},
    "AS02": {"304": 1, "315": 7, "316": 5, "31": 13},
    "AS03": {"304": 150, "315": 1_500, "316": 1_020, "31": 2_670},
    # 4. Giảm nghèo
    "GN01": {"304": 102_000, "315": 44_000, "316": 47_500, "31": 604_813},
    "GN06": {"304": 310, "315": 1_870, "316": 2_168, "31": 4_348},
    "GN07": {"304": 900, "315": 5_900, "316": 6_171, "31": 12_971},
    "GN_TL_NGHEO": {"304": 0.3039, "315": 4.25, "316": 4.5642, "31": 0.7189},
    "GN_TL_CAN_NGHEO": {"304": 0.8824, "315": 13.4091, "316": 12.9916, "31": 2.1446},
    # 5. Nông thôn mới: a quận has no xã: the count is 0 and its rates are missing.
    "NTM_SO_XA": {"304": 0, "315": 22, "316": 29, "31": 51},
    "NTM_SO_XA_DAT": {"304": 0, "315": 15, "316": 20, "31": 35},
    "NTM_TL_XA_DAT": {"304": NAN, "315": 68.1818, "316": 68.9655, "31": 68.6275},
    "NTM_TB_TC": {"304": NAN, "315": 17.5, "316": 17.8276, "31": 17.6863},
    **{f"NTM_TC{n:02d}_TL_DAT": {"304": NAN, "315": 100 - 3 * n, "316": 100 - 2 * n,
                                 "31": 100 - 2.5 * n} for n in range(1, 20)},
    # 6. Đô thị văn minh
    "VM01": {"304": 180, "315": 9, "316": 11, "31": 200},
    "VM02": {"304": 150, "315": 8, "316": 9, "31": 167},
    "VM_SO_DV": {"304": 13, "315": 1, "316": 1, "31": 15},
    "VM_SO_DAT": {"304": 9, "315": 1, "316": 0, "31": 10},
    # 7. Mô hình: Vĩnh Bảo sent no sheet at all (no rows), the city sum is incomplete.
    "MH01": {"304": 3, "315": 6, "31": (9, False)},
    "MH03": {"304": 40, "315": 120, "31": (160, False)},
    # 8. Giám sát
    "GS03": {"304": 20, "315": 16, "316": 14, "31": 50},
    "GS04": {"304": 18, "315": 12, "316": 10, "31": 40},
    "GS_TL_GIAI_QUYET": {"304": 90.0, "315": 75.0, "316": 71.4286, "31": 80.0},
}


def _aggregates(period: str = PERIOD, shift: float = 0.0) -> pd.DataFrame:
    rows = []
    for ind, by_unit in VALUES.items():
        for code, v in by_unit.items():
            value, complete = v if isinstance(v, tuple) else (v, True)
            level, name = (CITY[0], CITY[2]) if code == "31" else ("district", DISTRICTS[code])
            value = float(value) + (shift if ind == "GN_TL_NGHEO" else 0.0)
            rows.append((period, level, code, name, ind, value, complete))
    # a few unit rows: the long table keeps them, the report's tables do not
    rows += [(period, "unit", "11737", "Xã Đại Thắng", "GN06", 95.0, True),
             (period, "unit", "11737", "Xã Đại Thắng", "NTM20", 2018.0, True)]
    cols = ["period", "level", "org_unit_code", "org_unit_name", "indicator", "value", "complete"]
    return pd.DataFrame(rows, columns=cols)


def _submissions() -> pd.DataFrame:
    return pd.DataFrame([
        ("Bao cao Tien Lang (sua lan 2).xlsx", "a" * 64, "315", PERIOD, "accepted", 0, 2),
        ("Bao cao Tien Lang.xlsx", "b" * 64, "315", PERIOD, "superseded", 3, 0),
        (SCRIPT, "c" * 64, "316", PERIOD, "partial", 4, 1),
        (FORMULA, "d" * 64, "304", PERIOD, "accepted", 0, 0),
        ("ban sao.xlsx", "d" * 64, "304", PERIOD, "duplicate", 0, 0),
    ], columns=["file", "sha256", "district_code", "period", "status", "errors", "warnings"])


def _findings() -> pd.DataFrame:
    return pd.DataFrame([
        (SCRIPT, "316", "7. Mô hình", "", "R06", "error", "", "Thiếu biểu <b>7. Mô hình</b>."),
        (SCRIPT, "316", "4. Giảm nghèo", "H12", "R07", "error", "120", "Không cân đối."),
        (SCRIPT, "316", "4. Giảm nghèo", "H13", "R07", "error", "98", "Không cân đối."),
        ("Bao cao Tien Lang (sua lan 2).xlsx", "315", "3. Hỗ trợ hộ nghèo", "F9", "R17",
         "warning", "400", "Kinh phí bình quân một nhà bất thường."),
    ], columns=["file", "district_code", "sheet", "cell", "rule", "severity", "value", "message"])


class _Tables(HTMLParser):
    """Every <table> of a page as a list of rows of cell texts, keyed by the preceding <h2>."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._h2 = self._cell = None
        self._in_h2 = False
        self._h2_text = ""

    def handle_starttag(self, tag, attrs):
        if tag == "h2":
            self._in_h2, self._h2_text = True, ""
        elif tag == "tr" and self._h2 is not None:
            self.tables.setdefault(self._h2, []).append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2, self._h2 = False, self._h2_text.strip()
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[self._h2][-1].append(" ".join(self._cell.split()))
            self._cell = None

    def handle_data(self, data):
        if self._in_h2:
            self._h2_text += data
        if self._cell is not None:
            self._cell += data


def _cell(tables, heading: str, row_name: str, header: str) -> str:
    rows = tables[heading]
    col = rows[0].index(header)
    return next(r for r in rows if r[0] == row_name)[col]


def _catalogue_of(*keys: str) -> Catalogue:
    """A catalogue with only some content areas: another programme's form, and faster tests."""
    cat = load_catalogue()
    return Catalogue(sheets=tuple(s for s in cat.sheets if s.key in keys),
                     derived=tuple(d for d in cat.derived if d.sheet in keys),
                     relations=(), indicators={c: i for c, i in cat.indicators.items()
                                               if i.sheet in keys})


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bao_cao") / PERIOD
    paths = render_report(PERIOD, _aggregates(), _submissions(), _findings(), out)
    html = paths["html"].read_text(encoding="utf-8")
    parser = _Tables()
    parser.feed(html)
    return paths, html, parser.tables


def test_writes_every_output(report):
    paths, _, _ = report
    assert set(paths) == {"html", "xlsx", "charts", "pdf"}
    assert paths["pdf"].read_bytes()[:5] == b"%PDF-"
    assert paths["html"].name == "bao_cao.html" and paths["html"].stat().st_size > 10_000
    assert paths["xlsx"].name == "tong_hop.xlsx" and paths["xlsx"].is_file()
    pngs = sorted(paths["charts"].glob("*.png"))
    assert len(pngs) == len(load_catalogue().sheets)
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.with_suffix(".svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert not list(paths["html"].parent.rglob("*.tmp"))


def test_one_section_per_content_area_in_catalogue_order(report):
    _, html, tables = report
    headings = [s.display_name for s in load_catalogue().sheets]
    positions = [html.index(f"<h2>{h}</h2>") for h in headings]
    assert positions == sorted(positions)
    for h in headings:  # district rows by code, then the city total
        names = [r[0] for r in tables[h][1:]]
        assert names[-1] == "Toàn thành phố"
        listed = [n for n in ("Quận Ngô Quyền", "Huyện Tiên Lãng", "Huyện Vĩnh Bảo") if n in names]
        order = [names.index(n) for n in listed]
        assert order == sorted(order) and len(order) >= 2
    # a quận has no xã: no row of zeros in the new-rural table, one line under it instead
    ntm = [r[0] for r in tables["5. Nông thôn mới"][1:]]
    assert "Quận Ngô Quyền" not in ntm and "Huyện Tiên Lãng" in ntm
    assert "Các quận, huyện không có xã: Quận Hồng Bàng, Quận Ngô Quyền" in html
    assert "Quận Ngô Quyền" in [r[0] for r in tables["4. Giảm nghèo"][1:]]


def test_numbers_in_vietnamese_format(report):
    _, html, tables = report
    gn = "4. Giảm nghèo"
    assert _cell(tables, gn, "Toàn thành phố", "Hộ nghèo cuối kỳ (hộ)") == "4.348"
    assert _cell(tables, gn, "Toàn thành phố", "Tỷ lệ hộ nghèo (%)") == "0,72%"
    assert _cell(tables, gn, "Toàn thành phố", "Tổng số hộ dân cư (hộ)") == "604.813"
    assert _cell(tables, gn, "Huyện Vĩnh Bảo", "Tỷ lệ hộ nghèo (%)") == "4,56%"
    nl, fund = "2. Nguồn lực", 'Quỹ "Vì người nghèo" vận động được (triệu đồng)'
    assert _cell(tables, nl, "Huyện Tiên Lãng", fund) == "1.234,50"
    assert _cell(tables, nl, "Huyện Vĩnh Bảo", fund) == "310,25"
    assert _cell(tables, nl, "Toàn thành phố", "Tổng nguồn lực huy động (triệu đồng)") == "5.291,00"
    ntm = "5. Nông thôn mới"
    mean = "Số tiêu chí đạt bình quân một xã (tiêu chí)"
    assert _cell(tables, ntm, "Toàn thành phố", mean) == "17,69"
    assert _cell(tables, ntm, "Huyện Tiên Lãng", "Số xã báo cáo (xã)") == "22"
    assert not any("tiêu chí 5" in h for h in tables[ntm][0])  # criteria: in the chart only
    # key figures in the header
    assert "35/51 xã (68,63%)" in html
    assert "45 nhà" in html  # AS01 + AS02 = 32 + 13


def test_missing_is_a_dash_never_zero(report):
    _, _, tables = report
    meetings = "Số buổi tuyên truyền, vận động (buổi)"
    assert _cell(tables, "1. Tuyên truyền", "Huyện Tiên Lãng", meetings) == "–"
    assert _cell(tables, "7. Mô hình", "Huyện Vĩnh Bảo", "Số mô hình mới xây dựng (mô hình)") == "–"
    share = "Tỷ lệ xã đạt chuẩn nông thôn mới (%)"
    assert _cell(tables, "5. Nông thôn mới", "Huyện An Lão", share) == "–"  # has xã, sent nothing


def test_incomplete_values_are_marked(report):
    _, html, tables = report
    houses = "Nhà Đại đoàn kết xây mới (nhà)"
    assert _cell(tables, "3. Hỗ trợ hộ nghèo", "Huyện Vĩnh Bảo", houses) == "12*"
    assert _cell(tables, "3. Hỗ trợ hộ nghèo", "Huyện Tiên Lãng", houses) == "18"
    models = "Số mô hình mới xây dựng (mô hình)"
    assert _cell(tables, "7. Mô hình", "Toàn thành phố", models) == "9*"
    note = ("chưa đầy đủ: có đơn vị chưa báo cáo hoặc biểu bị loại; số liệu chỉ cộng các đơn vị "
            "đã báo cáo, là cận dưới")
    assert note in html.lower()
    # a rate's table never calls an incomplete value a lower bound
    gn = html[html.index('id="bieu-gn"'):html.index('id="bieu-ntm"')]
    assert "cận dưới" not in gn.split("<table>")[1]


def test_untrusted_text_is_escaped(report):
    _, html, tables = report
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.xlsx" in html
    assert "<b>7. Mô hình</b>" not in html
    subs = tables["Tình hình nộp báo cáo"]
    row = next(r for r in subs if r[1] == SCRIPT)  # the parser unescapes: same text back
    assert row[0] == "Huyện Vĩnh Bảo" and row[2] == "Tiếp nhận một phần"
    statuses = {r[2] for r in subs[1:]}
    assert statuses == {"Đã tiếp nhận", "Tiếp nhận một phần", "Đã được thay thế", "Bản trùng"}
    assert "Huyện Bạch Long Vĩ" in html.split("Chưa nộp báo cáo")[1]  # registry district, no file
    rules = {r[0]: r for r in tables["Lỗi và cảnh báo"][1:]}
    assert rules["R07"][2:4] == ["Lỗi", "2"] and rules["R17"][2] == "Cảnh báo"


def test_charts_are_embedded(report):
    _, html, _ = report
    assert html.count('src="data:image/png;base64,') == len(load_catalogue().sheets)
    b64 = html.split('src="data:image/png;base64,')[1].split('"')[0]
    assert base64.b64decode(b64)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<link" not in html and "<script" not in html  # self-contained


def _table_header(ws) -> int:
    """The row of an area sheet's table header (sentences above it vary)."""
    return next(c.row for c in ws["A"] if c.value == "STT")


def test_summary_workbook(report):
    paths, _, _ = report
    wb = openpyxl.load_workbook(paths["xlsx"])
    cat = load_catalogue()
    assert wb.sheetnames == [s.display_name for s in cat.sheets] + ["Nộp báo cáo", "Dữ liệu"]
    ws = wb["4. Giảm nghèo"]
    top = _table_header(ws)
    assert top > 4 and ws.cell(3, 1).value.startswith("Toàn thành phố, tỷ lệ hộ nghèo là 0,72%")
    header = [c.value for c in ws[top]]
    city = next(r for r in ws.iter_rows(min_row=top + 1) if r[2].value == "Toàn thành phố")
    gn06 = city[header.index("Hộ nghèo cuối kỳ (hộ)")]
    assert gn06.data_type == "n" and gn06.value == 4348 and gn06.number_format == "#,##0"
    rate = city[header.index("Tỷ lệ hộ nghèo (%)")]
    assert rate.data_type == "n" and rate.value == pytest.approx(0.7189)
    assert rate.number_format == "0.00"
    assert ws.freeze_panes == f"D{top + 1}" and ws.cell(top, 4).font.bold
    assert ws.cell(top, 4).alignment.wrap_text and ws.print_title_rows == f"${top}:${top}"
    assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4 and ws.page_setup.orientation == "landscape"
    assert city[0].row > top + 1 and city[2].font.bold
    (chart,) = ws._charts  # a native chart of the headline by district, in grey
    ref = chart.series[0].val.numRef.f
    assert ref.startswith("'4. Giảm nghèo'!$") and f"${top + 1}:" in ref
    ws = wb["2. Nguồn lực"]
    top = _table_header(ws)
    header = [c.value for c in ws[top]]
    tl = next(r for r in ws.iter_rows(min_row=top + 1) if r[2].value == "Huyện Tiên Lãng")
    assert tl[header.index("Tổng nguồn lực huy động (triệu đồng)")].number_format == "#,##0.00"
    ws = wb["3. Hỗ trợ hộ nghèo"]
    top = _table_header(ws)
    header = [c.value for c in ws[top]]
    vb = next(r for r in ws.iter_rows(min_row=top + 1) if r[2].value == "Huyện Vĩnh Bảo")
    marked = vb[header.index("Nhà Đại đoàn kết xây mới (nhà)")]
    assert marked.value == 12 and marked.data_type == "n"
    assert marked.fill.fgColor.rgb.endswith("E7E6E6") and marked.number_format == '#,##0"*"'
    assert any("chưa đầy đủ" in str(c.value).lower() for c in ws["A"])
    ws = wb["1. Tuyên truyền"]
    top = _table_header(ws)
    tl = next(r for r in ws.iter_rows(min_row=top + 1) if r[2].value == "Huyện Tiên Lãng")
    assert tl[3].value == "–"

    subs = wb["Nộp báo cáo"]
    cells = [c for row in subs.iter_rows() for c in row if c.value == FORMULA]
    assert len(cells) == 1 and cells[0].data_type == "s"
    assert any(c.value == SCRIPT for row in subs.iter_rows() for c in row)
    counts = [r[5].value for r in subs.iter_rows(min_row=5, max_row=9)]
    assert all(isinstance(v, int) for v in counts) and sorted(counts) == [0, 0, 0, 3, 4]

    data = wb["Dữ liệu"]
    agg = _aggregates()
    assert data.max_row == len(agg) + 1
    rows = list(data.iter_rows(min_row=2, values_only=True))
    assert rows[0][1] == "Thành phố" and rows[-1][3] == "Xã Đại Thắng"  # city first, units last
    gn06 = next(r for r in rows if r[2] == "31" and r[4] == "GN06")
    assert gn06[7] == 4348 and gn06[8] == "có"
    assert next(r for r in rows if r[2] == "315" and r[4] == "TT01")[7] is None


def test_change_since_previous_period(tmp_path):
    history = pd.concat([_aggregates("2018", shift=0.1), _aggregates("2018-H1", shift=0.5)])
    paths = render_report("2019-H1", _aggregates("2019-H1"), _submissions(), _findings(),
                          tmp_path, history=history, catalogue=_catalogue_of("NL", "GN"), pdf=False)
    parser = _Tables()
    parser.feed(paths["html"].read_text(encoding="utf-8"))
    # a rate at the end of a first half compares with the end of the latest earlier year, in
    # percentage points; the city's change only over the districts complete in both: three
    # of fifteen here, too few to state one
    header = "Tỷ lệ hộ nghèo: thay đổi so với cuối năm 2018"
    assert _cell(parser.tables, "4. Giảm nghèo", "Huyện Tiên Lãng", header) == "−0,10 điểm %"
    assert _cell(parser.tables, "4. Giảm nghèo", "Toàn thành phố", header) == "–"
    assert "không so sánh, chỉ 3/15 quận, huyện có đủ số liệu cả hai kỳ (cần ít nhất 10)" in (
        paths["html"].read_text(encoding="utf-8"))
    # a flow compares with the same half of the year before
    header = "Tổng nguồn lực huy động: thay đổi so với 6 tháng đầu năm 2018"
    assert _cell(parser.tables, "2. Nguồn lực", "Huyện Tiên Lãng", header) == "0,00"
    html = paths["html"].read_text(encoding="utf-8")
    assert "6 tháng đầu năm 2019" in html
    # a trend line per area: a rate over every period on record, a flow over the same half
    alts = re.findall(r'<img src="data:image/png;base64,[^"]+" alt="([^"]+)"', html)
    assert "Tỷ lệ hộ nghèo qua các kỳ báo cáo" in alts
    assert "Tổng nguồn lực huy động qua các kỳ báo cáo (cùng kỳ)" in alts
    assert len(alts) == 4 == len(list(paths["charts"].glob("*.png")))  # bars/stack + trend each


def test_trend_and_bands_data():
    """The trend takes the same half for a flow; the bands count communes by criteria met."""
    from pipelines.report import plans as report_charts
    from schemas.units import load_registry

    reg = load_registry()
    p = parse_period("2017")
    communes = [u for u in reg.units("318", p)] + [u for u in reg.units("316", p) if u.type == "xã"]
    met = [19, 17, 12, 7, 3, 19]
    units = pd.DataFrame({"level": "unit", "indicator": "NTM_TB_TC",
                          "org_unit_code": [u.code for u in communes[1:7]], "value": met})
    counts, short = report_charts.band_counts(units, reg, p, {"316": "Huyện Vĩnh Bảo",
                                                              "304": "Quận Ngô Quyền"})
    assert list(counts.index) == ["Huyện Vĩnh Bảo", "Toàn thành phố"]  # a quận has no xã
    assert counts.loc["Huyện Vĩnh Bảo"].tolist() == [2, 1, 1, 1, 1]
    assert "Huyện Vĩnh Bảo" in short  # most communes of the district did not report


def test_format_rules():
    assert fmt_value(4348.0, "int") == "4.348"
    assert fmt_value(0.7189, "rate") == "0,72%"
    assert fmt_value(1234.5, "money") == "1.234,50"
    assert fmt_value(NAN, "money") == "–"
    assert fmt_value(-0.1, "rate", signed=True) == "−0,10 điểm %"
    assert fmt_value(12.0, "int", signed=True) == "+12"
    assert fmt_value(-0.004, "rate", signed=True) == "0,00 điểm %"  # no sign on a shown zero


def test_chart_leaves_missing_values_out(monkeypatch):
    from matplotlib.axes import Axes

    widths = []
    real = Axes.barh
    def barh(self, y, width, *args, **kwargs):
        widths.append(width)
        return real(self, y, width, *args, **kwargs)

    monkeypatch.setattr(Axes, "barh", barh)
    png = charts.rate_bars({"Huyện A": 2.5, "Huyện B": NAN, "Huyện C": 0.0}, title="Tỷ lệ hộ nghèo",
                           label="Tỷ lệ hộ nghèo", reference=1.2, incomplete={"Huyện A"})
    assert sorted(widths) == [0.0, 2.5]  # a real zero is drawn, the missing value is not
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and round(img.info["dpi"][0]) == drawing.DPI


def test_frames_read_back_from_the_contract_csv(tmp_path):
    """As the run writes them: codes read as numbers, `complete` as text, no findings."""
    agg, subs = _aggregates(), _submissions()
    agg.assign(complete=agg["complete"].map({True: "true", False: "false"})).to_csv(
        tmp_path / "aggregates.csv", index=False)
    subs.to_csv(tmp_path / "submissions.csv", index=False)
    empty = pd.DataFrame(columns=["file", "district_code", "sheet", "cell", "rule", "severity",
                                  "value", "message"])
    cat = _catalogue_of("AS", "GN")
    paths = render_report(PERIOD, pd.read_csv(tmp_path / "aggregates.csv"),
                          pd.read_csv(tmp_path / "submissions.csv"), empty, tmp_path / "out",
                          catalogue=cat, pdf=False)
    assert openpyxl.load_workbook(paths["xlsx"]).sheetnames == [
        "3. Hỗ trợ hộ nghèo", "4. Giảm nghèo", "Nộp báo cáo", "Dữ liệu"]
    assert len(list(paths["charts"].glob("*.png"))) == 2
    parser = _Tables()
    parser.feed(paths["html"].read_text(encoding="utf-8"))
    poor = "Hộ nghèo cuối kỳ (hộ)"
    assert _cell(parser.tables, "4. Giảm nghèo", "Toàn thành phố", poor) == "4.348"
    assert _cell(parser.tables, "3. Hỗ trợ hộ nghèo", "Huyện Vĩnh Bảo",
                 "Nhà Đại đoàn kết xây mới (nhà)") == "12*"
    assert parser.tables["Tình hình nộp báo cáo"][1][0] == "Quận Ngô Quyền"
    assert "Không có lỗi hay cảnh báo nào." in paths["html"].read_text(encoding="utf-8")


def test_targets_and_sentences(tmp_path):
    """Actual against target where a targets file names one; the sentences use the table's
    numbers."""
    from pipelines.check.targets import Targets

    goals = pd.DataFrame([(2019, "31", "GN_TL_NGHEO", 1.0), (2019, "315", "GN_TL_NGHEO", 0.1),
                          (2018, "31", "GN_TL_NGHEO", 9.0)],
                         columns=["year", "org_unit_code", "indicator", "target"])
    targets = Targets("muc_tieu.xlsx", goals, [])
    paths = render_report(PERIOD, _aggregates(), _submissions(), _findings(), tmp_path / "out",
                          targets=targets, pdf=False)
    html = paths["html"].read_text(encoding="utf-8")
    parser = _Tables()
    parser.feed(html)
    head = "Mục tiêu năm 2019: Tỷ lệ hộ nghèo"
    assert _cell(parser.tables, "4. Giảm nghèo", "Toàn thành phố", head) == "1,00%"
    assert _cell(parser.tables, "4. Giảm nghèo", "Toàn thành phố", "Đánh giá") == "Đạt"
    assert _cell(parser.tables, "4. Giảm nghèo", "Huyện Tiên Lãng", "Tỷ lệ hộ nghèo (%)") == "4,25%"
    assert _cell(parser.tables, "4. Giảm nghèo", "Huyện Tiên Lãng", "Đánh giá") == "Chưa đạt"
    assert _cell(parser.tables, "4. Giảm nghèo", "Huyện Vĩnh Bảo", "Đánh giá") == "–"  # no target
    assert "Mục tiêu năm 2019: 1,00% – đạt" in html
    assert "Toàn thành phố, tỷ lệ hộ nghèo là 0,72%" in html  # the sentence, the table's number
    assert "muc_tieu.xlsx (2 mục tiêu" in html
    no_targets = render_report(PERIOD, _aggregates(), _submissions(), _findings(), tmp_path / "b", pdf=False)
    assert "Đánh giá" not in no_targets["html"].read_text(encoding="utf-8")


def test_every_number_shown_equals_the_aggregates(report):
    """Each table cell of each content area is the aggregates row it stands for, formatted."""
    from pipelines.report.tables import CHART_ONLY, Column, value_fmt

    _, html, tables = report
    cat = load_catalogue()
    agg = _aggregates()
    lookup = {(str(r.org_unit_name), r.indicator): (r.value, r.complete)
              for r in agg.itertuples() if r.level in ("district", "city")}
    checked, table_codes, left_out = 0, set(), 0
    for sheet in cat.sheets:
        shown_names = {r[0] for r in tables[sheet.display_name][1:]}
        for name in DISTRICTS.values():  # a district without the area's units: named under it
            if name not in shown_names:
                assert sheet.unit_types is not None and name.startswith("Quận")
                line = html[html.index(f'id="bieu-{sheet.key.lower()}"'):]
                assert name in line.split("</section>")[0].split("</table>")[1]
                left_out += sum(1 for (n, code), (v, _) in lookup.items() if n == name
                                and code in {i.code for i in sheet.indicators} | {
                                    d.code for d in cat.derived if d.sheet == sheet.key
                                    and d.method not in CHART_ONLY} and not math.isnan(v))
        cols = [Column(i.code, i.label, i.unit, value_fmt(i.code, cat))
                for i in sheet.indicators if i.summable]
        cols += [Column(d.code, d.label, d.unit, value_fmt(d.code, cat)) for d in cat.derived
                 if d.sheet == sheet.key and d.method not in CHART_ONLY]
        table_codes |= {c.code for c in cols}
        rows = tables[sheet.display_name]
        for row in rows[1:]:
            name = "Thành phố Hải Phòng" if row[0] == "Toàn thành phố" else row[0]
            for col in cols:
                shown = row[rows[0].index(col.header)]
                value, complete = lookup.get((name, col.code), (math.nan, False))
                expected = fmt_value(value, col.fmt)
                if not complete and not math.isnan(value):
                    expected += "*"
                assert shown == expected, (sheet.key, name, col.code)
                checked += not math.isnan(value)
    # every value on record for a table column was shown (but those of a district that cannot
    # have the area's items: a quận's 0 xã), so none was compared with a dash only
    assert left_out == 2  # Ngô Quyền's 0 xã and 0 xã đạt chuẩn, named under the NTM table
    assert checked + left_out == sum(1 for (_, code), (v, _) in lookup.items()
                                     if code in table_codes and not math.isnan(v)) > 50


def test_annual_report_compares_rates_with_last_year(tmp_path):
    """Change since last year: the annual report's rates against last year's annual report,
    not against the same year's first half."""
    history = pd.concat([_aggregates("2019-H1", shift=0.5), _aggregates("2018", shift=0.1)])
    paths = render_report("2019", _aggregates("2019"), _submissions(), _findings(), tmp_path,
                          history=history, catalogue=_catalogue_of("GN"), pdf=False)
    html = paths["html"].read_text(encoding="utf-8")
    assert "Tỷ lệ hộ nghèo: thay đổi so với năm 2018" in html
    assert "so với 6 tháng đầu năm 2019" not in html


# -- national scale ------------------------------------------------------------------------

NATIONAL_UNITS = "/work/shared/reference/vietnam_units_2016.csv"
needs_national = pytest.mark.skipif(not __import__("os").path.exists(NATIONAL_UNITS),
                                    reason="the national units file is not in shared/")


@pytest.fixture
def national():
    """The whole program on the national registry (707 districts, `Cả nước` on top)."""
    from schemas import units

    yield units.load_registry(units_file=NATIONAL_UNITS)


def _national_aggregates(registry, period: str = PERIOD) -> pd.DataFrame:
    """Every district: a poverty rate that grows with the district's place in code order
    (a few without a number), houses built and repaired, and the country's totals."""
    districts = registry.districts(parse_period(period))
    rows = []
    for n, d in enumerate(districts):
        rate = NAN if n % 100 == 7 else 1.0 + n / 100
        rows += [(period, "district", d.code, d.name, "GN_TL_NGHEO", rate, True),
                 (period, "district", d.code, d.name, "GN06", float(10 * n), True),
                 (period, "district", d.code, d.name, "AS01", float(n % 50), True),
                 (period, "district", d.code, d.name, "AS02", float(n % 7), True)]
    top = (period, registry.top_level, registry.top_code, registry.top_name)
    rows += [(*top, "GN_TL_NGHEO", 4.2, True), (*top, "GN06", 123_456.0, True),
             (*top, "AS01", 9_999.0, True), (*top, "AS02", 2_000.0, True)]
    cols = ["period", "level", "org_unit_code", "org_unit_name", "indicator", "value", "complete"]
    return pd.DataFrame(rows, columns=cols)


@needs_national
def test_national_report_shows_highest_and_lowest_and_names_the_country(national, tmp_path):
    registry = national
    agg = _national_aggregates(registry)
    districts = registry.districts(parse_period(PERIOD))
    subs = pd.DataFrame([(f"{d.code}_{PERIOD}.xlsx", f"{n:064d}", d.code, PERIOD, "accepted", 0, 0)
                         for n, d in enumerate(districts[:-3])],
                        columns=["file", "sha256", "district_code", "period", "status", "errors",
                                 "warnings"])
    empty = pd.DataFrame(columns=["file", "district_code", "sheet", "cell", "rule", "severity",
                                  "value", "message"])
    paths = render_report(PERIOD, agg, subs, empty, tmp_path, registry=registry,
                          catalogue=_catalogue_of("AS", "GN"),
                          pdf=False)
    html = paths["html"].read_text(encoding="utf-8")
    assert "Cả nước – Năm 2019" in html and "Số liệu chính cả nước" in html
    assert "Toàn thành phố" not in html and "Hải Phòng" not in html
    assert "Cả nước, tỷ lệ hộ nghèo là 4,20%" in html
    parser = _Tables()
    parser.feed(html)
    rows = parser.tables["4. Giảm nghèo"]
    names = [r[0] for r in rows[1:]]
    from pipelines.report.tables import _distinct

    shown = _distinct({d.code: d.name for d in districts}, registry)  # a name several bear: its province
    rates = {shown[d.code]: 1.0 + n / 100 for n, d in enumerate(districts) if n % 100 != 7}
    ranked = sorted(rates, key=lambda name: -rates[name])
    # the 10 highest and the 10 lowest, each under its heading, then the country
    assert names[0] == "10 quận, huyện cao nhất" and names[11] == "10 quận, huyện thấp nhất"
    assert names[1:11] == ranked[:10] and names[12:22] == ranked[-10:]
    assert names[-1] == "Cả nước" and len(names) == 23
    assert ("Bảng chỉ nêu 10 quận, huyện có tỷ lệ hộ nghèo cao nhất và 10 quận, huyện thấp nhất "
            "trong tổng số 707 quận, huyện (7 quận, huyện chưa có số liệu)") in html
    assert "tong_hop.xlsx và aggregates.csv" in html
    # a count shows its 20 largest
    houses = [r[0] for r in parser.tables["3. Hỗ trợ hộ nghèo"][1:]]
    assert houses[0] == "20 quận, huyện lớn nhất" and len(houses) == 22
    assert "Bảng chỉ nêu 20 quận, huyện có nhà Đại đoàn kết xây mới lớn nhất" in html
    # the files received: only those amiss (none here); the districts not reported, all named
    assert "Cả 704 tệp đã nhận đều được tiếp nhận đầy đủ, không có lỗi." in html
    assert "Chưa nộp báo cáo (3):" in html
    # the charts show the same selection, and say so
    svg = next(paths["charts"].glob("04_gn_1.svg")).read_text(encoding="utf-8")
    assert "Biểu đồ chỉ vẽ 10 quận, huyện" in svg and "Cả nước: 4,20%" in svg
    assert ranked[0] in svg and ranked[-1] in svg and ranked[10] not in svg
    # the workbook keeps every district, names that several districts bear with their province
    wb = openpyxl.load_workbook(paths["xlsx"])
    ws = wb["4. Giảm nghèo"]
    top = _table_header(ws)
    listed = [r[2].value for r in ws.iter_rows(min_row=top + 1) if r[2].value]
    assert len(listed) == 707 + 1 and listed[-1] == "Cả nước" and len(set(listed)) == 708
    assert any(n.startswith("Huyện Châu Thành (") for n in listed)
    assert ws._charts == []  # no native chart of 707 bars
    data = list(wb["Dữ liệu"].iter_rows(min_row=2, values_only=True))
    assert data[0][1] == "Cả nước" and data[0][2] == "0"


def test_selection_of_districts():
    from pipelines.report.plans import MAX_DISTRICTS, SHOW_EACH, SHOW_LARGEST, select

    few = {str(n): float(n) for n in range(MAX_DISTRICTS)}
    assert select(few, "rate") is None  # all fit: all shown, as at Hải Phòng's scale
    many = {str(n): float(n % 40) for n in range(100)}
    many["7"] = NAN
    rate = select(many, "rate")
    assert len(rate.top) == len(rate.bottom) == SHOW_EACH and rate.total == 100
    assert rate.without == 1 and "7" not in rate.codes
    assert rate.top[:3] == ("39", "79", "38") and rate.bottom[-3:] == ("0", "40", "80")  # ties: given order
    count = select(many, "int")
    assert len(count.top) == SHOW_LARGEST and count.bottom == ()
    assert "20 quận, huyện có số nhà lớn nhất trong tổng số 100" in count.note("Số nhà")


@pytest.mark.slow
@pytest.mark.concurrency
def test_a_helper_process_changes_nothing_but_the_time(tmp_path, monkeypatch):
    """Charts drawn and the workbook written by a forked helper, or all here, or here after the
    helper died: the same files."""
    import os

    from pipelines.report import helper

    if not helper.can_fork(2):
        pytest.skip("no fork or a single core: the report is always drawn in one process")
    history = pd.concat([_aggregates("2018", shift=0.1), _aggregates("2018-H1", shift=0.5)])
    cat = _catalogue_of("NL", "GN", "NTM")

    def run(out):
        return render_report(PERIOD, _aggregates(), _submissions(), _findings(), out,
                             history=history, catalogue=cat, pdf=False)

    with_helper = run(tmp_path / "a")
    monkeypatch.setattr(helper, "HELPER", False)
    alone = run(tmp_path / "b")
    monkeypatch.setattr(helper, "HELPER", True)
    monkeypatch.setattr(helper, "_main", lambda *args: os._exit(3))  # dies at once
    after_death = run(tmp_path / "c")
    monkeypatch.setattr(helper, "HELPER_WAIT", 2)
    monkeypatch.setattr(helper, "_main", lambda *args: time.sleep(600))  # hangs
    after_hang = run(tmp_path / "d")
    html = [p["html"].read_text(encoding="utf-8") for p in (with_helper, alone, after_death,
                                                             after_hang)]
    assert html[0] == html[1] == html[2] == html[3]
    charts_of = [sorted(p.name for p in o["charts"].iterdir()) for o in (with_helper, alone,
                                                                         after_death)]
    assert charts_of[0] == charts_of[1] == charts_of[2] and len(charts_of[0]) == 2 * 6
    for name in charts_of[0]:
        assert ((tmp_path / "a" / "charts" / name).read_bytes()
                == (tmp_path / "b" / "charts" / name).read_bytes()
                == (tmp_path / "c" / "charts" / name).read_bytes()), name
    books = [openpyxl.load_workbook(o["xlsx"]) for o in (with_helper, alone, after_death)]
    for name in books[0].sheetnames:
        cells = [[[c.value for c in row] for row in b[name].iter_rows()] for b in books]
        assert cells[0] == cells[1] == cells[2], name
    assert sorted(p.name for p in after_hang["charts"].iterdir()) == charts_of[0]
    for out in ("a", "b", "c", "d"):
        assert not list((tmp_path / out).rglob("*.tmp"))


def test_the_long_table_is_written_as_openpyxl_would(tmp_path):
    """The `Dữ liệu` sheet is written straight into the file: text stays text (a formula, a
    leading blank, markup), a character XML forbids is dropped, numbers keep their formats."""
    from pipelines.report.summary_xlsx import write_summary

    agg = _aggregates()
    odd = {"304": FORMULA, "315": "  Huyện <b>Tiên</b> Lãng & co ", "316": "Huyện\x07 Vĩnh Bảo"}
    agg["org_unit_name"] = [odd.get(c, n) for c, n in zip(agg["org_unit_code"], agg["org_unit_name"])]
    write_summary(tmp_path / "t.xlsx", period_label="Năm 2019", sections=[], submissions=[],
                  aggregates=agg, catalogue=load_catalogue(), incomplete_note="")
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx")["Dữ liệu"]
    assert [c.value for c in ws[1]] == ["Kỳ báo cáo", "Cấp", "Mã đơn vị", "Tên đơn vị",
                                        "Mã chỉ tiêu", "Tên chỉ tiêu", "Đơn vị tính", "Giá trị",
                                        "Đầy đủ"]
    assert ws.cell(1, 1).font.bold and ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:I{len(agg) + 1}" and ws.max_row == len(agg) + 1
    rows = {(r[2].value, r[4].value): r for r in ws.iter_rows(min_row=2)}
    formula = rows[("304", "GN06")]
    assert formula[3].value == FORMULA and formula[3].data_type == "s"
    assert rows[("315", "GN06")][3].value == "  Huyện <b>Tiên</b> Lãng & co "
    assert rows[("316", "GN06")][3].value == "Huyện Vĩnh Bảo"
    rate = rows[("31", "GN_TL_NGHEO")]
    assert rate[7].value == pytest.approx(0.7189) and rate[7].number_format == "0.00"
    assert rows[("31", "GN06")][7].number_format == "#,##0" and rate[8].value == "có"
    assert rows[("315", "TT01")][7].value is None and rows[("315", "TT01")][8].value == "không"
