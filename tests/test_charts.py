"""Charts for the leaders' report: real rendering, one house style, never a missing value as 0."""
from __future__ import annotations

import io
import math
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from PIL import Image

from pipelines.report import charts, drawing

NAN = math.nan
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WIDTH_PX = round(drawing.WIDTH_IN * drawing.DPI)
BANDS = ["19 tiêu chí", "15–18", "10–14", "5–9", "dưới 5"]
DISTRICTS = ["Quận Hồng Bàng", "Quận Ngô Quyền", "Quận Lê Chân", "Quận Hải An", "Quận Kiến An",
             "Quận Đồ Sơn", "Quận Dương Kinh", "Huyện Thuỷ Nguyên", "Huyện An Dương",
             "Huyện An Lão", "Huyện Kiến Thuỵ", "Huyện Tiên Lãng", "Huyện Vĩnh Bảo",
             "Huyện Cát Hải", "Huyện Bạch Long Vĩ"]

# Nhà Đại đoàn kết: Vĩnh Bảo sent nothing, Cát Hải left "Sửa chữa" blank.
HOUSES = pd.DataFrame({"Xây mới": [12.0, 30.0, NAN, 5.0, 1_200.0],
                       "Sửa chữa": [8.0, 2.0, NAN, NAN, 34.5]},
                      index=["Huyện Tiên Lãng", "Huyện An Lão", "Huyện Vĩnh Bảo",
                             "Huyện Cát Hải", "Huyện Thuỷ Nguyên"])
HOUSES_ARGS = dict(title="Nhà Đại đoàn kết xây mới và sửa chữa theo quận, huyện – Năm 2017",
                   label="Nhà Đại đoàn kết", unit="nhà", decimals=1,
                   incomplete={"Huyện Tiên Lãng"})

PERIODS = ["Năm 2016", "6 tháng 2017", "Năm 2017", "6 tháng 2018", "Năm 2018"]
TREND = pd.DataFrame({"Toàn thành phố": [1.52, 1_234.5, NAN, 0.95, 0.72],
                      "Huyện Vĩnh Bảo": [6.1, 5.5, NAN, 4.8, 4.56],
                      "Quận Ngô Quyền": [0.5, NAN, 0.4, 0.35, 0.3]}, index=PERIODS)
TREND_ARGS = dict(title="Tỷ lệ hộ nghèo qua các kỳ báo cáo", label="Tỷ lệ hộ nghèo", unit="%",
                  decimals=1, incomplete=[("Năm 2018", "Toàn thành phố"),
                                          ("6 tháng 2018", "Huyện Vĩnh Bảo")])

COUNTS = pd.DataFrame([[7, 3, 1, 0, 1], [0, 0, 0, 0, 0], [NAN] * 5, [10, 9, 5, 6, 7],
                       [17, 12, 6, 6, 8]], columns=BANDS,
                      index=["Huyện Tiên Lãng", "Quận Lê Chân", "Huyện Bạch Long Vĩ",
                             "Huyện Vĩnh Bảo", "Toàn thành phố"])
BAND_ARGS = dict(title="Số xã theo số tiêu chí nông thôn mới đã đạt – Năm 2017", bands=BANDS)


def _figure(builder, *args, **kwargs):
    with drawing.styled():
        return builder(*args, **kwargs)


def _texts(fig) -> list[str]:
    """Every piece of text in the figure: labels, ticks, legend, title, notes."""
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _prose(fig) -> str:
    """All the figure's text as one string, wrapped lines joined: for notes."""
    return " ".join(" ".join(_texts(fig)).split())


def _ticks(ax, axis: str = "y") -> list[str]:
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    return [t.get_text() for t in labels]


