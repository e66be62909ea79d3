"""Aggregation against numbers worked out by hand (FORM.md section 5)."""
import math
from datetime import date

import pandas as pd
import pytest

from pipelines.record.aggregate import aggregate
from schemas.periods import parse_period
from schemas.units import District, Registry, Unit

FROM, TO = date(2016, 1, 1), date(2020, 1, 31)
P = parse_period("2017")


def _unit(code, name, type_, district):
    return Unit(code, name, type_, district, FROM, TO)


@pytest.fixture(scope="module")
def registry():
    units = [
        _unit("1", "Xã A", "xã", "901"), _unit("2", "Xã B", "xã", "901"),
        _unit("3", "Thị trấn C", "thị trấn", "901"),
        _unit("4", "Phường D", "phường", "902"), _unit("5", "Phường E", "phường", "902"),
        _unit("903", "Huyện Đảo", "huyện", "903"),
    ]
    districts = [District("901", "Huyện Một", "huyện", FROM, TO),
                 District("902", "Quận Hai", "quận", FROM, TO),
                 District("903", "Huyện Đảo", "huyện", FROM, TO)]
    return Registry(units, districts)


NAN = float("nan")
FLAGS_ALL = {f"NTM{n:02d}": 1 for n in range(1, 20)}
FLAGS_15 = {f"NTM{n:02d}": (1 if n <= 15 else 0) for n in range(1, 20)}
VALUES = {
    "1": {"GN01": 1000, "GN02": 12, "GN06": 10, "GN07": 20, "TT01": NAN, "TT04": 900, "TT05": 4,
          "TT06": 3, "GS03": 10, "GS04": 5, "NL01": 1.1, "NL02": 2.2, "NL03": NAN,
          **FLAGS_ALL, "NTM20": 2016},
    "2": {"GN01": 3000, "GN02": 95, "GN06": 90, "GN07": 100, "TT01": 5, "TT04": 2000, "TT05": 6,
          "TT06": 6, "GS03": NAN, "GS04": 3, "NL01": 0.1, "NL02": 0.2, "NL03": 0.0,
          **FLAGS_15, "NTM20": NAN},
    "3": {"GN01": 2000, "GN02": 11, "GN06": 10, "GN07": 30, "TT01": 7, "TT04": 1500, "TT05": 5,
          "TT06": 1, "GS03": 4, "GS04": 4, "NL01": 5, "NL02": 5, "NL03": 5,
          "VM01": 10, "VM02": 7, "VM03": 1, "VM04": 2015},
    "4": {"GN01": 500, "GN02": 1, "GN06": 1, "GN07": 1, "TT01": 1, "TT04": 400, "TT05": 2,
          "TT06": 2, "VM01": 8, "VM02": 8, "VM03": 0, "VM04": NAN},
    "5": {"GN01": 700, "GN02": 2, "GN06": 2, "GN07": 2, "TT01": 1, "TT04": 600, "TT05": 3,
          "TT06": 3, "VM01": 6, "VM02": 3, "VM03": 1, "VM04": 2016},
    "903": {"GN01": 300, "GN02": 3, "GN06": 3, "GN07": 3, "TT01": 2, "TT04": 250, "TT05": 2,
            "TT06": 2, "GS03": 2, "GS04": 1},
}
SHEET = {"GN": "GN", "TT": "TT", "GS": "GS", "NL": "NL", "NTM": "NTM", "VM": "VM"}
DISTRICT = {"1": "901", "2": "901", "3": "901", "4": "902", "5": "902", "903": "903"}
# 902's GN sheet was rejected; every other sheet with values was accepted.
ACCEPTED = [(d, s) for d in ("901", "902", "903") for s in ("GN", "TT", "GS", "NL", "NTM", "VM")
            if (d, s) != ("902", "GN")]


def _inputs(catalogue):
    rows = []
    for unit, vals in VALUES.items():
        for code, v in vals.items():
            sheet = catalogue.indicators[code].sheet
            if (DISTRICT[unit], sheet) in ACCEPTED:
                rows.append({"district_code": DISTRICT[unit], "unit_code": unit, "sheet": sheet,
                             "indicator": code, "value": v})
    accepted = pd.DataFrame(ACCEPTED, columns=["district_code", "sheet"])
    return pd.DataFrame(rows), accepted


@pytest.fixture(scope="module")
def agg(registry, catalogue):
    values, accepted = _inputs(catalogue)
    return aggregate(values, accepted, registry, P, catalogue)


def get(agg, level, code, indicator):
    row = agg[(agg.level == level) & (agg.org_unit_code == code) & (agg.indicator == indicator)]
    assert len(row) == 1, (level, code, indicator, len(row))
    return row.value.iloc[0], bool(row.complete.iloc[0])


def approx(v):
    return pytest.approx(v, rel=1e-12)


