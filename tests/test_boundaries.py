"""A period's numbers on another period's boundaries: `pipelines/record/boundaries.py`."""
import math

import pandas as pd
import pytest

from pipelines.forms.sample import simulate_values
from pipelines.record.aggregate import aggregate
from pipelines.record.boundaries import aggregate_on, boundary_changes, on_boundaries
from schemas.catalogue import load_catalogue
from schemas.periods import parse_period
from schemas.units import load_registry

CAT, REG = load_catalogue(), load_registry()
P2019, P2020 = parse_period("2019"), parse_period("2020")
TIEN_LANG, DO_SON = "315", "306"


def _long(district: str, period) -> pd.DataFrame:
    sim = simulate_values(district, period)
    rows = [(district, unit, code, float(v) if v is not None else math.nan)
            for sheet in sim.values() for unit, vals in sheet.items() for code, v in vals.items()]
    return pd.DataFrame(rows, columns=["district_code", "unit_code", "indicator", "value"])


def _value(frame, unit, code):
    hit = frame[(frame["unit_code"] == unit) & (frame["indicator"] == code)]["value"]
    assert len(hit) == 1, (unit, code, len(hit))
    return hit.iloc[0]


@pytest.fixture(scope="module")
def tien_lang_2019():
    return _long(TIEN_LANG, P2019)


def test_an_absorber_sums_what_it_absorbed(tien_lang_2019):
    mapped = on_boundaries(tien_lang_2019, REG, P2019, P2020, CAT)
    for code in ("GN01", "GN06", "NL01"):  # households, poor households, money
        assert _value(mapped, "11770", code) == pytest.approx(
            _value(tien_lang_2019, "11770", code) + _value(tien_lang_2019, "11767", code))
    # a flag is the absorber's own, not a sum
    assert _value(mapped, "11770", "NTM01") == _value(tien_lang_2019, "11770", "NTM01")
    assert "11767" not in set(mapped["unit_code"])  # the absorbed unit is gone
    merged = {"11767", "11770", "11818", "11821"}  # Tiên Lãng's two mergers of 2020
    untouched = tien_lang_2019[~tien_lang_2019["unit_code"].isin(merged)]
    pd.testing.assert_frame_equal(
        untouched.reset_index(drop=True),
        mapped[~mapped["unit_code"].isin(merged)].reset_index(drop=True))


def test_a_blank_predecessor_makes_the_sum_blank(tien_lang_2019):
    blanked = tien_lang_2019[~((tien_lang_2019["unit_code"] == "11767")
                               & (tien_lang_2019["indicator"] == "GN01"))]
    mapped = on_boundaries(blanked, REG, P2019, P2020, CAT)
    assert mapped[(mapped["unit_code"] == "11770") & (mapped["indicator"] == "GN01")].empty
    assert _value(mapped, "11770", "GN06") == pytest.approx(
        _value(tien_lang_2019, "11770", "GN06") + _value(tien_lang_2019, "11767", "GN06"))


def test_without_a_boundary_change_nothing_moves():
    p2018 = parse_period("2018")
    values = _long(TIEN_LANG, p2018)
    accepted = pd.DataFrame({"district_code": TIEN_LANG, "sheet": [s.key for s in CAT.sheets]})
    ours = aggregate_on(values, accepted, REG, p2018, P2019, CAT)
    own = aggregate(values, accepted, REG, p2018, CAT)
    pd.testing.assert_frame_equal(ours, own)


def test_district_totals_on_current_boundaries_equal_the_sums(tien_lang_2019):
    accepted = pd.DataFrame({"district_code": TIEN_LANG, "sheet": [s.key for s in CAT.sheets]})
    ours = aggregate_on(tien_lang_2019, accepted, REG, P2019, P2020, CAT)
    district = ours[(ours["level"] == "district") & (ours["org_unit_code"] == TIEN_LANG)]
    households = district[district["indicator"] == "GN01"]["value"].iloc[0]
    assert households == tien_lang_2019[tien_lang_2019["indicator"] == "GN01"]["value"].sum()
    units = set(ours[ours["level"] == "unit"]["org_unit_code"])
    assert "11767" not in units and "11770" in units
    assert set(ours["period"]) == {"2019"}


