"""The words checker (tests/words.py) on the rendered reports of several scenarios: every number
in every sentence recomputed from the two periods' CSVs with the coverage the sentence states.

Scenarios: the demo (2016, 2017-H1, 2017: Ngô Quyền's 2016 `7. Mô hình` sheet was rejected);
a district's sheet rejected the year before; a tie; coverage too thin to state a change;
districts with no unit of the kind (quận on new rural areas, Bạch Long Vĩ on civilised
wards). The checker must also fail on a broken sentence and on the sentences the report
wrote before claims (a change of the city totals over different districts)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import words
from pipelines.base.text import vn_number
from pipelines.report import narrative
from pipelines.report.render import render_report

ROOT = Path(__file__).resolve().parent.parent
THONGKE = Path(sys.executable).parent / "thongke"
# Every test reads the reports of one `thongke demo` (a fresh process: its own Prefect server).
pytestmark = [pytest.mark.slow, pytest.mark.server]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`thongke demo` as an officer runs it (no PDF: the words are the HTML's)."""
    root = tmp_path_factory.mktemp("words")
    env = {**os.environ, "THONGKE_PDF": "0", "THONGKE_RAW_DIR": str(root / "raw"),
           "THONGKE_REPORTS_DIR": str(root / "reports")}
    done = subprocess.run([str(THONGKE), "demo"], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return root / "reports"


def _csv(reports: Path, period: str) -> Path:
    return reports / period / "aggregates.csv"


def _html(reports: Path, period: str) -> str:
    return (reports / period / "bao_cao.html").read_text(encoding="utf-8")


def _sentences(html: str, section: str) -> list[str]:
    return words.sections(html)[section]


def _rerender(reports: Path, out: Path, now: pd.DataFrame, before: pd.DataFrame,
              period: str = "2017") -> tuple[str, Path, Path]:
    """The report of `period` made again from (possibly edited) frames; the CSVs it was made
    from, for the checker."""
    out.mkdir(parents=True, exist_ok=True)
    now_csv, before_csv = out / "now.csv", out / "before.csv"
    now.to_csv(now_csv, index=False)
    before.to_csv(before_csv, index=False)
    subs = pd.read_csv(reports / period / "submissions.csv", dtype=str)
    findings = pd.read_csv(reports / period / "findings.csv", dtype=str)
    paths = render_report(period, now, subs, findings, out / "report", history=before, pdf=False)
    return paths["html"].read_text(encoding="utf-8"), now_csv, before_csv


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"org_unit_code": str, "period": str})


def _incomplete(frame: pd.DataFrame, codes: list[str], indicators: list[str]) -> pd.DataFrame:
    """As if the districts' sheets holding `indicators` had been rejected: no value, and the
    city total incomplete (a lower bound)."""
    f = frame.copy()
    hit = (f["level"] == "district") & f["org_unit_code"].isin(codes) & f["indicator"].isin(indicators)
    f.loc[hit, "value"] = float("nan")
    f.loc[hit, "complete"] = False
    f.loc[(f["level"] == "city") & f["indicator"].isin(indicators), "complete"] = False
    return f


# -- the demo ---------------------------------------------------------------------------------

def test_every_sentence_of_the_demo_is_right(demo):
    for period, before in (("2017", ["2016", "2017-H1"]), ("2017-H1", ["2016"]), ("2016", [])):
        problems = words.check(_html(demo, period), _csv(demo, period),
                               [_csv(demo, b) for b in before])
        assert problems == [], (period, problems)


def test_the_five_fold_case_is_compared_over_the_districts_complete_in_both_years(demo):
    before = _read(_csv(demo, "2016"))
    rejected = before[(before["level"] == "district") & (before["indicator"] == "MH01")
                      & ~before["complete"].astype(bool)]
    assert list(rejected["org_unit_name"]) == ["Quận Ngô Quyền"]  # the demo's rejected sheet
    mh = _sentences(_html(demo, "2017"), "bieu-mh")[0]
    assert "So sánh trên 14/15 quận, huyện có đủ số liệu cả hai năm (trừ Quận Ngô Quyền)" in mh
    now = _read(_csv(demo, "2017"))
    city = lambda f: f[(f["level"] == "city") & (f["indicator"] == "MH01")]["value"].iloc[0]  # noqa: E731
    assert f"tăng {city(now) - city(before):.0f} mô hình" not in mh  # the city totals' difference


def test_no_district_is_ranked_on_an_item_it_cannot_have(demo):
    html = _html(demo, "2017")
    quận = [n for n in words.Period(_csv(demo, "2017")).names.values()
            if n.startswith("Quận")]
    for line in _sentences(html, "bieu-ntm"):
        assert not any(q in line for q in quận), line
    for line in _sentences(html, "bieu-vm"):
        assert "Bạch Long Vĩ" not in line, line
    ntm = html[html.index('id="bieu-ntm"'):html.index('id="bieu-vm"')]
    table = ntm.split("<table>")[1].split("</table>")[0]
    assert not any(q in table for q in quận)  # no rows of "0 xã"
    assert "Các quận, huyện không có xã: Quận Hồng Bàng" in ntm
    assert "Các quận, huyện không có phường, thị trấn: Huyện Bạch Long Vĩ." in html


def test_first_half_compares_stocks_with_the_end_of_last_year(demo):
    html = _html(demo, "2017-H1")
    gn = _sentences(html, "bieu-gn")[0]
    assert "so với cuối năm 2016" in gn
    gs = _sentences(html, "bieu-gs")[0]  # a rate of flows: against the whole year's rate
    assert "so với cả năm 2016" in gs
    method = html[html.index('id="phuong-phap"'):]
    assert "so với cuối năm 2016" in method and "chưa có kỳ cùng loại" in method


