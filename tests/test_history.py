"""R14-R17: against the record (a real DuckDB file), against peers, and cost per house."""
import uuid

import numpy as np
import pandas as pd
import pytest
from builders import clean_values, column_of, edit, unit_row, write_clean

from pipelines.check import history
from pipelines.record import db as record
from pipelines.check.period import check_one, period_tables
from pipelines.check.checker import WorkbookResult, check_workbook
from schemas.checks import Outliers, load_checks
from schemas.periods import parse_period

BLV = "318"  # Bạch Long Vĩ: one unit, its own code


def _check(path, catalogue, registry, period):
    return check_workbook(path, catalogue=catalogue, registry=registry,
                          expected_period=parse_period(period))


def _record(db, path, period, catalogue, registry):
    results = [_check(path, catalogue, registry, period)]
    t = period_tables(results, period)
    record.write_period(db, period, str(uuid.uuid4()), submissions=t["submissions"],
                        sheets=t["sheets"], values=t["values"], findings=t["findings"])


def _rules(result, rule):
    return [(f.sheet, f.cell) for f in result.findings if f.rule == rule]


def _values_with(period, **gn):
    """Clean values for Bạch Long Vĩ with the GN row changed and GN06 kept balanced."""
    v = clean_values(BLV, period)
    row = v["GN"][BLV]
    row.update(gn)
    row["GN06"] = row["GN02"] - row["GN03"] + row["GN04"] + row["GN05"]
    return v


@pytest.mark.parametrize("houses,money,flagged", [
    ((1, 1), 120, False), ((1, 0), 2, True), ((1, 1), 700, True), ((0, 0), 50, True),
    ((0, 0), 0, False), ((2, 0), None, False), ((1, 0), 5, False), ((1, 0), 300, False)])
def test_r17_cost_per_house(houses, money, flagged, tmp_path, catalogue, registry):
    path = write_clean(tmp_path / "a.xlsx", BLV, "2017")
    row = unit_row(BLV, "2017", "AS", BLV)
    cell = f"{column_of('AS', 'AS03')}{row}"
    edit(path, **{f"3. Hỗ trợ hộ nghèo!{column_of('AS', 'AS01')}{row}": houses[0],
                  f"3. Hỗ trợ hộ nghèo!{column_of('AS', 'AS02')}{row}": houses[1],
                  f"3. Hỗ trợ hộ nghèo!{cell}": money})
    result = _check(path, catalogue, registry, "2017")
    assert _rules(result, "R17") == ([("3. Hỗ trợ hộ nghèo", cell)] if flagged else [])
    assert result.errors == 0 and result.status == "accepted"  # a warning keeps the data


def test_r14_start_of_year_against_last_years_report(tmp_path, catalogue, registry):
    db = tmp_path / "thongke.duckdb"
    last = write_clean(tmp_path / "2016.xlsx", BLV, "2016", values=_values_with("2016", GN02=50))
    _record(db, last, "2016", catalogue, registry)
    end_2016 = 50 - 10 + 0 + 2
    gn02 = f"{column_of('GN', 'GN02')}{unit_row(BLV, '2017', 'GN', BLV)}"
    for period in ("2017-H1", "2017"):
        same = write_clean(tmp_path / f"same {period}.xlsx", BLV, period,
                           values=_values_with(period, GN02=end_2016))
        other = write_clean(tmp_path / f"other {period}.xlsx", BLV, period,
                            values=_values_with(period, GN02=end_2016 + 7))
        assert _rules(check_one(same, db), "R14") == []
        found = check_one(other, db)
        assert _rules(found, "R14") == [("4. Giảm nghèo", gn02)]
        assert "42" in found.findings[0].message and found.errors == 0
    # no record, or no annual report of last year on it: nothing to compare
    assert _rules(check_one(other, None), "R14") == []
    assert _rules(check_one(other, tmp_path / "none.duckdb"), "R14") == []


def test_r16_annual_flow_below_h1(tmp_path, catalogue, registry):
    db = tmp_path / "thongke.duckdb"
    h1 = clean_values(BLV, "2017-H1")
    h1["MH"][BLV]["MH03"] = 40
    _record(db, write_clean(tmp_path / "h1.xlsx", BLV, "2017-H1", values=h1), "2017-H1",
            catalogue, registry)
    year = clean_values(BLV, "2017")
    year["MH"][BLV]["MH03"] = 25  # the whole year cannot have less than its first half
    result = check_one(write_clean(tmp_path / "y.xlsx", BLV, "2017", values=year), db)
    cell = f"{column_of('MH', 'MH03')}{unit_row(BLV, '2017', 'MH', BLV)}"
    assert _rules(result, "R16") == [("7. Mô hình", cell)]
    year["MH"][BLV]["MH03"] = 40
    result = check_one(write_clean(tmp_path / "y2.xlsx", BLV, "2017", values=year), db)
    assert _rules(result, "R16") == []


