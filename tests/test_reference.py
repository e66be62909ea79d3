"""The catalogue and the unit registry against the facts of DOMAIN.md and FORM.md."""
import unicodedata
from collections import Counter

import pytest

from pipelines.base.text import vn_flexible, vn_number
from schemas.names import ascii_fold, fold
from schemas.catalogue import parse_terms
from schemas.periods import Period, PeriodError, parse_period


def test_catalogue_matches_form(catalogue):
    assert [s.display_name for s in catalogue.sheets] == [
        "1. Tuyên truyền", "2. Nguồn lực", "3. Hỗ trợ hộ nghèo", "4. Giảm nghèo",
        "5. Nông thôn mới", "6. Đô thị văn minh", "7. Mô hình", "8. Giám sát"]
    assert len(catalogue.indicators) == 6 + 4 + 5 + 7 + 20 + 4 + 4 + 6
    assert catalogue.indicators["NTM05"].label == "Trường học"
    assert catalogue.indicators["NL01"].type == "money"
    # Blank allowed only in NTM20, VM04 and the flows of sheets 1, 2, 3, 7, 8.
    optional = sorted(c for c, i in catalogue.indicators.items() if not i.required)
    flows = [c for c, i in catalogue.indicators.items()
             if i.kind == "flow" and i.sheet in ("TT", "NL", "AS", "MH", "GS")]
    assert optional == sorted(flows + ["NTM20", "VM04"])
    codes = [d.code for d in catalogue.derived]
    assert "NTM_TC19_TL_DAT" in codes and len(codes) == 14 + 19


def test_relations_parse(catalogue):
    r07 = [r for r in catalogue.relations if r.rule == "R07"][0]
    assert [(t.sign, t.code) for t in r07.right] == [(1, "GN02"), (-1, "GN03"), (1, "GN04"), (1, "GN05")]
    with pytest.raises(ValueError):
        parse_terms("GN01 GN02")


def test_registry_2017(registry):
    p = parse_period("2017")
    districts = registry.districts(p)
    assert [d.code for d in districts] == [str(c) for c in (303, 304, 305, 306, 307, 308, 309, 311,
                                                           312, 313, 314, 315, 316, 317, 318)]
    units = [u for u in registry.all_units(p) if u.code != "318"]
    assert Counter(u.type for u in units) == {"phường": 70, "thị trấn": 10, "xã": 143}
    blv = registry.units("318", p)
    assert [(u.code, u.type) for u in blv] == [("318", "huyện")]


def test_registry_mergers_and_types(registry):
    assert len(registry.units("315", parse_period("2017"))) == 23
    assert len(registry.units("315", parse_period("2020"))) == 21  # 1 Feb 2020 mergers
    assert len(registry.units("315", parse_period("2020-H1"))) == 21
    # The 2025 snapshot lists every unit as `xã`: the name's prefix wins.
    types = Counter(u.type for u in registry.units("303", parse_period("2025-H1")))
    assert types == {"phường": 10}
    assert registry.district("303", parse_period("2025-H1")).type == "quận"


def test_find_district_by_name(registry):
    p = parse_period("2017-H1")
    assert registry.find_district(None, "Huyện Thủy Nguyên", p).code == "311"
    assert registry.find_district("999", "kiến thụy", p).code == "314"
    assert registry.find_district("315", "anything", p).code == "315"
    assert registry.find_district(None, "Huyện Không Có", p) is None


def test_fold_tone_placement_and_forms():
    assert fold("Thuỷ Nguyên") == fold("Thủy  nguyên")
    assert fold(unicodedata.normalize("NFD", "Hoà Bình")) == fold("HÒA BÌNH")
    assert fold("Đông") != fold("Đồng")
    assert ascii_fold("1. Tuyên Truyền") == "1 tuyen truyen"


def test_vietnamese_numbers():
    assert vn_number(4348) == "4.348"
    assert vn_number(0.7189, 2) == "0,72"
    assert vn_flexible(51.5) == "51,5"


@pytest.mark.parametrize("text,expected", [
    ("2017-H1", Period(2017, True)), ("2017", Period(2017)), (2017.0, Period(2017)),
    ("6 tháng đầu năm 2017", Period(2017, True)), ("6 tháng 2017", Period(2017, True)),
    ("Năm 2017", Period(2017)), ("NĂM 2018", Period(2018)), ("2017-h1", Period(2017, True)),
])
def test_parse_period(text, expected):
    assert parse_period(text) == expected


@pytest.mark.parametrize("text", ["2015", "2031", "quý 1 2017", "2017-H2", "", None, "9 tháng 2017"])
def test_parse_period_rejects(text):
    with pytest.raises(PeriodError):
        parse_period(text)


def test_period_end_dates():
    assert str(parse_period("2017-H1").end) == "2017-06-30"
    assert str(parse_period("2017").end) == "2017-12-31"
    assert parse_period("2017-H1").previous_year == Period(2016)
