"""Four years across the 2020 mergers (issue 15): the generator's workbooks for 2018-2021,
run through the real flow one period after another, as an office would.

Three districts where communes or wards merged on 1 Feb 2020: Ngô Quyền (Lương Khánh
Thiện into Cầu Đất), Đồ Sơn (Vạn Sơn into Hải Sơn, Ngọc Hải renamed Hải Sơn) and Tiên Lãng
(Tiên Tiến into Quyết Tiến, Tiên Hưng into Vinh Quang). The test recomputes the earlier
periods on 2020's boundaries by itself, from the record's unit values and the successions
file read as plain CSV, and compares with what the report compared with."""
import asyncio
import csv
import re
from pathlib import Path

import duckdb
import pytest

from pipelines.flows import earlier_aggregates, period_report
from pipelines.forms.sample import generate
from pipelines.settings import get_settings
from schemas.catalogue import DATA_DIR

PERIODS = ["2018", "2019-H1", "2019", "2020-H1", "2020", "2021"]
DISTRICTS = ["304", "308", "315"]


@pytest.fixture(scope="module")
def four_years(tmp_path_factory, prefect_harness):
    root = tmp_path_factory.mktemp("mergers")
    generate(root / "raw", periods=PERIODS, clean=True, districts=DISTRICTS)
    summaries = {p: asyncio.run(period_report(p, str(root / "raw"), str(root / "reports")))
                 for p in PERIODS}
    return root, summaries


def _absorbed() -> dict[str, str]:
    """Absorbed unit -> absorber, effective 2020-02-01, read as an officer would."""
    with (DATA_DIR / "successions.csv").open(encoding="utf-8", newline="") as f:
        return {r["old_code"]: r["new_code"] for r in csv.DictReader(f)
                if r["effective"] == "2020-02-01" and r["change"] == "absorbed"}


def _unit_values(root: Path, period: str) -> list[tuple]:
    con = duckdb.connect(str(root / "reports" / "thongke.duckdb"), read_only=True)
    try:
        return con.execute("SELECT district_code, unit_code, indicator, value FROM unit_values "
                           "WHERE period = ?", [period]).fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_no_false_history_findings_across_the_mergers(four_years):
    """Absorbers report themselves plus what they absorbed: R14 and R15 stay quiet."""
    _, summaries = four_years
    for period, summary in summaries.items():
        assert set(summary["file_status"].values()) == {"accepted"}, period
        assert not {"R14", "R15"} & set(summary["by_rule"]), (period, summary["by_rule"])


@pytest.mark.slow
@pytest.mark.parametrize("period", ["2020-H1", "2020", "2021"])
def test_earlier_periods_are_compared_on_current_boundaries(four_years, period):
    root, _ = four_years
    absorbed = _absorbed()
    settings = get_settings(raw_dir=root / "raw", reports_dir=root / "reports")
    history = earlier_aggregates(settings, period)
    for before in ("2018", "2019"):
        rows = _unit_values(root, before)
        # by hand: households summed into the absorber; a commune is recognised as NTM on
        # today's boundaries when its own line was; the absorbed units are no longer counted
        for district in DISTRICTS:
            mine = [r for r in rows if r[0] == district]
            households = sum(v for _, _, i, v in mine if i == "GN01")
            communes = [u for _, u, i, _ in mine if i == "NTM20" and u not in absorbed]
            recognised = [u for _, u, i, v in mine
                          if i == "NTM20" and u not in absorbed and v is not None and v == v]
            got = history[(history["period"] == before) & (history["level"] == "district")
                          & (history["org_unit_code"] == district)].set_index("indicator")["value"]
            assert got["GN01"] == households
            if communes:
                assert got["NTM_SO_XA"] == len(communes)
                assert got["NTM_SO_XA_DAT"] == len(recognised)
                assert got["NTM_TL_XA_DAT"] == pytest.approx(100 * len(recognised) / len(communes))
        city = history[(history["period"] == before) & (history["level"] == "city")]
        city = city.set_index("indicator")["value"]
        assert city["GN01"] == sum(v for _, _, i, v in rows if i == "GN01")
        wards = {u for _, u, i, _ in rows if i == "VM03" and u not in absorbed}
        assert city["VM_SO_DV"] == len(wards)


@pytest.mark.slow
def test_the_report_tells_the_break(four_years):
    """The method note lists the mergers and says the earlier periods are restated; the
    trend charts mark the break; no count of units falls because units merged."""
    root, _ = four_years
    out = root / "reports" / "2020-H1"
    html = (out / "bao_cao.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Xã Tiên Tiến nhập vào Xã Quyết Tiến (Huyện Tiên Lãng)" in text
    assert "Phường Vạn Sơn nhập vào Phường Hải Sơn (Quận Đồ Sơn)" in text
    assert "tính lại theo địa giới hiện nay" in text
    assert not re.search(r"(số xã báo cáo|số phường và thị trấn báo cáo)[^.]*giảm", text, re.I)
    trends = [p for p in (out / "charts").glob("*.svg")
              if "qua các kỳ báo cáo" in p.read_text(encoding="utf-8")]
    assert trends
    for chart in trends:
        assert "Thay đổi địa giới 01/02/2020" in chart.read_text(encoding="utf-8"), chart.name
    # a period after the mergers with no change since: nothing to tell about 2021 vs 2020
    # beyond the trend's span, and the break still marked on its trend
    text21 = (root / "reports" / "2021" / "bao_cao.html").read_text(encoding="utf-8")
    assert "01/02/2020" in text21


@pytest.mark.slow
def test_history_reads_a_series_both_ways(four_years):
    """`thongke history --unit`: Quyết Tiến as reported jumps in 2020; on current boundaries
    its 2019 is its own households plus Tiên Tiến's, as the record holds them."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    root, _ = four_years
    result = CliRunner().invoke(app, ["history", "-u", "11770", "-i", "GN01",
                                      "--reports-dir", str(root / "reports")])
    assert result.exit_code == 0, result.output
    own = {u: v for _, u, i, v in _unit_values(root, "2019") if i == "GN01"}
    from pipelines.base.text import vn_number

    restated = result.output.split("Theo địa giới kỳ 2021")[1]
    assert f"2019: {vn_number(own['11770'] + own['11767'])}" in restated
    reported = result.output.split("Theo địa giới kỳ 2021")[0]
    assert f"2019: {vn_number(own['11770'])}" in reported


@pytest.mark.slow
def test_the_summary_workbook_holds_the_absorbers_series(four_years):
    """Sheet "Chuỗi số liệu": Quyết Tiến's households as reported and on current boundaries
    (its own plus Tiên Tiến's before 2020), each written as a number, names as text."""
    import openpyxl

    root, _ = four_years
    wb = openpyxl.load_workbook(root / "reports" / "2021" / "tong_hop.xlsx")
    ws = wb["Chuỗi số liệu"]
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    header, body = rows[0], rows[1:]
    col = header.index("2019")
    mine = {r[4]: r for r in body if r[0] == "11770" and str(r[3]).startswith("GN01")}
    own = {u: v for _, u, i, v in _unit_values(root, "2019") if i == "GN01"}
    assert mine["Theo số đã báo cáo"][col] == own["11770"]
    assert mine["Theo địa giới hiện nay"][col] == own["11770"] + own["11767"]
    assert mine["Theo địa giới hiện nay"][header.index("2021")] == mine["Theo số đã báo cáo"][
        header.index("2021")]
    assert {r[0] for r in body} <= {"11320", "11323", "11353", "11458", "11770", "11821"}