# -- scenarios made from the demo's tables ------------------------------------------------------

def test_a_sheet_rejected_the_year_before(demo, tmp_path):
    gn = ["GN01", "GN02", "GN03", "GN04", "GN05", "GN06", "GN07", "GN_TL_NGHEO",
          "GN_TL_CAN_NGHEO", "GN_TL_NGHEO_DAU_KY", "TT_TL_GDVH"]
    before = _incomplete(_read(_csv(demo, "2016")), ["307"], gn)  # Kiến An's 2016 GN sheet
    html, now_csv, before_csv = _rerender(demo, tmp_path, _read(_csv(demo, "2017")), before)
    assert words.check(html, now_csv, [before_csv]) == []
    first = _sentences(html, "bieu-gn")[0]
    assert "(trừ Quận Hồng Bàng và Quận Kiến An)" in first or "(trừ Quận Kiến An)" in first


def test_a_tie_names_every_district(demo, tmp_path):
    now = _read(_csv(demo, "2017"))
    houses = (now["level"] == "district") & (now["indicator"] == "AS01")
    top = now.loc[houses, "value"].max()
    for code in ("303", "304", "305", "306"):  # four quận built as many as the leader
        now.loc[houses & (now["org_unit_code"] == code), "value"] = top
    html, now_csv, before_csv = _rerender(demo, tmp_path, now, _read(_csv(demo, "2016")))
    assert words.check(html, now_csv, [before_csv]) == []
    ranking = next(s for s in _sentences(html, "bieu-as") if s.startswith("Nhà Đại đoàn kết"))
    assert re.search(r"\d+ quận, huyện cùng cao nhất \(\d+ nhà\): Quận Hồng Bàng, Quận Ngô Quyền, "
                     r"Quận Lê Chân, Quận Hải An", ranking), ranking
    assert "khác" not in ranking


def test_coverage_too_thin_states_no_change(demo, tmp_path):
    tt = ["TT01", "TT02", "TT03", "TT04", "TT05", "TT06", "TT_TL_GDVH", "TT_TL_KDC_VH"]
    before = _incomplete(_read(_csv(demo, "2016")), ["303", "304", "305", "306", "307", "308"], tt)
    html, now_csv, before_csv = _rerender(demo, tmp_path, _read(_csv(demo, "2017")), before)
    assert words.check(html, now_csv, [before_csv]) == []
    first = _sentences(html, "bieu-tt")[0]
    # six quận rejected in 2016 (Hồng Bàng is also incomplete in 2017): 9 of 15 < 10
    assert "Không nêu thay đổi so với năm 2016: chỉ 9/15 quận, huyện" in first
    assert "(cần ít nhất 10)" in first


# -- the checker can fail ------------------------------------------------------------------------

def test_the_checker_fails_on_a_broken_sentence(demo, tmp_path):
    html = _html(demo, "2017")
    mh = _sentences(html, "bieu-mh")[0]
    said = re.search(r"(tăng|giảm) (\d+) mô hình", mh)  # the demo's change, whatever it is
    assert said, mh
    wrong = f"{said[1]} {int(said[2]) + 1} mô hình"
    broken = html.replace(mh, mh.replace(said[0], wrong, 1))
    assert broken != html
    problems = words.check(broken, _csv(demo, "2017"), [_csv(demo, "2016")])
    assert len(problems) == 1 and "MH01" in problems[0]
    rank = next(s for s in _sentences(html, "bieu-vm") if "cao nhất ở" in s)
    swapped = html.replace(rank, rank.replace("cao nhất", "thấp nhất", 1))
    assert words.check(swapped, _csv(demo, "2017"), [_csv(demo, "2016")])


def test_the_checker_fails_on_the_old_city_sentence(demo, tmp_path, monkeypatch):
    """Before claims the change was the difference of the two city totals, stated as fact,
    whatever districts each covered (`city_sentence` never looked at `complete`)."""
    now, before = _read(_csv(demo, "2017")), _read(_csv(demo, "2016"))
    city = {key: dict(zip(f[f["level"] == "city"]["indicator"], f[f["level"] == "city"]["value"]))
            for key, f in (("now", now), ("before", before))}

    def old(c, show):
        diff = city["now"][c.subject.code] - city["before"][c.subject.code]
        word = "tăng" if diff > 0 else "giảm"
        text = f", {word} {narrative.with_unit(show(abs(diff), True).lstrip('+−'), c.subject)}"
        if c.subject.measure.shape == "sum" and city["before"][c.subject.code] > 0:
            pct = abs(diff) / city["before"][c.subject.code] * 100
            text += f" ({word} {narrative.show_percent(pct)})"
        return text + f" so với {c.basis.phrase}"

    monkeypatch.setattr(narrative, "change_text", old)
    html, now_csv, before_csv = _rerender(demo, tmp_path, now, before)
    diff = city["now"]["MH01"] - city["before"]["MH01"]  # the old sentence, from the city totals
    pct = narrative.show_percent(abs(diff) / city["before"]["MH01"] * 100)
    word = "tăng" if diff > 0 else "giảm"
    said = f"{word} {vn_number(abs(diff))} mô hình ({word} {pct}) so với năm 2016"
    assert said in html, said  # the sentence, with the demo's numbers
    problems = words.check(html, now_csv, [before_csv])
    assert any("MH01" in p and "not complete in both" in p for p in problems), problems