def _bars(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def _row_of(bar: Rectangle) -> int:
    return round(bar.get_y() + bar.get_height() / 2)


def _is_grey(color) -> bool:
    if color is None or (isinstance(color, str) and color == "none"):
        return True
    rgba = np.atleast_2d(to_rgba(color) if isinstance(color, str) or np.ndim(color) == 1
                         else color)
    return all(math.isclose(r, g, abs_tol=1e-6) and math.isclose(g, b, abs_tol=1e-6)
               for r, g, b, *_ in rgba)


def _colours(fig) -> list:
    out = []
    for a in fig.findobj():
        if isinstance(a, Patch):
            out += [a.get_facecolor(), a.get_edgecolor()]
            if a.get_hatch():
                out.append(a.get_hatchcolor() if hasattr(a, "get_hatchcolor")
                           else a._hatch_color)
        elif isinstance(a, Line2D):
            out += [a.get_color(), a.get_markerfacecolor(), a.get_markeredgecolor()]
        elif isinstance(a, Text):
            out.append(a.get_color())
    return out


# -- files ---------------------------------------------------------------------------------

CASES = {
    "stacked": (charts.stacked_bars, (HOUSES,), HOUSES_ARGS,
                ["Huyện Thuỷ Nguyên", "Xây mới", "Sửa chữa", charts.MISSING_TEXT]),
    "trend": (charts.trend_lines, (TREND,), TREND_ARGS,
              ["6 tháng 2017", "Huyện Vĩnh Bảo", "Tỷ lệ hộ nghèo (%)"]),
    "bands": (charts.band_bars, (COUNTS,), BAND_ARGS,
              ["Huyện Tiên Lãng", "15–18", "dưới 5", "12 xã"]),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_png_and_searchable_svg(kind, tmp_path):
    draw, args, kwargs, words = CASES[kind]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = draw(*args, **kwargs, save_as=tmp_path / "hinh")
    # every Vietnamese letter is in the font: no "Glyph ... missing from font(s)"
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert png[:8] == PNG_MAGIC
    img = Image.open(io.BytesIO(png))
    assert img.size[0] == WIDTH_PX and round(img.info["dpi"][0]) == drawing.DPI
    assert (tmp_path / "hinh.png").read_bytes() == png
    svg = (tmp_path / "hinh.svg").read_text(encoding="utf-8")
    ET.fromstring(svg.encode("utf-8"))  # well-formed
    # the text is text, not glyph outlines: it can be found and pasted into a document
    assert "<text" in svg and kwargs["title"] in svg
    for word in words:
        assert word in svg, word
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))


def test_greyscale_everywhere():
    figs = [_figure(charts._stacked_figure, HOUSES, **HOUSES_ARGS),
            _figure(charts._trend_figure, TREND, **TREND_ARGS),
            _figure(charts._band_figure, COUNTS, **BAND_ARGS, total_label="xã", incomplete=()),
            _figure(charts._bars_figure, {"Huyện A": 2.5, "Huyện B": NAN}, title="t",
                    xlabel="x (%)", decimals=2, unit_suffix="%", incomplete={"Huyện A"},
                    reference=1.2, reference_label="Toàn thành phố"),
            _figure(charts._criteria_figure, {"1. Quy hoạch": 90.0, "2. Giao thông": 60.0},
                    title="t", incomplete=True)]
    for fig in figs:
        colours = _colours(fig)
        assert len(colours) > 20
        assert all(_is_grey(c) for c in colours), [c for c in colours if not _is_grey(c)]
    # and what reaches the reader: every pixel of the PNG is a grey
    png = charts.stacked_bars(HOUSES, **HOUSES_ARGS)
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()


def test_one_look_for_every_chart():
    pngs = [charts.rate_bars({"Huyện A": 2.5}, title="Tỷ lệ", label="Tỷ lệ"),
            charts.sum_bars({"Huyện A": 2.0}, title="Tổng", label="Tổng", unit="người"),
            charts.criteria_bars({"1. Quy hoạch": 90.0}, title="Tiêu chí"),
            charts.stacked_bars(HOUSES.head(1), title="Nhà", label="Nhà", unit="nhà"),
            charts.trend_lines(TREND.head(1), title="Xu hướng", label="Tỷ lệ", unit="%"),
            charts.band_bars(COUNTS.head(1), **BAND_ARGS)]
    for png in pngs:
        img = Image.open(io.BytesIO(png))
        assert img.size[0] == WIDTH_PX and round(img.info["dpi"][0]) == drawing.DPI
    assert drawing.STYLE["svg.fonttype"] == "none"
    assert drawing.STYLE["font.family"][0] == "DejaVu Sans"


def test_the_same_data_gives_the_same_files(tmp_path):
    a = charts.stacked_bars(HOUSES, **HOUSES_ARGS, save_as=tmp_path / "a")
    b = charts.stacked_bars(HOUSES, **HOUSES_ARGS, save_as=tmp_path / "b")
    assert a == b
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


def test_height_grows_with_bars_so_fifteen_districts_are_readable():
    many = pd.DataFrame({"Xây mới": np.arange(15.0), "Sửa chữa": np.arange(15.0)}, index=DISTRICTS)
    small = _figure(charts._stacked_figure, many.head(3), **HOUSES_ARGS)
    big = _figure(charts._stacked_figure, many, **HOUSES_ARGS)
    assert big.get_size_inches()[1] > small.get_size_inches()[1] + 3
    assert big.get_size_inches()[0] == drawing.WIDTH_IN
    ax = big.axes[0]
    big.draw_without_rendering()
    per_row_in = ax.get_window_extent().height / big.dpi / 15
    assert per_row_in >= 0.3  # room for a 9 pt label on every row
    assert _ticks(ax)[:2] == ["Huyện Bạch Long Vĩ", "Huyện Cát Hải"]


