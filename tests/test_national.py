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
    top = agg[agg["level"] == "city"]
    assert set(top["org_unit_code"]) == {"0"} and set(top["org_unit_name"]) == {"Cả nước"}
    gn06 = values[values["indicator"] == "GN06"]["value"].sum()
    assert top.set_index("indicator").loc["GN06", "value"] == pytest.approx(gn06)
    assert tables["completeness"].iloc[-1]["district_name"] == "Cả nước"


def test_shared_district_names_carry_their_code():
    import pandas as pd

    from pipelines.flows import _names

    frame = pd.DataFrame({"district_name": ["Huyện Châu Thành", "Huyện Cai Lậy", "Huyện Châu Thành"],
                          "district_code": ["807", "822", "820"]})
    assert _names(frame) == ["Huyện Châu Thành (807)", "Huyện Cai Lậy", "Huyện Châu Thành (820)"]