# ---------------------------------------------------------------- R15, pure


def _result(values: list[tuple[str, str, float]], district="X") -> WorkbookResult:
    """A checked workbook reduced to its accepted values (unit, indicator, value)."""
    frame = pd.DataFrame([{"sheet": "S", "unit_code": u, "indicator": i, "value": v, "cell": f"D{n + 7}"}
                          for n, (u, i, v) in enumerate(values)])
    return WorkbookResult(file="f.xlsx", sha256="", mtime=0, district_code=district,
                          period="2017", _values=frame)


def _context(peers: dict[str, float], indicator: str, earlier=None) -> history.Context:
    types = {u: "xã" for u in peers} | {"u": "xã"}
    ctx = history.Context.empty(parse_period("2017"), types)
    ctx.peers = pd.DataFrame([("Y", u, indicator, v) for u, v in peers.items()],
                             columns=history.PEER_COLUMNS)
    if earlier is not None:
        ctx.earlier = pd.DataFrame(earlier, columns=history.HISTORY_COLUMNS)
    return ctx


def _r15(value, ctx, indicator, catalogue):
    found = history.history_findings(_result([("u", indicator, value)]), ctx, catalogue, load_checks())
    return [f for f in found if f.rule == "R15"]


def test_r15_extra_zeros_against_peers(catalogue):
    rng = np.random.default_rng(1)
    peers = {f"p{i}": float(round(v)) for i, v in enumerate(rng.lognormal(np.log(1500), 0.5, 40))}
    ctx = _context(peers, "TT02")
    assert _r15(1600.0, ctx, "TT02", catalogue) == []
    flagged = _r15(160000.0, ctx, "TT02", catalogue)  # typed with two zeros too many
    assert len(flagged) == 1 and "cùng loại" in flagged[0].message
    assert flagged[0].cell == "D7" and flagged[0].severity == "warning"
    # a flow far below its peers is a quiet period, not an error; a stock far below is flagged
    assert _r15(14.0, ctx, "TT02", catalogue) == []
    stock = _context(peers, "TT03")
    assert len(_r15(14.0, stock, "TT03", catalogue)) == 1


def test_r15_zero_heavy_counts_raise_no_alarm(catalogue):
    """Most communes build no house in a period: mean and standard deviation bounds would
    flag every 2 or 3; the robust score does not."""
    peers = {f"p{i}": float(v) for i, v in enumerate([0] * 30 + [1] * 6 + [2] * 3 + [3])}
    ctx = _context(peers, "AS01")
    for value in (0.0, 1.0, 3.0, 6.0):
        assert _r15(value, ctx, "AS01", catalogue) == [], value
    mean, sd = np.mean(list(peers.values())), np.std(list(peers.values()))
    assert 3.0 > mean + 3 * sd  # what a mean +- 3 sd rule would have flagged


def test_r15_against_the_units_own_history(catalogue):
    earlier = [("2014", "u", "TT05", 12.0), ("2015", "u", "TT05", 12.0), ("2016", "u", "TT05", 12.0)]
    ctx = _context({}, "TT05", earlier)
    assert _r15(13.0, ctx, "TT05", catalogue) == []  # a stock that never moved, moves by one
    flagged = _r15(1200.0, ctx, "TT05", catalogue)
    assert len(flagged) == 1 and "các kỳ trước" in flagged[0].message
    too_short = _context({}, "TT05", earlier[:2])  # fewer than min_history values: no score
    assert _r15(1200.0, too_short, "TT05", catalogue) == []


def test_r15_flows_compare_with_the_same_half(catalogue):
    """An annual flow is about twice its H1: H1 values are not its history."""
    earlier = [(f"{y}-H1", "u", "TT02", 500.0) for y in (2014, 2015, 2016)]
    ctx = _context({}, "TT02", earlier)
    assert _r15(50_000.0, ctx, "TT02", catalogue) == []
    ctx = _context({}, "TT02", [(str(y), "u", "TT02", 500.0) for y in (2014, 2015, 2016)])
    assert len(_r15(50_000.0, ctx, "TT02", catalogue)) == 1