# -- stacked bars --------------------------------------------------------------------------

def test_rank_by_total_largest_first_missing_last():
    parts = pd.DataFrame({"A": [1.0, NAN, 5.0, NAN, 2.0, 0.0],
                          "B": [1.0, NAN, NAN, 7.0, 0.0, 0.0]},
                         index=["hai", "trống", "năm", "bảy", "cũng hai", "không"])
    # a missing part counts as missing, not as 0, and not as a reason to drop the row;
    # equal totals keep the given order; a row with nothing on record goes last
    assert charts._rank(parts) == ["bảy", "năm", "hai", "cũng hai", "không", "trống"]


def test_stacked_bars_draw_in_rank_order_with_totals():
    fig = _figure(charts._stacked_figure, HOUSES, **HOUSES_ARGS)
    ax = fig.axes[0]
    assert _ticks(ax) == ["Huyện Thuỷ Nguyên", "Huyện An Lão", "Huyện Tiên Lãng *",
                          "Huyện Cát Hải *", "Huyện Vĩnh Bảo"]
    # the bar lengths follow the ranking: the total of each row, top to bottom
    ends = {}
    for bar in _bars(ax):
        row = _row_of(bar)
        ends[row] = max(ends.get(row, 0.0), bar.get_x() + bar.get_width())
    assert [ends[r] for r in sorted(ends)] == [1_234.5, 32.0, 20.0, 5.0]
    texts = _texts(fig)
    assert "1.234,5 nhà" in texts and "32,0 nhà" in texts  # Vietnamese format, with the unit
    assert "Xây mới" in texts and "Sửa chữa" in texts  # the legend, in column order
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Xây mới", "Sửa chữa"]


def test_stacked_bars_never_draw_missing_as_zero():
    fig = _figure(charts._stacked_figure, HOUSES, **HOUSES_ARGS)
    ax = fig.axes[0]
    names = [t.replace(" *", "") for t in _ticks(ax)]
    rows = {}
    for bar in _bars(ax):
        rows.setdefault(names[_row_of(bar)], []).append(bar.get_width())
    assert "Huyện Vĩnh Bảo" not in rows  # nothing on record: no bar at all
    assert rows["Huyện Cát Hải"] == [5.0]  # the blank part is not a zero-width segment
    assert all(not math.isnan(w) for ws in rows.values() for w in ws)
    texts = _texts(fig)
    assert charts.MISSING_TEXT in texts
    assert "5,0 nhà" in texts  # the total of what is on record
    notes = _prose(fig)
    assert charts.MISSING_NOTE in notes
    assert "Thiếu số liệu một phần" in notes and "Huyện Cát Hải – Sửa chữa" in notes
    assert charts.INCOMPLETE_NOTE in notes  # Tiên Lãng, flagged by the caller


def test_stacked_bars_without_gaps_have_no_notes():
    full = HOUSES.drop(["Huyện Vĩnh Bảo", "Huyện Cát Hải"])
    fig = _figure(charts._stacked_figure, full, **{**HOUSES_ARGS, "incomplete": ()})
    texts = _prose(fig)
    assert charts.MISSING_TEXT not in texts and "*" not in texts


def test_stacked_total_labels_stay_inside_the_axes():
    wide = pd.DataFrame({"Quỹ": [9_876_543.21, 10.0], "Doanh nghiệp": [1_000_000.0, 5.0]},
                        index=["Huyện An Dương", "Huyện An Lão"])
    fig = _figure(charts._stacked_figure, wide, title="Nguồn lực", label="Nguồn lực",
                  unit="triệu đồng", decimals=2, incomplete=())
    fig.draw_without_rendering()
    ax = fig.axes[0]
    right = ax.get_window_extent().x1
    label = next(t for t in ax.texts if t.get_text() == "10.876.543,21 triệu đồng")
    assert label.get_window_extent().x1 <= right


# -- trend ---------------------------------------------------------------------------------

def test_trend_data_keeps_gaps():
    periods, series = charts._trend_data(TREND)
    assert periods == PERIODS  # as given, in the given order
    assert list(series) == ["Toàn thành phố", "Huyện Vĩnh Bảo", "Quận Ngô Quyền"]
    assert math.isnan(series["Toàn thành phố"][2]) and series["Toàn thành phố"][3] == 0.95
    assert math.isnan(series["Quận Ngô Quyền"][1])