def test_rate_is_recomputed_from_sums(agg):
    value, complete = get(agg, "district", "901", "GN_TL_NGHEO")
    assert value == approx(100 * (10 + 90 + 10) / (1000 + 3000 + 2000))  # 1.8333, not 1.5
    assert complete
    assert get(agg, "district", "901", "GN01") == (6000, True)


def test_unit_rows_carry_reported_values(agg):
    assert get(agg, "unit", "2", "GN_TL_NGHEO")[0] == approx(3.0)
    assert get(agg, "unit", "1", "NTM20") == (2016, True)
    assert get(agg, "unit", "2", "NTM16") == (0, True)
    v, c = get(agg, "unit", "2", "NTM20")  # blank year: not yet recognised, still complete
    assert math.isnan(v) and c


def test_blank_is_not_zero(agg):
    v, c = get(agg, "unit", "1", "TT01")
    assert math.isnan(v) and not c
    assert get(agg, "district", "901", "TT01") == (12, False)  # a lower bound


def test_rejected_sheet_leaves_district_empty(agg):
    v, c = get(agg, "district", "902", "GN01")
    assert math.isnan(v) and not c
    v, c = get(agg, "district", "902", "GN_TL_NGHEO")
    assert math.isnan(v) and not c
    v, c = get(agg, "unit", "4", "GN01")
    assert math.isnan(v) and not c
    assert get(agg, "city", "31", "GN01") == (6300, False)  # 901 + 903 only
    value, c = get(agg, "city", "31", "GN_TL_NGHEO")
    assert value == approx(100 * 113 / 6300) and not c


def test_rate_uses_only_units_with_all_inputs(agg):
    value, c = get(agg, "district", "901", "GS_TL_GIAI_QUYET")
    assert value == approx(100 * (5 + 4) / (10 + 4)) and not c  # Xã B left GS03 blank
    assert get(agg, "district", "901", "GS04") == (12, True)


def test_cross_sheet_rate(agg):
    value, c = get(agg, "district", "901", "TT_TL_GDVH")
    assert value == approx(100 * (900 + 2000 + 1500) / 6000) and c
    v, c = get(agg, "district", "902", "TT_TL_GDVH")  # GN01 comes from a rejected sheet
    assert math.isnan(v) and not c


def test_ntm_indicators(agg):
    assert get(agg, "district", "901", "NTM_SO_XA") == (2, True)
    assert get(agg, "district", "901", "NTM_SO_XA_DAT") == (1, True)
    assert get(agg, "district", "901", "NTM_TL_XA_DAT") == (approx(50.0), True)
    assert get(agg, "district", "901", "NTM_TB_TC") == (approx(17.0), True)
    assert get(agg, "district", "901", "NTM_TC01_TL_DAT") == (approx(100.0), True)
    assert get(agg, "district", "901", "NTM_TC16_TL_DAT") == (approx(50.0), True)
    assert get(agg, "unit", "1", "NTM_TB_TC") == (approx(19.0), True)


def test_level_without_units_of_the_kind(agg):
    assert get(agg, "district", "902", "NTM_SO_XA") == (0, True)
    v, _ = get(agg, "district", "902", "NTM_TL_XA_DAT")
    assert math.isnan(v)
    assert get(agg, "district", "903", "VM_SO_DV") == (0, True)
    assert agg[(agg.org_unit_code == "902") & (agg.indicator == "NTM01")].empty  # flags not summed
    assert get(agg, "district", "903", "VM01") == (0, True)  # no ward or township: a sum of nothing


def test_civilised_urban_counts(agg):
    assert get(agg, "district", "902", "VM_SO_DV") == (2, True)
    assert get(agg, "district", "902", "VM_SO_DAT") == (1, True)
    assert get(agg, "city", "31", "VM_SO_DAT") == (2, True)
    assert get(agg, "city", "31", "VM01") == (24, True)


def test_partial_sum_and_money_rounding(agg):
    assert get(agg, "unit", "1", "NL_TONG") == (approx(3.3), False)
    value, c = get(agg, "district", "901", "NL_TONG")
    assert value == 18.6 and not c  # 3.3 + 0.3 + 15, rounded to the cent
    assert get(agg, "district", "901", "NL02")[0] == 7.4  # 2.2 + 0.2 + 5 without float noise


def test_no_commune_district_is_unit_and_district(agg):
    assert get(agg, "unit", "903", "GN01") == (300, True)
    assert get(agg, "district", "903", "GN01") == (300, True)
    assert agg[(agg.level == "unit") & (agg.org_unit_code == "903") & (agg.indicator == "NTM_SO_XA")].empty


def test_one_row_per_org_unit_and_indicator(agg):
    assert not agg.duplicated(["level", "org_unit_code", "indicator"]).any()
    assert set(agg.level) == {"unit", "district", "city"}
    assert (agg.period == "2017").all()
