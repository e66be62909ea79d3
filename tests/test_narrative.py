"""Claims and their words: numbers as the tables show them, direction-aware, changes only over
the districts complete in both periods, rankings only among those that can have the item,
every tie named."""
import math

import pytest

from pipelines.report import claims as c
from pipelines.report import narrative as n
from pipelines.report.compare import RATE as RATE_SHAPE
from pipelines.report.compare import SUM, Basis, Measure
from pipelines.report.render import fmt_value
from schemas.catalogue import load_catalogue
from schemas.periods import Period

NAN = math.nan
RATE = c.Subject("GN_TL_NGHEO", "Tỷ lệ hộ nghèo", "%", "rate", Measure(RATE_SHAPE, False), True)
HOUSES = c.Subject("AS01", "Nhà Đại đoàn kết xây mới", "nhà", "int", Measure(SUM, True))
MODELS = c.Subject("MH01", "Số mô hình mới xây dựng", "mô hình", "int", Measure(SUM, True))
Y2016 = Basis(Period(2016), "năm 2016")


def show_rate(v, signed):
    return fmt_value(v, "rate", signed)


def show_int(v, signed):
    return fmt_value(v, "int", signed)


class Values:
    """(level, code, indicator) -> (value, complete), as report.tables.Values."""

    def __init__(self, d):
        self.d = d

    def get(self, level, code, indicator):
        return self.d.get((level, code, indicator), (NAN, False))


def values(code, pairs):
    out = {}
    for org, pair in pairs.items():
        pair = pair if isinstance(pair, tuple) else (pair, True)
        out[("city" if org == "31" else "district", org, code)] = (float(pair[0]), pair[1])
    return Values(out)


def scope_of(names, without=()):
    eligible = {k: v for k, v in names.items() if k not in without}
    return c.Scope(eligible, {k: names[k] for k in without},
                   frozenset({"xã"}) if without else None, {k: 1 for k in names})


FIVE = {str(k): f"Huyện {ch}" for k, ch in zip(range(311, 316), "ABCDE")}


def test_change_over_every_district():
    now = values("MH01", {"311": 10, "312": 20, "313": 30, "314": 40, "315": 50, "31": 150})
    before = values("MH01", {"311": 10, "312": 10, "313": 30, "314": 40, "315": 40, "31": 130})
    sc = scope_of(FIVE)
    ch = c.change(MODELS, now, before, Y2016, load_catalogue(), sc, 2 / 3)
    assert ch.full and ch.stated and ch.diff == 20
    text = n.city_sentence(c.level(MODELS, now, "31", "Toàn thành phố", sc), show_int, ch)
    assert text == ("Toàn thành phố, số mô hình mới xây dựng là 150 mô hình, tăng 20 mô hình "
                    "(tăng 15,4%) so với năm 2016.")


def test_change_over_the_districts_complete_in_both_years_only():
    """The five-fold case: a district rejected the year before makes last year's city total a
    lower bound; the change is computed over the others, and the sentence says so."""
    now = values("MH01", {"311": 10, "312": 20, "313": 30, "314": 40, "315": 50, "31": 150})
    before = values("MH01", {"311": 10, "312": 18, "313": 30, "314": 40, "315": (NAN, False),
                             "31": (98, False)})
    sc = scope_of(FIVE)
    ch = c.change(MODELS, now, before, Y2016, load_catalogue(), sc, 2 / 3)
    assert (ch.now, ch.before, ch.left_out) == (100, 98, ("Huyện E",))
    text = n.city_sentence(c.level(MODELS, now, "31", "Toàn thành phố", sc), show_int, ch)
    assert text == ("Toàn thành phố, số mô hình mới xây dựng là 150 mô hình. So sánh trên 4/5 "
                    "quận, huyện có đủ số liệu cả hai năm (trừ Huyện E): tăng 2 mô hình (tăng "
                    "2,0%) so với năm 2016, từ 98 lên 100 mô hình.")
    assert "tăng 52" not in text  # the city totals' difference, over different districts