def test_trend_lines_break_at_missing_periods():
    fig = _figure(charts._trend_figure, TREND, **TREND_ARGS)
    ax = fig.axes[0]
    lines = [l for l in ax.get_lines() if len(l.get_xdata()) == len(PERIODS)]
    city, vinh_bao, ngo_quyen = lines
    assert math.isnan(city.get_ydata()[2]) and math.isnan(vinh_bao.get_ydata()[2])
    assert math.isnan(ngo_quyen.get_ydata()[1])
    assert not any(y == 0 for line in lines for y in line.get_ydata())
    # the city stands out: thicker and darker than every other series, with markers
    assert city.get_linewidth() > 1.5 * max(l.get_linewidth() for l in (vinh_bao, ngo_quyen))
    assert city.get_marker() not in (None, "None", "")
    assert sum(to_rgba(city.get_color())[:3]) < min(sum(to_rgba(l.get_color())[:3])
                                                    for l in (vinh_bao, ngo_quyen))
    assert vinh_bao.get_marker() != ngo_quyen.get_marker()
    assert vinh_bao._dash_pattern != ngo_quyen._dash_pattern  # told apart without colour
    assert _ticks(ax, "x") == PERIODS
    texts = _texts(fig)
    assert "1.234,5%" in texts and "1,5%" in texts  # the city's values, Vietnamese format
    assert "0,7% *" in texts  # incomplete
    city_values = [t for t in ax.texts if t.get_text().endswith(("%", "*"))]
    assert len(city_values) == 4  # one per period on record: the gap got no label, no 0
    assert charts.TREND_GAP_NOTE in _prose(fig) and charts.TREND_INCOMPLETE_NOTE in _prose(fig)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == list(TREND.columns)


def test_trend_incomplete_points_are_hollow():
    fig = _figure(charts._trend_figure, TREND, **TREND_ARGS)
    hollow = [(l.get_xdata()[0], l.get_ydata()[0]) for l in fig.axes[0].get_lines()
              if len(l.get_xdata()) == 1 and l.get_markerfacecolor() in ("#ffffff", "white")]
    assert sorted(hollow) == [(3.0, 4.8), (4.0, 0.72)]


@pytest.mark.parametrize("n", [1, 2, 10])
def test_trend_any_number_of_periods(n):
    periods = [f"{'6 tháng đầu năm' if i % 2 else 'Năm'} {2015 + i // 2}" for i in range(n)]
    points = pd.DataFrame({"Toàn thành phố": np.linspace(100, 1000, n),
                           "Huyện An Lão": np.linspace(10, 90, n)}, index=periods)
    fig = _figure(charts._trend_figure, points, title="Số hộ thoát nghèo", label="Số hộ",
                  unit="hộ", decimals=0, incomplete=())
    ax = fig.axes[0]
    assert [t.replace("\n", " ") for t in _ticks(ax, "x")] == periods
    city = ax.get_lines()[0]
    assert len(city.get_xdata()) == n and city.get_marker() == "o"
    assert charts.TREND_GAP_NOTE not in _prose(fig)
    png = charts.trend_lines(points, title="Số hộ thoát nghèo", label="Số hộ", unit="hộ")
    assert Image.open(io.BytesIO(png)).size[0] == WIDTH_PX


# -- bands ---------------------------------------------------------------------------------

def test_band_plan_skips_rows_without_communes():
    rows, city = charts._band_plan(COUNTS, BANDS)
    assert list(rows.index) == ["Huyện Tiên Lãng", "Huyện Bạch Long Vĩ", "Huyện Vĩnh Bảo",
                                "Toàn thành phố"]
    assert city == "Toàn thành phố"
    with pytest.raises(ValueError, match="dưới 5"):
        charts._band_plan(COUNTS[BANDS[:-1]], BANDS)


def test_band_bars_totals_counts_and_missing():
    fig = _figure(charts._band_figure, COUNTS, **BAND_ARGS, total_label="xã", incomplete=())
    districts, city = fig.axes
    assert _ticks(districts) == ["Huyện Tiên Lãng", "Huyện Bạch Long Vĩ", "Huyện Vĩnh Bảo"]
    assert _ticks(city) == ["Toàn thành phố"]  # its own panel, its own scale
    texts = _texts(fig)
    assert "12 xã" in texts and "37 xã" in texts and "49 xã" in texts
    assert "Quận Lê Chân" not in texts  # no communes: left out
    assert charts.MISSING_TEXT in texts and charts.MISSING_NOTE in _prose(fig)
    # Bạch Long Vĩ has no number: no segment on its row, not a zero
    assert not [b for b in _bars(districts) if _row_of(b) == 1]
    # the count inside each segment
    inside = [t.get_text() for t in districts.texts
              if t.get_text().isdigit() and t.get_position()[1] == 0]
    assert inside == ["7", "3", "1", "1"]
    tien_lang = [b for b in _bars(districts) if _row_of(b) == 0]
    assert [b.get_width() for b in tien_lang] == [7, 3, 1, 1]  # the 0 band has no segment
    legend = [t.get_text() for t in districts.get_legend().get_texts()]
    assert legend == BANDS