def test_r15_thresholds_are_configuration(catalogue, tmp_path):
    rng = np.random.default_rng(2)
    peers = {f"p{i}": float(round(v)) for i, v in enumerate(rng.lognormal(np.log(1500), 0.5, 40))}
    ctx = _context(peers, "TT02")
    strict = load_checks()
    relaxed = type(strict)(outliers=Outliers(z=50.0))
    found = history.history_findings(_result([("u", "TT02", 160000.0)]), ctx, catalogue, relaxed)
    assert found == []
    config = tmp_path / "checks.toml"
    config.write_text("[R15]\nz = 50\n[R17]\nlow = 1\n", encoding="utf-8")
    from schemas.checks import load_checks as load

    assert load(config).outliers.z == 50 and load(config).cost.low == 1
    config.write_text("[R15]\nzz = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="zz"):
        load(config)


# A real case (2016, phường of Đồ Sơn) said "trung vị 1.886,2" where the median of the values
# is 1.886,5: the score's centre, exp(median of log(1 + value)) - 1, is not the median of an
# even count of values. The message shows the median; the score, and so what is flagged, stays.
EVEN_PEERS = [1500.0, 1620.0, 1700.0, 1790.0, 1853.0, 1920.0, 2010.0, 2100.0, 2250.0, 2400.0]


def _median_shown(message: str) -> str:
    return message.split("trung vị ")[1].split(")")[0]


def test_r15_message_shows_the_median_of_the_peers_values(catalogue):
    from statistics import median

    from pipelines.base.text import vn_flexible

    ctx = _context({f"p{i}": v for i, v in enumerate(EVEN_PEERS)}, "TT03")
    centre = np.expm1(np.median(np.log1p(EVEN_PEERS)))
    assert vn_flexible(round(centre, 2)) == "1.886,2" and median(EVEN_PEERS) == 1886.5
    # 9436 is 5.0005 times the centre plus one, 4.9997 times the median plus one: flagged
    # by the score as before (min_ratio = 5), whatever the message shows
    candidates = [1900.0, 9400.0, 9436.0, 9500.0, 160000.0, 150.0, 400.0]
    flagged = {v: _r15(v, ctx, "TT03", catalogue) for v in candidates}
    assert {v for v, f in flagged.items() if f} == {9436.0, 9500.0, 160000.0, 150.0}
    for v in (9436.0, 9500.0, 160000.0, 150.0):
        (f,) = flagged[v]
        assert "các đơn vị cùng loại (xã) trong kỳ" in f.message
        assert _median_shown(f.message) == vn_flexible(median(EVEN_PEERS)) == "1.886,5"


def test_r15_message_shows_the_median_of_the_units_own_values(catalogue):
    from statistics import median

    from pipelines.base.text import vn_flexible

    own = [1700.0, 1853.0, 1920.0, 2010.0]  # a stock: every earlier period is its history
    earlier = [(str(2012 + n), "u", "TT05", v) for n, v in enumerate(own)]
    ctx = _context({}, "TT05", earlier)
    assert _r15(2500.0, ctx, "TT05", catalogue) == []
    (f,) = _r15(9500.0, ctx, "TT05", catalogue)
    assert "khác xa các kỳ trước của chính đơn vị (trung vị " in f.message
    assert _median_shown(f.message) == vn_flexible(median(own)) == "1.886,5"


def test_r15_says_the_zeros_were_left_out_only_where_that_changed_the_median(catalogue):
    from statistics import median

    from pipelines.base.text import vn_flexible

    peers = EVEN_PEERS + [0.0] * 6  # six wards with nothing: not a reference
    ctx = _context({f"p{i}": v for i, v in enumerate(peers)}, "TT03")
    (f,) = _r15(9500.0, ctx, "TT03", catalogue)
    assert median(peers) == 1660.0  # not what is shown, so the message says whose median
    assert "(trung vị của các đơn vị có số liệu khác 0: 1.886,5)" in f.message
    assert vn_flexible(median([v for v in peers if v > 0])) == "1.886,5"
    # a zero that leaves the median where it is needs no words
    earlier = [("2012", "u", "TT05", 0.0)] + [(str(y), "u", "TT05", 12.0) for y in (2013, 2014, 2015, 2016)]
    (f,) = _r15(1200.0, _context({}, "TT05", earlier), "TT05", catalogue)
    assert median([v for *_, v in earlier]) == 12.0
    assert "các kỳ trước của chính đơn vị (trung vị 12)" in f.message


def test_r15_names_the_periods_a_flow_is_compared_with(catalogue):
    """A flow's history is the same half of earlier years: the message does not call the
    median of the annual reports the median of every earlier period."""
    earlier = ([(str(y), "u", "TT02", 500.0 + y - 2014) for y in (2014, 2015, 2016)]
               + [(f"{y}-H1", "u", "TT02", 10.0) for y in (2014, 2015, 2016, 2017)])
    (f,) = _r15(50_000.0, _context({}, "TT02", earlier), "TT02", catalogue)
    assert "khác xa các kỳ cả năm trước đây của chính đơn vị (trung vị 501)" in f.message
    half = history.Context.empty(parse_period("2017-H1"), {"u": "xã"})
    half.earlier = pd.DataFrame([(f"{y}-H1", "u", "TT02", 200.0) for y in (2014, 2015, 2016)]
                                + [(str(y), "u", "TT02", 3.0) for y in (2014, 2015, 2016)],
                                columns=history.HISTORY_COLUMNS)
    (f,) = _r15(20_000.0, half, "TT02", catalogue)
    assert "khác xa các kỳ 6 tháng đầu năm trước đây của chính đơn vị (trung vị 200)" in f.message


# ------------------------------------------------------------ R14 across a succession


@pytest.mark.parametrize("start, warned", [(59.0, False), (26.0, True), (58.0, True)])
def test_r14_sums_what_an_absorber_absorbed(catalogue, registry, start, warned):
    """Xã Quyết Tiến (11770) absorbed Xã Tiên Tiến (11767) on 1 Feb 2020: its households at
    the start of 2020 are its own end of 2019 plus Tiên Tiến's (26 + 33 = 59), which is
    right, not a mismatch; anything else is compared with that sum, and the message says so."""
    per = parse_period("2020-H1")
    ctx = history.Context.of(per, registry)
    ctx.earlier = pd.DataFrame([("2019", "11770", "GN06", 26.0), ("2019", "11767", "GN06", 33.0),
                                ("2019", "11773", "GN06", 40.0)], columns=history.HISTORY_COLUMNS)
    result = _result([("11770", "GN02", start), ("11773", "GN02", 40.0)], district="315")
    result.period = str(per)
    found = [f for f in history.history_findings(result, ctx, catalogue, load_checks())
             if f.rule == "R14"]
    assert len(found) == int(warned)
    if warned:
        assert "là 59 (cộng Xã Quyết Tiến và Xã Tiên Tiến" in found[0].message


def test_r14_is_silent_when_a_predecessor_is_not_on_record(catalogue, registry):
    per = parse_period("2020-H1")
    ctx = history.Context.of(per, registry)
    ctx.earlier = pd.DataFrame([("2019", "11770", "GN06", 26.0)], columns=history.HISTORY_COLUMNS)
    result = _result([("11770", "GN02", 59.0)], district="315")
    assert [f for f in history.history_findings(result, ctx, catalogue, load_checks())
            if f.rule == "R14"] == []


# ------------------------------------------------------------ R15 across a succession


@pytest.mark.parametrize("on_boundaries, flagged", [(True, False), (False, True)])
def test_r15_scores_an_absorber_against_what_it_is_made_of(catalogue, registry, on_boundaries,
                                                           flagged):
    """Phường Hải Sơn (11458, Ngọc Hải until 2020) absorbed Phường Vạn Sơn (11464) on 1 Feb
    2020: its 6.000 households in 2020 are far above its own 1.000 before the merger, and
    not above what it is made of today (1.000 + 5.000): its own history is read on the
    period's boundaries (docs/decisions.md)."""
    per = parse_period("2020")
    ctx = history.Context.of(per, registry)
    ctx.earlier = pd.DataFrame([(y, u, "GN01", v) for y in ("2017", "2018", "2019")
                                for u, v in (("11458", 1000.0), ("11464", 5000.0))],
                               columns=history.HISTORY_COLUMNS)
    if on_boundaries:
        ctx.own_history = history.on_current_boundaries(ctx.earlier, per, registry, catalogue)
    result = _result([("11458", "GN01", 6000.0)], district="308")
    result.period = str(per)
    found = [f for f in history.history_findings(result, ctx, catalogue, load_checks())
             if f.rule == "R15"]
    assert bool(found) == flagged


def test_own_history_on_current_boundaries_keeps_untouched_units(catalogue, registry):
    earlier = pd.DataFrame([("2019", "11773", "GN01", 700.0), ("2019", "11767", "GN01", 300.0),
                            ("2019", "11770", "GN01", 400.0), ("2018", "11767", "GN01", 290.0),
                            ("2018", "11770", "GN01", 390.0)], columns=history.HISTORY_COLUMNS)
    mapped = history.on_current_boundaries(earlier, parse_period("2020"), registry, catalogue)
    got = {(p, u): v for p, u, _, v in mapped.itertuples(index=False)}
    assert got == {("2019", "11773"): 700.0, ("2019", "11770"): 700.0, ("2018", "11770"): 680.0}
