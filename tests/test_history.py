"""R14-R17: against the record (a real DuckDB file), against peers, and cost per house."""
import uuid

import numpy as np
import pandas as pd
import pytest
from builders import clean_values, column_of, edit, unit_row, write_clean

from pipelines import history, record
from pipelines.flows import period_tables
from pipelines.validate import WorkbookResult, check_workbook
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
        assert _rules(history.check_with_record(same, db), "R14") == []
        found = history.check_with_record(other, db)
        assert _rules(found, "R14") == [("4. Giảm nghèo", gn02)]
        assert "42" in found.findings[0].message and found.errors == 0
    # no record, or no annual report of last year on it: nothing to compare
    assert _rules(history.check_with_record(other, None), "R14") == []
    assert _rules(history.check_with_record(other, tmp_path / "none.duckdb"), "R14") == []


def test_r16_annual_flow_below_h1(tmp_path, catalogue, registry):
    db = tmp_path / "thongke.duckdb"
    h1 = clean_values(BLV, "2017-H1")
    h1["MH"][BLV]["MH03"] = 40
    _record(db, write_clean(tmp_path / "h1.xlsx", BLV, "2017-H1", values=h1), "2017-H1",
            catalogue, registry)
    year = clean_values(BLV, "2017")
    year["MH"][BLV]["MH03"] = 25  # the whole year cannot have less than its first half
    result = history.check_with_record(write_clean(tmp_path / "y.xlsx", BLV, "2017", values=year), db)
    cell = f"{column_of('MH', 'MH03')}{unit_row(BLV, '2017', 'MH', BLV)}"
    assert _rules(result, "R16") == [("7. Mô hình", cell)]
    year["MH"][BLV]["MH03"] = 40
    result = history.check_with_record(write_clean(tmp_path / "y2.xlsx", BLV, "2017", values=year), db)
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
