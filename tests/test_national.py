"""Another units file (THONGKE_UNITS), as the national benchmark uses: two provinces with
a district of the same name each."""
import csv

import pytest

from pipelines.record.aggregate import aggregate
from pipelines.check.period import period_tables
from schemas.checks import load_checks
from schemas.programme import Programme
from pipelines.forms.sample import generate
from pipelines.check.checker import check_workbooks
from schemas.catalogue import load_catalogue
from schemas.periods import parse_period
from schemas.units import _load, load_registry

COLUMNS = ["valid_from", "valid_to", "province_code", "province_name", "district_code",
           "district_name", "district_type", "unit_code", "unit_name", "unit_type"]
UNITS = [  # (province, district, district name, unit, unit name)
    ("80", "Tỉnh Long An", "807", "Huyện Châu Thành", "27880", "Thị trấn Tầm Vu"),
    ("80", "Tỉnh Long An", "807", "Huyện Châu Thành", "27883", "Xã Hiệp Thạnh"),
    ("82", "Tỉnh Tiền Giang", "820", "Huyện Châu Thành", "28249", "Thị trấn Tân Hiệp"),
    ("82", "Tỉnh Tiền Giang", "820", "Huyện Châu Thành", "28252", "Xã Tân Hội Đông"),
]


@pytest.fixture
def national(tmp_path):
    path = tmp_path / "units.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for prov, pname, dist, dname, unit, uname in UNITS:
            w.writerow(["2016-01-01", "2020-01-31", prov, pname, dist, dname, "huyện", unit,
                        uname, uname.split()[0].lower()])
    yield load_registry(units_file=path)
    _load.cache_clear()


def test_registry_from_another_units_file(national):
    assert (national.top_code, national.top_name, national.top_label) == ("0", "Cả nước", "Cả nước")
    assert [d.code for d in national.districts(parse_period("2016"))] == ["807", "820"]
    assert [u.code for u in national.units("820", parse_period("2016"))] == ["28249", "28252"]
    assert load_registry().top_code == "31"  # the shipped registry unless told another


def test_sample_check_and_aggregate_across_provinces(national, tmp_path):
    manifest = generate(tmp_path / "raw", periods=("2016",), clean=True, registry=national)
    files = sorted((tmp_path / "raw" / "2016").glob("*.xlsx"))
    assert len(manifest) == len(files) == 2  # same district name, two files
    results = check_workbooks([(p, p.name) for p in files], catalogue=load_catalogue(),
                              registry=national, expected_period=parse_period("2016"))
    assert sorted(r.district_code for r in results) == ["807", "820"]
    assert all(r.status == "accepted" for r in results), [r.findings for r in results]
    programme = Programme(load_catalogue(), national, load_checks())
    tables = period_tables(results, "2016", programme)
    sheets = tables["sheets"]
    accepted = sheets[sheets["status"] == "accepted"][["district_code", "sheet"]]
    values = tables["values"][["district_code", "unit_code", "sheet", "indicator", "value"]]
    agg = aggregate(values, accepted, national, parse_period("2016"), load_catalogue())
    assert not (agg["level"] == "city").any()  # the top of a national run is the country
    top = agg[agg["level"] == "country"]
    assert set(top["org_unit_code"]) == {"0"} and set(top["org_unit_name"]) == {"Cả nước"}
    gn06 = values[values["indicator"] == "GN06"]["value"].sum()
    assert top.set_index("indicator").loc["GN06", "value"] == pytest.approx(gn06)
    provinces = agg[agg["level"] == "province"]
    assert set(zip(provinces["org_unit_code"], provinces["org_unit_name"])) == {
        ("80", "Tỉnh Long An"), ("82", "Tỉnh Tiền Giang")}
    for prov, district in (("80", "807"), ("82", "820")):
        own = values[(values["indicator"] == "GN06") & (values["district_code"] == district)]
        row = provinces[(provinces["org_unit_code"] == prov) & (provinces["indicator"] == "GN06")]
        assert row["value"].item() == pytest.approx(own["value"].sum())
    assert tables["completeness"].iloc[-1]["district_name"] == "Cả nước"


def test_shared_district_names_carry_their_code():
    import pandas as pd

    from pipelines.flows import _names

    frame = pd.DataFrame({"district_name": ["Huyện Châu Thành", "Huyện Cai Lậy", "Huyện Châu Thành"],
                          "district_code": ["807", "822", "820"]})
    assert _names(frame) == ["Huyện Châu Thành (807)", "Huyện Cai Lậy", "Huyện Châu Thành (820)"]


# -- the levels of the hierarchy (docs/decisions.md, "The levels of the hierarchy") --------------

# Province 31 holds districts 31 and 40, province 82 one district: code 31 names a
# province, a district and a ward, each at its own level.
THREE = [  # (province, province name, district, district name, unit, unit name)
    ("31", "Tỉnh Ba Mốt", "31", "Huyện Ba Mốt", "31", "Phường Ba Mốt"),
    ("31", "Tỉnh Ba Mốt", "31", "Huyện Ba Mốt", "32", "Xã Ba Hai"),
    ("31", "Tỉnh Ba Mốt", "40", "Huyện Bốn", "41", "Xã Bốn Mốt"),
    ("82", "Tỉnh Tiền Giang", "820", "Huyện Châu Thành", "28249", "Thị trấn Tân Hiệp"),
    ("82", "Tỉnh Tiền Giang", "820", "Huyện Châu Thành", "28252", "Xã Tân Hội Đông"),
]
DISTRICT_OF = {u: d for _, _, d, _, u, _ in THREE}
# unit -> (GN01 households, GN06 poor households, TT05 residential areas, TT06 cultured ones)
NUMBERS = {"31": (1000, 10, 4, 3), "32": (3000, 90, 6, 6), "41": (500, 50, 5, 1),
           "28249": (2000, 20, 2, 2), "28252": (1000, 40, 8, 2)}