def test_no_change_stated_when_coverage_is_thin():
    now = values("MH01", {"311": 10, "312": 20, "313": 30, "314": 40, "315": 50, "31": 150})
    before = values("MH01", {"311": 10, "312": 18, "313": (NAN, False), "314": (1, False),
                             "315": (NAN, False), "31": (29, False)})
    sc = scope_of(FIVE)
    ch = c.change(MODELS, now, before, Y2016, load_catalogue(), sc, 2 / 3)
    assert not ch.stated and ch.needed == 4
    text = n.city_sentence(c.level(MODELS, now, "31", "Toàn thành phố", sc), show_int, ch)
    assert text == ("Toàn thành phố, số mô hình mới xây dựng là 150 mô hình. Không nêu thay đổi "
                    "so với năm 2016: chỉ 2/5 quận, huyện có đủ số liệu cả hai năm (cần ít nhất 4).")
    assert c.change(MODELS, now, before, Y2016, load_catalogue(), sc, 0.4).stated  # configurable


def test_a_rate_is_recomputed_from_the_sums_over_the_districts_compared():
    cat = load_catalogue()
    pairs = {"GN06": ({"311": 10, "312": 30}, {"311": 20, "312": 30}),
             "GN01": ({"311": 1000, "312": 1000}, {"311": 1000, "312": 1000})}
    now, before = {}, {}
    for code, (a, b) in pairs.items():
        now |= values(code, a).d
        before |= values(code, b).d
    now |= values("GN_TL_NGHEO", {"311": 1.0, "312": 3.0}).d
    before |= values("GN_TL_NGHEO", {"311": 2.0, "312": (3.0, False)}).d
    sc = scope_of({"311": "Huyện A", "312": "Huyện B"})
    ch = c.change(RATE, Values(now), Values(before), Y2016, cat, sc, 0.5)
    assert ch.compared == ("Huyện A",) and (ch.now, ch.before) == (1.0, 2.0)
    both = c.total_over("GN_TL_NGHEO", ["311", "312"], Values(now), cat, sc)
    assert both == pytest.approx(2.0)  # 40 / 2000, not the mean of the two rates by chance


def test_incomplete_level_names_who_is_missing_and_never_calls_a_rate_a_bound():
    now = values("GN_TL_NGHEO", {"311": 1.0, "312": (2.0, False), "31": (1.2, False)})
    sc = scope_of({"311": "Huyện A", "312": "Huyện B"})
    text = n.city_sentence(c.level(RATE, now, "31", "Toàn thành phố", sc), show_rate)
    assert text == ("Toàn thành phố, tỷ lệ hộ nghèo là 1,20% (chưa đầy đủ: tỷ lệ chỉ tính trên "
                    "các đơn vị đã báo cáo đủ; Huyện B chưa đủ số liệu).")
    assert "cận dưới" not in text
    houses = values("AS01", {"311": 3, "312": (2, False), "31": (5, False)})
    assert "(chưa đầy đủ, là cận dưới: Huyện B chưa đủ số liệu)" in n.city_sentence(
        c.level(HOUSES, houses, "31", "Toàn thành phố", sc), show_int)


def test_ranking_is_direction_aware_and_skips_incomplete_values():
    names = {"311": "Huyện A", "312": "Quận B", "313": "Huyện C", "314": "Huyện D", "315": "Quận E"}
    now = values("GN_TL_NGHEO", {"311": 4.1, "312": 0.2, "313": (9.9, False), "314": (NAN, False),
                                 "315": 1.5})
    r = c.ranking(RATE, now, scope_of(names))
    assert n.ranking_sentence(r, show_rate) == (
        "Tỷ lệ hộ nghèo: thấp nhất ở Quận B (0,20%); cao nhất ở Huyện A (4,10%); 2 quận, huyện "
        "chưa đủ số liệu không được xếp hạng (Huyện C và Huyện D).")
    houses = values("AS01", {"311": 3, "312": 7, "313": 7})
    sc = scope_of({"311": "A", "312": "B", "313": "C"})
    assert n.ranking_sentence(c.ranking(HOUSES, houses, sc), show_int) == (
        "Nhà Đại đoàn kết xây mới: cao nhất ở B và C (7 nhà); thấp nhất ở A (3 nhà).")
    assert c.ranking(HOUSES, values("AS01", {"311": 3}), scope_of({"311": "A"})) is None