def test_a_reused_code_names_two_units():
    """11344: Lương Khánh Thiện until 2020 (into 11353 Cầu Đất), Cầu Đất again from 2025
    (11353 recoded to 11344): on 2025's boundaries 11344's 2019 value is both 2019 units'."""
    ngo_quyen = next(u.district_code for u in REG.all_units(P2019) if u.code == "11344")
    values = _long(ngo_quyen, P2019)
    mapped = on_boundaries(values, REG, P2019, parse_period("2025-H1"), CAT)
    assert _value(mapped, "11344", "GN01") == pytest.approx(
        _value(values, "11344", "GN01") + _value(values, "11353", "GN01"))
    # on 2020's boundaries the old 11344 is inside 11353 and code 11344 is nobody's
    mapped_2020 = on_boundaries(values, REG, P2019, P2020, CAT)
    assert "11344" not in set(mapped_2020["unit_code"])


def test_boundary_changes_lists_what_the_periods_span():
    changes = boundary_changes(REG, [P2019, P2020])
    assert {(s.old_code, s.change) for s in changes} >= {("11767", "absorbed"),
                                                          ("11464", "absorbed")}
    assert all(s.effective.isoformat() == "2020-02-01" for s in changes)
    assert boundary_changes(REG, [parse_period("2017"), P2019]) == []
    assert boundary_changes(REG, [P2020]) == []


def test_method_note_words_for_boundary_changes(registry):
    from datetime import date

    from pipelines.report.compare import MAX_NAMED_CHANGES, boundary_lines
    from schemas.successions import Succession

    assert boundary_lines([]) == []
    changes = boundary_changes(registry, [parse_period("2019"), parse_period("2020")])
    lines = boundary_lines(changes, {"11770": "Huyện Tiên Lãng"})
    assert "từ 01/02/2020: " in lines[0]
    assert "Xã Tiên Tiến nhập vào Xã Quyết Tiến (Huyện Tiên Lãng)" in lines[0]
    assert lines[1] == "Ngoài ra: 1 đơn vị đổi tên."  # Ngọc Hải -> Hải Sơn
    assert "không phải kết quả thực hiện" in lines[-1]
    many = [Succession(date(2025, 1, 1), str(n), f"Xã {n}", "1", "Xã Một", "absorbed", 1.0, "")
            for n in range(MAX_NAMED_CHANGES + 1)]
    assert f"{MAX_NAMED_CHANGES + 1} đơn vị nhập vào đơn vị khác" in boundary_lines(many)[0]


def test_trend_breaks_fall_between_the_periods_a_change_is_in(registry):
    from pipelines.report.plans import trend_breaks

    periods = [parse_period(p) for p in ("2019", "2020-H1", "2020", "2021")]
    assert trend_breaks(periods, registry) == {1: "Thay đổi địa giới 01/02/2020"}
    assert trend_breaks(periods[1:], registry) == {}
    assert trend_breaks(periods, None) == {}


def test_an_ended_unit_makes_its_district_not_comparable(registry, catalogue):
    """2024 on 2025-H1's boundaries: units gone with no successor named leave their
    districts (and the top) incomplete, so no change is stated over them."""
    from pipelines.record.boundaries import ended_in, restated

    since, to = parse_period("2024"), parse_period("2025-H1")
    hit = ended_in(registry, since, to)
    assert hit and hit < {d.code for d in registry.districts(to)}
    frames = []
    for d in registry.districts(since):
        for unit, row in simulate_values(d.code, since)["GN"].items():
            frames += [(d.code, unit, "GN", code, float(v)) for code, v in row.items() if v is not None]
    vals = pd.DataFrame(frames, columns=["district_code", "unit_code", "sheet", "indicator", "value"])
    accepted = pd.DataFrame([(d.code, "GN") for d in registry.districts(since)],
                            columns=["district_code", "sheet"])
    recorded = aggregate(vals, accepted, registry, since, catalogue)
    out = restated(recorded, lambda p: (vals, accepted), registry, to, catalogue)
    districts = out[(out["level"] == "district") & (out["indicator"] == "GN01")].set_index("org_unit_code")
    assert not districts.loc[sorted(hit), "complete"].any()
    others = sorted(set(districts.index) - hit)
    assert districts.loc[others, "complete"].all()
    assert not out[(out["level"] == "city") & (out["indicator"] == "GN01")]["complete"].any()