ACCEPTED_SHEETS = [(d, s) for d in ("31", "40", "820") for s in ("GN", "TT") if (d, s) != ("40", "TT")]


@pytest.fixture
def three(tmp_path):
    path = tmp_path / "three.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for prov, pname, dist, dname, unit, uname in THREE:
            w.writerow(["2016-01-01", "2020-01-31", prov, pname, dist, dname, "huyện", unit,
                        uname, uname.split()[0].lower().replace("thị", "thị trấn")])
    yield load_registry(units_file=path)
    _load.cache_clear()


@pytest.fixture
def three_agg(three):
    import pandas as pd

    rows = []
    for unit, numbers in NUMBERS.items():
        for (code, sheet), v in zip((("GN01", "GN"), ("GN06", "GN"), ("TT05", "TT"),
                                     ("TT06", "TT")), numbers):
            if (DISTRICT_OF[unit], sheet) in ACCEPTED_SHEETS:
                rows.append({"district_code": DISTRICT_OF[unit], "unit_code": unit, "sheet": sheet,
                             "indicator": code, "value": float(v)})
    accepted = pd.DataFrame(ACCEPTED_SHEETS, columns=["district_code", "sheet"])
    return aggregate(pd.DataFrame(rows), accepted, three, parse_period("2017"), load_catalogue())


def _get(agg, level, code, indicator):
    row = agg[(agg["level"] == level) & (agg["org_unit_code"] == code)
              & (agg["indicator"] == indicator)]
    assert len(row) == 1, (level, code, indicator, len(row))
    return float(row["value"].item()), bool(row["complete"].item())


def test_levels_of_a_national_registry(three, national):
    p = parse_period("2017")
    assert three.levels(p) == ("unit", "district", "province", "country")
    assert national.levels(parse_period("2016")) == ("unit", "district", "province", "country")
    assert three.top_level == "country"
    assert three.province_names == {"31": "Tỉnh Ba Mốt", "82": "Tỉnh Tiền Giang"}
    assert three.province_codes == {"31": "31", "40": "31", "820": "82"}
    assert three.province_of("40") == "31" and three.province_of("999") is None


def test_levels_of_haiphong_unchanged():
    registry = load_registry()
    assert registry.levels(parse_period("2017")) == ("unit", "district", "city")
    assert registry.top_level == "city" and registry.top_code == "31"


def test_a_province_is_the_sum_of_its_districts(three_agg):
    # Province 31 = district 31 (units 31, 32) + district 40 (unit 41); worked by hand.
    assert _get(three_agg, "district", "31", "GN01") == (4000, True)
    assert _get(three_agg, "district", "40", "GN01") == (500, True)
    assert _get(three_agg, "province", "31", "GN01") == (4500, True)
    assert _get(three_agg, "province", "31", "GN06") == (150, True)
    assert _get(three_agg, "province", "82", "GN01") == (3000, True)
    assert _get(three_agg, "country", "0", "GN01") == (7500, True)
    assert _get(three_agg, "country", "0", "GN06") == (210, True)


def test_a_province_rate_is_recomputed_from_sums(three_agg):
    rate, complete = _get(three_agg, "province", "31", "GN_TL_NGHEO")
    assert rate == pytest.approx(100 * (10 + 90 + 50) / (1000 + 3000 + 500)) and complete
    # not the mean of its districts' rates (2.5 % and 10 %)
    assert rate != pytest.approx((100 * 100 / 4000 + 100 * 50 / 500) / 2)
    rate, complete = _get(three_agg, "country", "0", "GN_TL_NGHEO")
    assert rate == pytest.approx(100 * 210 / 7500) and complete


def test_a_province_is_complete_only_when_all_its_districts_are(three_agg):
    # District 40's TT sheet was not accepted: province 31 counts district 31 only.
    assert _get(three_agg, "district", "31", "TT05") == (10, True)
    assert _get(three_agg, "province", "31", "TT05") == (10, False)
    rate, complete = _get(three_agg, "province", "31", "TT_TL_KDC_VH")
    assert rate == pytest.approx(100 * (3 + 6) / (4 + 6)) and not complete
    rate, complete = _get(three_agg, "province", "82", "TT_TL_KDC_VH")
    assert rate == pytest.approx(100 * (2 + 2) / (2 + 8)) and complete
    rate, complete = _get(three_agg, "country", "0", "TT_TL_KDC_VH")
    assert rate == pytest.approx(100 * (3 + 6 + 2 + 2) / (4 + 6 + 2 + 8)) and not complete


def test_a_code_is_unique_within_its_level(three_agg):
    assert not three_agg.duplicated(["level", "org_unit_code", "indicator"]).any()
    named = three_agg[three_agg["org_unit_code"] == "31"][["level", "org_unit_name"]]
    assert set(map(tuple, named.drop_duplicates().values)) == {
        ("province", "Tỉnh Ba Mốt"), ("district", "Huyện Ba Mốt"), ("unit", "Phường Ba Mốt")}
    assert set(three_agg["level"]) == {"unit", "district", "province", "country"}


def test_national_rows_are_ordered_top_down(three_agg):
    first = three_agg.drop_duplicates("level")["level"].tolist()
    assert first == ["country", "province", "district", "unit"]
    levels = three_agg["level"].tolist()
    assert levels == sorted(levels, key=first.index)  # each level in one block
    provinces = three_agg[three_agg["level"] == "province"]["org_unit_code"].drop_duplicates()
    assert provinces.tolist() == ["31", "82"]