def test_every_district_of_a_tie_is_named():
    names = {str(k): f"Huyện {ch}" for k, ch in zip(range(311, 317), "ABCDEX")}
    tied = values("AS01", {k: (9 if v == "Huyện X" else 0) for k, v in names.items()})
    text = n.ranking_sentence(c.ranking(HOUSES, tied, scope_of(names)), show_int)
    assert text == ("Nhà Đại đoàn kết xây mới: cao nhất ở Huyện X (9 nhà); 5 quận, huyện cùng "
                    "thấp nhất (0 nhà): Huyện A, Huyện B, Huyện C, Huyện D, Huyện E.")
    assert "khác" not in text


def test_a_district_without_the_kind_of_unit_is_never_ranked():
    names = {"304": "Quận Ngô Quyền", "315": "Huyện Tiên Lãng", "316": "Huyện Vĩnh Bảo"}
    sc = scope_of(names, without=("304",))
    share = c.Subject("NTM_TL_XA_DAT", "Tỷ lệ xã đạt chuẩn nông thôn mới", "%", "rate",
                      Measure(RATE_SHAPE, False))
    now = values("NTM_TL_XA_DAT", {"304": (NAN, True), "315": 40.0, "316": 60.0})
    text = n.ranking_sentence(c.ranking(share, now, sc), show_rate)
    assert text == ("Tỷ lệ xã đạt chuẩn nông thôn mới (xếp trong các quận, huyện có xã): cao nhất "
                    "ở Huyện Vĩnh Bảo (60,00%); thấp nhất ở Huyện Tiên Lãng (40,00%).")
    assert "Ngô Quyền" not in text
    assert sc.without_line == "Các quận, huyện không có xã: Quận Ngô Quyền."


def test_size_dependent_counts_ranked_by_their_rate_say_so():
    names = {"311": "Huyện A", "312": "Huyện B"}
    escaped = c.Subject("GN03", "Hộ thoát nghèo trong kỳ", "hộ", "int", Measure(SUM, True))
    now = Values(values("GN03", {"311": 100, "312": 30}).d | values("GN02", {"311": 1000, "312": 100}).d)
    r = c.ranking(escaped, now, scope_of(names), by="số hộ thoát nghèo trên 100 hộ nghèo đầu kỳ",
                  by_fmt="mean", rate_of=("GN02", 100))
    assert n.ranking_sentence(r, lambda v, s: fmt_value(v, "mean", s)) == (
        "Xếp theo số hộ thoát nghèo trên 100 hộ nghèo đầu kỳ: cao nhất ở Huyện B (30,00); "
        "thấp nhất ở Huyện A (10,00).")


def test_largest_changes_among_districts_complete_in_both():
    names = {"311": "A", "312": "B", "313": "C", "314": "D"}
    now = values("GN_TL_NGHEO", {"311": 2.0, "312": 3.5, "313": 1.0, "314": (5.0, False)})
    before = values("GN_TL_NGHEO", {"311": 3.0, "312": 3.0, "313": 1.0, "314": 9.0})
    m = c.movers(RATE, now, before, Y2016, scope_of(names))
    assert n.movers_sentence(m, show_rate) == (
        "So với năm 2016 (trên 3 quận, huyện có đủ số liệu cả hai năm), cải thiện nhiều nhất là "
        "A (−1,00 điểm %); kém đi nhiều nhất là B (+0,50 điểm %).")
    same = values("GN_TL_NGHEO", {"311": 1.0})
    assert c.movers(RATE, same, same, Y2016, scope_of({"311": "A"})) is None


def test_lagging_criteria():
    shares = {"Thu nhập": (45.2, True), "Hộ nghèo": (50.0, True), "Điện": (100.0, True),
              "Y tế": (NAN, False)}
    assert n.lagging_criteria_sentence(shares, show_rate, 2) == (
        "Các tiêu chí có tỷ lệ xã đạt thấp nhất: Thu nhập (45,20%), Hộ nghèo (50,00%).")


def test_the_top_level_is_named_as_the_registry_names_it():
    sc = scope_of({"311": "A"})
    now = values("GN_TL_NGHEO", {"31": 2.35})
    assert (n.city_sentence(c.level(RATE, now, "31", "Cả nước", sc), show_rate)
            == "Cả nước, tỷ lệ hộ nghèo là 2,35%.")
    assert (n.city_sentence(c.level(RATE, values("X", {}), "31", "Cả nước", sc), show_rate)
            == "Chưa có số liệu cả nước về tỷ lệ hộ nghèo.")
