"""The generated sentences: numbers as the tables show them, direction-aware, never ranking a
lower bound."""
import math

from pipelines import narrative as n
from pipelines.render import fmt_value

NAN = math.nan
RATE = n.Indicator("GN_TL_NGHEO", "Tỷ lệ hộ nghèo", "%", rate=True)
HOUSES = n.Indicator("AS01", "Nhà Đại đoàn kết xây mới", "nhà", rate=False)


def show_rate(v, signed):
    return fmt_value(v, "rate", signed)


def show_int(v, signed):
    return fmt_value(v, "int", signed)


def test_city_sentence_with_change_in_points():
    text = n.city_sentence(RATE, (2.35, True), show_rate, (2.76, True), "năm 2016")
    assert text == "Toàn thành phố, tỷ lệ hộ nghèo là 2,35%, giảm 0,41 điểm % so với năm 2016."


def test_city_sentence_sum_with_relative_change_and_incomplete():
    text = n.city_sentence(HOUSES, (120, False), show_int, (100, True), "năm 2016")
    assert text == ("Toàn thành phố, nhà Đại đoàn kết xây mới là 120 nhà, tăng 20 nhà (tăng 20,0%) "
                    "so với năm 2016 (số liệu chưa đầy đủ: có quận, huyện chưa báo cáo hoặc biểu "
                    "bị loại).")
    assert n.city_sentence(HOUSES, (NAN, False), show_int).startswith("Chưa có số liệu")


def test_ranking_is_direction_aware_and_skips_lower_bounds():
    districts = {"Huyện A": (4.1, True), "Quận B": (0.2, True), "Huyện C": (9.9, False),
                 "Huyện D": (NAN, False), "Quận E": (1.5, True), "Quận F": (NAN, True)}
    text = n.ranking_sentence(RATE, districts, show_rate)
    assert text == ("Tỷ lệ hộ nghèo thấp nhất ở Quận B (0,20%), cao nhất ở Huyện A (4,10%); "
                    "2 quận, huyện chưa đủ số liệu không được xếp hạng.")
    houses = n.ranking_sentence(HOUSES, {"A": (3, True), "B": (7, True), "C": (7, True)}, show_int)
    assert houses == "Nhà Đại đoàn kết xây mới cao nhất ở B và C (7 nhà), thấp nhất ở A (3 nhà)."
    assert n.ranking_sentence(HOUSES, {"A": (3, True)}, show_int) is None


def test_largest_changes():
    now = {"A": (2.0, True), "B": (3.5, True), "C": (1.0, True), "D": (5.0, False)}
    before = {"A": (3.0, True), "B": (3.0, True), "C": (1.0, True), "D": (9.0, True)}
    text = n.change_sentence(RATE, now, before, show_rate, "năm 2016")
    assert text == ("So với năm 2016, cải thiện nhiều nhất là A (−1,00 điểm %); "
                    "kém đi nhiều nhất là B (+0,50 điểm %).")
    assert n.change_sentence(RATE, {"A": (1, True)}, {"A": (1, True)}, show_rate, "x") is None


def test_lagging_criteria():
    shares = {"Thu nhập": (45.2, True), "Hộ nghèo": (50.0, True), "Điện": (100.0, True),
              "Y tế": (NAN, False)}
    assert n.lagging_criteria_sentence(shares, show_rate, 2) == (
        "Các tiêu chí có tỷ lệ xã đạt thấp nhất: Thu nhập (45,20%), Hộ nghèo (50,00%).")


def test_many_ties_are_counted():
    tied = {f"Huyện {c}": (0, True) for c in "ABCDE"} | {"Quận X": (9, True)}
    assert n.ranking_sentence(HOUSES, tied, show_int) == (
        "Nhà Đại đoàn kết xây mới cao nhất ở Quận X (9 nhà), thấp nhất ở Huyện A, Huyện B, "
        "Huyện C và 2 quận, huyện khác (0 nhà).")


def test_the_top_level_is_named_as_the_registry_names_it():
    text = n.city_sentence(RATE, (2.35, True), show_rate, top_label="Cả nước")
    assert text == "Cả nước, tỷ lệ hộ nghèo là 2,35%."
    assert (n.city_sentence(RATE, (NAN, False), show_rate, top_label="Cả nước")
            == "Chưa có số liệu cả nước về tỷ lệ hộ nghèo.")
    out = n.sentences(RATE, (2.35, True), {"Huyện A": (3.0, True), "Huyện B": (1.0, True)},
                      show_rate, top_label="Cả nước")
    assert out[0].startswith("Cả nước, ") and len(out) == 2
    assert n.city_sentence(RATE, (2.35, True), show_rate).startswith("Toàn thành phố, ")