def test_band_ramp_darkest_first_lowest_hatched():
    fig = _figure(charts._band_figure, COUNTS, **BAND_ARGS, total_label="xã", incomplete=())
    city = fig.axes[1]
    segments = sorted(_bars(city), key=lambda b: b.get_x())
    shades = [to_rgba(b.get_facecolor())[0] for b in segments]
    assert shades == sorted(shades) and len(set(shades)) == len(BANDS)
    assert [bool(b.get_hatch()) for b in segments] == [False, False, False, True, True]
    assert segments[0].get_facecolor()[0] < 0.25  # 19 criteria: near black


def test_band_counts_only_where_they_fit():
    counts = pd.DataFrame([[1_000, 1, 0, 0, 0]], columns=BANDS, index=["Huyện Thuỷ Nguyên"])
    fig = _figure(charts._band_figure, counts, **BAND_ARGS, total_label="xã", incomplete=())
    inside = [t.get_text() for t in fig.axes[0].texts if "xã" not in t.get_text()]
    assert inside == ["1.000"]  # the 1 would spill out of its sliver: left out
    assert "1.001 xã" in _texts(fig)


def test_band_bars_partial_rows_are_marked_not_zero():
    counts = pd.DataFrame([[5, 4, NAN, 1, 0]], columns=BANDS, index=["Huyện Cát Hải"])
    fig = _figure(charts._band_figure, counts, **BAND_ARGS, total_label="xã",
                  incomplete=())
    ax = fig.axes[0]
    assert _ticks(ax) == ["Huyện Cát Hải *"]
    assert [b.get_width() for b in _bars(ax)] == [5, 4, 1]
    texts = _texts(fig)
    assert "10 xã" in texts and "Huyện Cát Hải – 10–14" in _prose(fig)


def test_band_bars_with_nothing_to_draw():
    zero = pd.DataFrame([[0] * 5], columns=BANDS, index=["Quận Ngô Quyền"])
    png = charts.band_bars(zero, **BAND_ARGS)
    assert png[:8] == PNG_MAGIC
    fig = _figure(charts._band_figure, zero, **BAND_ARGS, total_label="xã", incomplete=())
    assert charts.MISSING_TEXT in _texts(fig) and "Quận Ngô Quyền" not in _texts(fig)


def test_a_selection_is_split_and_explained():
    """At national scale a chart shows the highest and lowest: a dotted line between the two
    groups, and the note saying so under the chart's own."""
    values = {f"Huyện {n}": float(n) for n in range(20)}
    note = "Biểu đồ chỉ vẽ 10 quận, huyện có tỷ lệ cao nhất và 10 quận, huyện thấp nhất."
    fig = _figure(charts._bars_figure, values, title="t", xlabel="x (%)", decimals=2,
                  unit_suffix="%", incomplete=(), reference=5.0, reference_label="Cả nước",
                  notes=[note], split=10)
    ax = fig.axes[0]
    assert any(list(ln.get_ydata()) == [9.5, 9.5] for ln in ax.get_lines())  # between 10 and 11
    assert note in _prose(fig) and "Cả nước: 5,00%" in _texts(fig)
    assert _ticks(ax)[:2] == ["Huyện 19", "Huyện 18"]


def test_band_bars_with_the_country_on_top(tmp_path):
    counts = COUNTS.rename(index={"Toàn thành phố": "Cả nước"})
    fig = _figure(charts._band_figure, counts, **BAND_ARGS, total_label="xã", incomplete=(),
                  total_row="Cả nước", notes=["Biểu đồ chỉ vẽ một phần."])
    assert len(fig.axes) == 2 and _ticks(fig.axes[1]) == ["Cả nước"]
    prose = _prose(fig)
    assert "Cả nước vẽ theo thang đo riêng." in prose and "Biểu đồ chỉ vẽ một phần." in prose
    assert "Toàn thành phố" not in prose
    png = charts.band_bars(counts, **BAND_ARGS, total_row="Cả nước", save_as=tmp_path / "b")
    assert Image.open(io.BytesIO(png)).mode == "L"  # grey: one byte a pixel
