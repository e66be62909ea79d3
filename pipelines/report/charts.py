"""The chart kinds of the leaders' report, one function each, drawn with the house style's
primitives (`pipelines/report/drawing.py`: greys, fonts, figure size, notes, legends, value
labels, saving). Series are told apart by grey shade *and* hatching or dash pattern; titles
are Vietnamese, axis labels name their unit, value labels are Vietnamese numbers (`1.234,5`).

- `rate_bars`: a rate by district, ranked, with the city value as a reference line;
- `sum_bars`: a sum by district, ranked;
- `criteria_bars`: the share of communes meeting each NTM criterion, lowest first,
  the criteria below the average share drawn darker so lagging ones stand out;
- `stacked_bars`: a flow made of components (houses built and repaired; money from
  the Fund, the people, businesses) by district, stacked, ranked by total;
- `trend_lines`: an indicator over all periods on record, the city thick and
  labelled, optionally a few districts thinner;
- `band_bars`: communes by number of NTM criteria met (bands), by district, the
  city in its own panel with its own scale.

A missing value (NaN) is never drawn as 0: its row keeps its label, shows
`không có số liệu` instead of a bar (a gap in a line), and a note under the chart
says so. A value marked incomplete is hatched (where hatching does not already
tell series apart) and its label gets ` *`, with a note.

Each function returns the PNG (150 dpi) as bytes and, given `save_as` (a path without
suffix), also writes `<save_as>.png` and `<save_as>.svg` atomically (`drawing.export`;
under `drawing.svg_later` the SVG is left for later). The top level's row and reference
line are named by the caller (`Toàn thành phố`, nationally `Cả nước`); a national chart
shows a selection with a note (`notes`, `split`).
"""
from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.base.text import vn_number
from pipelines.report.drawing import (
    BAR,
    BAR_DARK,
    BAR_LIGHT,
    INK,
    LABEL_BOX,
    LEGEND_ROW_IN,
    WHITE,
    WIDTH_IN,
    axis_formatter,
    end_label,
    export,
    fit_xlim,
    fit_xlims,
    legend_rows,
    new_figure,
    note_lines,
    set_legend,
    set_notes,
    set_titles,
    solve_layout,
    styled,
    value_axis,
    with_unit,
)

TREND_HEIGHT_IN = 3.9  # the plot of a trend, without notes and legend
CITY = "Toàn thành phố"  # the top level's row and reference line, unless told another
MISSING_TEXT = "không có số liệu"
MISSING_NOTE = "Không có số liệu: chưa báo cáo hoặc biểu bị loại (không phải bằng 0)."
INCOMPLETE_NOTE = "* Chưa đầy đủ: có đơn vị chưa báo cáo hoặc biểu bị loại, số liệu là cận dưới."
# A rate or an average over the units that reported in full is no bound: its own note.
RATE_INCOMPLETE_NOTE = ("* Chưa đầy đủ: có đơn vị chưa báo cáo hoặc biểu bị loại; tỷ lệ chỉ tính "
                        "trên các đơn vị đã báo cáo đủ.")
PART_MISSING_NOTE = ("* Thiếu số liệu một phần (không tính là 0, tổng chỉ cộng các phần có "
                     "số liệu): {}.")
TREND_GAP_NOTE = ("Chỗ đường bị ngắt: kỳ đó không có số liệu (chưa báo cáo hoặc biểu bị "
                  "loại), không phải bằng 0.")
TREND_BREAK_NOTE = ("Đường dọc nét đứt: địa giới đơn vị hành chính thay đổi; số liệu các kỳ "
                    "trước đó đã tính lại theo địa giới hiện nay.")
TREND_INCOMPLETE_NOTE = ("Điểm rỗng, dấu *: chưa đầy đủ – có đơn vị chưa báo cáo hoặc biểu bị "
                         "loại, số liệu là cận dưới.")
TREND_RATE_INCOMPLETE_NOTE = ("Điểm rỗng, dấu *: chưa đầy đủ – có đơn vị chưa báo cáo hoặc biểu "
                              "bị loại; tỷ lệ chỉ tính trên các đơn vị đã báo cáo đủ.")
SCALE_NOTE = "{} vẽ theo thang đo riêng."  # the top level's own panel (band chart)
CITY_SCALE_NOTE = SCALE_NOTE.format(CITY)

# Components of a stacked bar, in legend order: neighbours differ in shade, and the
# light ones carry a hatch, so each part stays apart on a black-and-white print.
PART_STYLES: tuple[tuple[str, str | None], ...] = (
    ("#4d4d4d", None),
    ("#bdbdbd", None),
    (WHITE, "////"),
    ("#858585", None),
    ("#e3e3e3", "...."),
    (WHITE, "xxx"),
    ("#a3a3a3", "\\\\\\\\"),
)
# Further series of a trend (the city is INK, solid, thick): grey, dashes and marker cycle
# at different lengths, so that no two of the first 30 series look alike.
TREND_GREYS = ("#5e5e5e", "#8a8a8a", "#737373")
TREND_DASHES: tuple[object, ...] = ((0, (5, 2)), (0, (1.2, 1.6)), (0, (6, 2, 1.2, 2)),
                                    (0, (2.5, 2)), "-")
TREND_MARKERS = ("s", "^", "D", "v", "P", "X", "<")


def _trend_style(k: int) -> tuple[str, object, str]:
    """(grey, dashes, marker) of the k-th series after the city (k = 0, 1, ...)."""
    return (TREND_GREYS[k % len(TREND_GREYS)], TREND_DASHES[k % len(TREND_DASHES)],
            TREND_MARKERS[k % len(TREND_MARKERS)])


# -- what the kinds share --------------------------------------------------------------------

def _series(values: Mapping[str, float] | pd.Series) -> pd.Series:
    s = pd.Series(values, dtype="float64") if not isinstance(values, pd.Series) else values
    return s.astype("float64")


def _frame(values: pd.DataFrame) -> pd.DataFrame:
    """Numbers as floats (None and blanks become NaN); labels as given."""
    return values.apply(pd.to_numeric, errors="coerce").astype("float64")


def _empty(ax) -> None:
    """Nothing to draw: a frame that says so, no scale to misread."""
    ax.text(0.5, 0.5, MISSING_TEXT, ha="center", va="center", style="italic", color=INK,
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


# -- ranked bars -----------------------------------------------------------------------------

def _bars_figure(values, *, title: str, xlabel: str, decimals: int, unit_suffix: str,
                 incomplete: Iterable[str], reference: float | None, reference_label: str,
                 notes: Sequence[str] = (), split: int | None = None,
                 incomplete_note: str = INCOMPLETE_NOTE):
    """Ranked horizontal bars, largest on top, missing values listed last; `notes` go under
    the chart's own; `split` (a selection of the highest and lowest) draws a dotted line
    under that many bars."""
    s = _series(values)
    incomplete = set(incomplete)
    present = s.dropna().sort_values(ascending=False, kind="stable")
    missing = s[s.isna()]
    names = list(present.index) + list(missing.index)
    notes = list(notes)
    if len(missing):
        notes.append(MISSING_NOTE)
    if incomplete & set(names):
        notes.append(incomplete_note)
    fig, ax = new_figure(len(names), note_lines(notes))
    ys = range(len(names))
    has_ref = reference is not None and reference == reference
    top = max([present.max() if len(present) else 0.0, reference if has_ref else 0.0])
    span = top if top > 0 else 1.0
    labels = []
    for y, name in zip(ys, names):
        v = s[name]
        if v != v:  # NaN: no bar, a word instead
            end_label(ax, 0, y, MISSING_TEXT, italic=True)
            continue
        hatch = "///" if name in incomplete else None
        ax.barh(y, v, height=0.62, color=BAR, edgecolor=INK, linewidth=0.5, hatch=hatch)
        labels.append(end_label(ax, v, y, vn_number(v, decimals) + unit_suffix))
    if has_ref:
        ax.axvline(reference, color=INK, linestyle="--", linewidth=1.1)
        labels.append(ax.text(reference + span * 0.01, -0.8, f"{reference_label}: "
                              f"{vn_number(reference, decimals)}{unit_suffix}", ha="left",
                              va="center", fontsize=8, color=INK, bbox=LABEL_BOX, zorder=4))
    if split is not None and 0 < split < len(names):  # the highest above, the lowest below
        ax.axhline(split - 0.5, color=INK, linestyle=(0, (1, 2)), linewidth=0.8)
    ax.set_yticks(list(ys), [f"{n} *" if n in incomplete else str(n) for n in names])
    ax.set_ylim(len(names) - 0.5, -1.2 if has_ref else -0.6)
    ax.set_xlim(0, span * 1.12)
    value_axis(ax, decimals)
    if not names:
        _empty(ax)
    set_titles(fig, ax, title, xlabel)
    set_notes(fig, notes)
    fit_xlim(fig, ax, labels)
    return fig


def rate_bars(values: Mapping[str, float] | pd.Series, *, title: str, label: str,
              unit: str = "%", reference: float | None = None,
              reference_label: str = CITY, incomplete: Iterable[str] = (),
              decimals: int = 2, save_as: Path | str | None = None,
              notes: Sequence[str] = (), split: int | None = None,
              incomplete_note: str = RATE_INCOMPLETE_NOTE) -> bytes:
    """A rate by district (index = district name), ranked, city value as a dashed line;
    `notes`, `split`: see `_bars_figure`."""
    suffix = "%" if unit == "%" else ""
    with styled():
        fig = _bars_figure(values, title=title, xlabel=f"{label} ({unit})", decimals=decimals,
                           unit_suffix=suffix, incomplete=incomplete, reference=reference,
                           reference_label=reference_label, notes=notes, split=split,
                           incomplete_note=incomplete_note)
        return export(fig, save_as)


def sum_bars(values: Mapping[str, float] | pd.Series, *, title: str, label: str, unit: str,
             incomplete: Iterable[str] = (), decimals: int = 0,
             save_as: Path | str | None = None, notes: Sequence[str] = (),
             split: int | None = None, incomplete_note: str = INCOMPLETE_NOTE) -> bytes:
    """A summed indicator (or an average: `incomplete_note`) by district (index = district
    name), ranked."""
    with styled():
        fig = _bars_figure(values, title=title, xlabel=f"{label} ({unit})", decimals=decimals,
                           unit_suffix="", incomplete=incomplete, reference=None,
                           reference_label="", notes=notes, split=split,
                           incomplete_note=incomplete_note)
        return export(fig, save_as)


# -- criteria --------------------------------------------------------------------------------

def _criteria_figure(shares, *, title: str, incomplete: bool):
    s = _series(shares)
    present = s.dropna().sort_values(kind="stable")
    missing = s[s.isna()]
    names = list(present.index) + list(missing.index)
    mean = float(present.mean()) if len(present) else float("nan")
    notes = []
    if mean == mean:
        notes.append(f"Cột đậm: tiêu chí có tỷ lệ xã đạt thấp hơn bình quân các tiêu chí "
                     f"({vn_number(mean, 1)}%, đường nét đứt).")
    if len(missing):
        notes.append(MISSING_NOTE)
    if incomplete:  # shares of the communes that reported: no bound
        notes.append(RATE_INCOMPLETE_NOTE)
    fig, ax = new_figure(len(names), note_lines(notes))
    for y, name in enumerate(names):
        v = s[name]
        if v != v:
            end_label(ax, 0, y, MISSING_TEXT, italic=True)
            continue
        lagging = v < mean
        ax.barh(y, v, height=0.62, color=BAR_DARK if lagging else BAR_LIGHT,
                edgecolor=INK, linewidth=0.5)
        end_label(ax, v, y, vn_number(v, 1) + "%")
    if mean == mean:
        ax.axvline(mean, color=INK, linestyle="--", linewidth=1.0, zorder=3)
    ax.set_yticks(range(len(names)), [str(n) for n in names])
    ax.set_ylim(len(names) - 0.5, -0.6)
    ax.set_xlim(0, 112)
    ax.set_xticks(range(0, 101, 20))
    ax.xaxis.set_major_formatter(axis_formatter(0))
    ax.grid(axis="x", color=BAR_LIGHT, linewidth=0.5)
    ax.set_axisbelow(True)
    set_titles(fig, ax, f"{title} *" if incomplete else title, "Tỷ lệ xã đạt tiêu chí (%)")
    set_notes(fig, notes)
    return fig


def criteria_bars(shares: Mapping[str, float] | pd.Series, *, title: str,
                  incomplete: bool = False, save_as: Path | str | None = None) -> bytes:
    """Share of communes meeting each criterion (index = criterion label), lowest on top.

    Criteria below the average share of all criteria are drawn dark: they are the
    ones holding communes back from the standard.
    """
    with styled():
        return export(_criteria_figure(shares, title=title, incomplete=incomplete), save_as)


# -- stacked bars ----------------------------------------------------------------------------

def _rank(parts: pd.DataFrame) -> list:
    """Draw order of a stacked chart, top first: by total (the sum of the parts on record)
    largest first, ties in the given order; rows with no part on record last, in order."""
    totals = _frame(parts).sum(axis=1, min_count=1)
    present = totals.dropna().sort_values(ascending=False, kind="stable")
    return list(present.index) + list(totals.index[totals.isna()])


def _row_gaps(df: pd.DataFrame, rows: list, columns: list, incomplete: Iterable[str],
              notes: Sequence[str] = ()) -> tuple[list, dict[str, list[str]], set, list[str]]:
    """For stacked rows: those with no value at all (absent), those missing some parts
    (gaps: row -> the parts), those flagged incomplete, and the notes that explain them
    (after the given `notes`)."""
    missing = dict(zip(rows, df.loc[list(rows), list(columns)].isna().to_numpy()))
    absent = [n for n in rows if missing[n].all()]
    gaps = {n: [str(c) for c, gone in zip(columns, missing[n]) if gone]
            for n in rows if not missing[n].all() and missing[n].any()}
    flagged = {n for n in set(incomplete) if n in df.index and n not in absent}
    notes = list(notes)
    if absent:
        notes.append(MISSING_NOTE)
    if gaps:
        notes.append(PART_MISSING_NOTE.format(
            "; ".join(f"{n} – {', '.join(cols)}" for n, cols in gaps.items())))
    if flagged:
        notes.append(INCOMPLETE_NOTE)
    return absent, gaps, flagged, notes


def _stacked_figure(parts: pd.DataFrame, *, title: str, label: str, unit: str, decimals: int,
                    incomplete: Iterable[str], notes: Sequence[str] = ()):
    from matplotlib.patches import Patch

    df = _frame(parts)
    order = _rank(df)
    components = [str(c) for c in df.columns]
    absent, gaps, flagged, notes = _row_gaps(df, order, list(df.columns), incomplete, notes)
    marked = flagged | set(gaps)
    ncols_rows = legend_rows(components)[1]
    fig, ax = new_figure(len(order), note_lines(notes), extra_in=LEGEND_ROW_IN * ncols_rows)
    left = np.zeros(len(order))
    handles = []
    grid = df.loc[order].to_numpy(dtype="float64")  # rows in draw order, parts in legend order
    for j, comp in enumerate(df.columns):
        face, hatch = PART_STYLES[j % len(PART_STYLES)]
        ys, widths, lefts = [], [], []
        for y, name in enumerate(order):
            v = grid[y, j]
            if math.isnan(v):  # missing: no segment, never a zero-width stand-in
                continue
            ys.append(y)
            widths.append(v)
            lefts.append(left[y])
            left[y] += v
        if ys:
            ax.barh(ys, widths, left=lefts, height=0.62, color=face, edgecolor=INK,
                    linewidth=0.5, hatch=hatch)
        handles.append(Patch(facecolor=face, edgecolor=INK, linewidth=0.5, hatch=hatch))
    labels = []
    for y, name in enumerate(order):
        if name in absent:
            end_label(ax, 0, y, MISSING_TEXT, italic=True)
        else:
            labels.append(end_label(ax, left[y], y, with_unit(vn_number(left[y], decimals),
                                                                unit)))
    top = float(left.max()) if len(left) else 0.0
    ax.set_yticks(range(len(order)), [f"{n} *" if n in marked else str(n) for n in order])
    ax.set_ylim(len(order) - 0.5, -0.6)
    ax.set_xlim(0, top * 1.05 if top > 0 else 1.0)
    value_axis(ax, decimals)
    if not order:
        _empty(ax)
    set_titles(fig, ax, title, f"{label} ({unit})")
    set_legend(ax, handles, components)
    set_notes(fig, notes)
    fit_xlim(fig, ax, labels)
    return fig


def stacked_bars(parts: pd.DataFrame, *, title: str, label: str, unit: str, decimals: int = 0,
                 incomplete: Iterable[str] = (), save_as: Path | str | None = None,
                 notes: Sequence[str] = ()) -> bytes:
    """A flow made of parts by district (index = district, columns = parts in legend order),
    stacked, ranked by total (largest on top), the total with its unit at the bar's end.

    A row with no part on record shows `không có số liệu`; a missing part in a row
    that has others is left out (not 0) and the row marked ` *` with a note naming
    it; rows in `incomplete` are marked ` *` too (hatching already tells the parts
    apart, so it does not mark incompleteness here).
    """
    with styled():
        fig = _stacked_figure(parts, title=title, label=label, unit=unit, decimals=decimals,
                              incomplete=incomplete, notes=notes)
        return export(fig, save_as)


# -- trend -----------------------------------------------------------------------------------

def _trend_data(points: pd.DataFrame) -> tuple[list[str], dict[str, np.ndarray]]:
    """Period labels (as given, in the given order) and each series' values, NaN where the
    period has no number: the lines break there."""
    df = _frame(points)
    return ([str(p) for p in df.index],
            {str(c): df.iloc[:, j].to_numpy(dtype="float64") for j, c in enumerate(df.columns)})


def _trend_figure(points: pd.DataFrame, *, title: str, label: str, unit: str, decimals: int,
                  incomplete: Iterable[tuple[str, str]], bound: bool = True,
                  breaks: Mapping[int, str] | None = None):
    periods, series = _trend_data(points)
    names = list(series)
    n = len(periods)
    x = np.arange(n, dtype="float64")
    hollow = {(str(p), str(s)) for p, s in incomplete}
    hollow = {(p, s) for p, s in hollow
              if p in periods and s in series and not math.isnan(series[s][periods.index(p)])}
    suffix = "%" if unit == "%" else ""
    notes = []
    if any(np.isnan(v).any() for v in series.values()):
        notes.append(TREND_GAP_NOTE)
    if hollow:
        notes.append(TREND_INCOMPLETE_NOTE if bound else TREND_RATE_INCOMPLETE_NOTE)
    breaks = {i: text for i, text in (breaks or {}).items() if 0 < i < n}
    if breaks:
        notes.append(TREND_BREAK_NOTE)
    legend_labels = [f"{s} ({MISSING_TEXT})" if np.isnan(v).all() else s
                     for s, v in series.items()]
    rows = legend_rows(legend_labels)[1]
    fig, ax = new_figure(0, note_lines(notes), extra_in=LEGEND_ROW_IN * rows,
                         plot_in=TREND_HEIGHT_IN - 1.3)
    handles = []
    for k, name in enumerate(names):
        y = series[name]
        if k == 0:  # the city: thick, dark, every point labelled
            color, dashes, marker, lw, ms, z = INK, "-", "o", 2.4, 6.5, 5
        else:
            color, dashes, marker = _trend_style(k - 1)
            lw, ms, z = 1.4, 5.0, 4
        (line,) = ax.plot(x, y, color=color, linestyle=dashes, linewidth=lw, marker=marker,
                          markersize=ms, markerfacecolor=color, markeredgecolor=color,
                          zorder=z, solid_capstyle="round", dash_capstyle="butt")
        handles.append(line)
        for i, p in enumerate(periods):
            if (p, name) in hollow:
                ax.plot([x[i]], [y[i]], color=color, linestyle="none", marker=marker,
                        markersize=ms,
                        markerfacecolor=WHITE, markeredgecolor=color,
                        markeredgewidth=1.4, zorder=z + 0.5)
        if k == 0:
            for i, v in enumerate(y):
                if math.isnan(v):
                    continue
                text = vn_number(v, decimals) + suffix
                if (periods[i], name) in hollow:
                    text += " *"
                ax.annotate(text, (x[i], v), xytext=(0, 7), textcoords="offset points",
                            ha="center", va="bottom", fontsize=8, color=INK,
                            bbox=LABEL_BOX, zorder=6, annotation_clip=False)
    values = np.concatenate([v for v in series.values()]) if series else np.array([])
    values = values[~np.isnan(values)]
    lo = float(values.min()) if len(values) else 0.0
    hi = float(values.max()) if len(values) else 1.0
    if lo >= 0:  # amounts and rates: from zero, so a change looks as large as it is
        ax.set_ylim(0, hi * 1.18 if hi > 0 else 1.0)
    else:
        pad = (hi - lo) * 0.12 or 1.0
        ax.set_ylim(lo - pad, hi + 2 * pad)
    ax.set_xlim(-0.5, n - 0.5)
    for i, text in breaks.items():  # between period i-1 and period i
        ax.axvline(i - 0.5, color=INK, linestyle=(0, (4, 3)), linewidth=1.0, zorder=3)
        ax.annotate(text, (i - 0.5, 1), xycoords=("data", "axes fraction"), xytext=(3, -3),
                    textcoords="offset points", ha="left", va="top", fontsize=7.5, color=INK,
                    bbox=LABEL_BOX, zorder=6)
    wrap = max(6, int((WIDTH_IN * 72 - 80) / max(n, 1) / 5.6))  # characters a period's room holds
    ax.set_xticks(x, [textwrap.fill(p, wrap) for p in periods])
    ax.tick_params(axis="x", length=0, pad=5)
    value_axis(ax, decimals, axis="y")
    ax.set_ylabel(textwrap.fill(f"{label} ({unit})", 40))
    set_titles(fig, ax, title, "")
    set_legend(ax, handles, legend_labels)
    set_notes(fig, notes)
    return fig


def trend_lines(points: pd.DataFrame, *, title: str, label: str, unit: str, decimals: int = 0,
                incomplete: Iterable[tuple[str, str]] = (),
                save_as: Path | str | None = None, bound: bool = True,
                breaks: Mapping[int, str] | None = None) -> bytes:
    """An indicator over the periods on record (index = period labels in time order, used as
    given; columns = series, the first the city, drawn thick, dark and labelled; further
    ones, e.g. leading and lagging districts, thinner, lighter and dashed).

    A missing point is a gap in its line, never 0; the (period, series) pairs in
    `incomplete` get a hollow marker, a ` *` on the city's value, and a note: a lower
    bound when `bound` (a sum), else over the units that reported in full (a rate).
    `breaks`: period position -> text, a boundary change between that period and the one
    before, drawn as a dashed vertical line with its text and explained in a note.
    """
    with styled():
        fig = _trend_figure(points, title=title, label=label, unit=unit, decimals=decimals,
                            incomplete=incomplete, bound=bound, breaks=breaks)
        return export(fig, save_as)


# -- criteria bands --------------------------------------------------------------------------

def _band_styles(n: int) -> list[tuple[str, str | None]]:
    """A sequential grey ramp, darkest first; the lowest bands also hatched."""
    styles = []
    for j in range(n):
        level = 0.18 + (0.93 - 0.18) * (j / (n - 1) if n > 1 else 0.0)
        grey = "#" + f"{round(level * 255):02x}" * 3
        hatch = None
        if n >= 3 and j == n - 1:
            hatch = "////"
        elif n >= 4 and j == n - 2:
            hatch = "...."
        styles.append((grey, hatch))
    return styles


def _band_plan(counts: pd.DataFrame, bands: Sequence[str], total_row: str = CITY
               ) -> tuple[pd.DataFrame, str | None]:
    """The rows to draw, in the given order (rows whose every band is 0 are left out), and
    the name of the top level's row (`total_row`) when there is one (its own panel)."""
    missing = [b for b in bands if b not in counts.columns]
    if missing:
        raise ValueError(f"band_bars: không có cột {', '.join(map(str, missing))}")
    df = _frame(counts[list(bands)])
    zero = df.fillna(0).eq(0).all(axis=1) & df.notna().all(axis=1)
    df = df[~zero]
    city = total_row if total_row in df.index else None
    return df, city


def _band_figure(counts: pd.DataFrame, *, title: str, bands: Sequence[str], total_label: str,
                 incomplete: Iterable[str], total_row: str = CITY, notes: Sequence[str] = ()):
    from matplotlib.patches import Patch

    bands = [str(b) for b in bands]
    df, city = _band_plan(counts, bands, total_row)
    districts = [n for n in df.index if n != city]
    absent, gaps, flagged, notes = _row_gaps(df, list(df.index), list(bands), incomplete, notes)
    marked = flagged | set(gaps)
    styles = _band_styles(len(bands))
    if city and districts:
        notes.append(SCALE_NOTE.format(city))
    groups = [g for g in (districts, [city] if city else []) if g]
    rows = legend_rows(bands)[1]
    n_bars = sum(len(g) for g in groups) + 0.9 * (len(groups) - 1)
    fig, _ = new_figure(n_bars, note_lines(notes), extra_in=LEGEND_ROW_IN * rows,
                        subplot=False)
    if groups:
        grid = fig.add_gridspec(len(groups), 1, height_ratios=[len(g) + 0.1 for g in groups])
        axes = [fig.add_subplot(grid[i, 0]) for i in range(len(groups))]
    else:
        axes = [fig.add_subplot()]
        _empty(axes[0])
    inner = []  # (text, segment): counts inside segments, dropped where they do not fit
    ends = {}  # axes index -> the totals at the bars' ends
    for k, (ax, names) in enumerate(zip(axes, groups)):
        left = np.zeros(len(names))
        cells = df.loc[names, bands].to_numpy(dtype="float64")
        for j, band in enumerate(bands):
            face, hatch = styles[j]
            for y, name in enumerate(names):
                v = cells[y, j]
                if math.isnan(v) or v <= 0:
                    continue
                (seg,) = ax.barh(y, v, left=left[y], height=0.62, color=face, edgecolor=INK,
                                 linewidth=0.5, hatch=hatch)
                dark = int(face[1:3], 16) < 0x80
                box = None if hatch is None else {"facecolor": WHITE, "edgecolor": "none",
                                                  "pad": 0.8}
                t = ax.text(left[y] + v / 2, y, vn_number(v), ha="center", va="center",
                            fontsize=7.5, color=WHITE if dark else INK, bbox=box, zorder=4)
                inner.append((t, seg))
                left[y] += v
        labels = []
        for y, name in enumerate(names):
            if name in absent:
                end_label(ax, 0, y, MISSING_TEXT, italic=True)
            else:
                total = float(np.nansum(cells[y]))  # not absent: some band has a number
                labels.append(end_label(ax, left[y], y, f"{vn_number(total)} {total_label}"))
        top = float(left.max()) if len(left) else 0.0
        ax.set_yticks(range(len(names)), [f"{n} *" if n in marked else str(n) for n in names])
        ax.set_ylim(len(names) - 0.5, -0.6)
        ax.set_xlim(0, top * 1.05 if top > 0 else 1.0)
        value_axis(ax, 0)
        ax.tick_params(axis="y", length=0)
        ends[k] = labels
    set_titles(fig, axes[-1], title, f"Số {total_label}")
    handles = [Patch(facecolor=f, edgecolor=INK, linewidth=0.5, hatch=h) for f, h in styles]
    set_legend(axes[0], handles, bands)
    set_notes(fig, notes)
    fit_xlims(fig, [(axes[k], labels) for k, labels in ends.items()])
    solve_layout(fig)  # with the final x ranges: segments measured as they are drawn
    if inner:
        renderer = fig.canvas.get_renderer()
        for t, seg in inner:
            tb, sb = t.get_window_extent(renderer), seg.get_window_extent(renderer)
            if tb.width + 4 > sb.width or tb.height > sb.height + 2:
                t.remove()
    return fig


def band_bars(counts: pd.DataFrame, *, title: str, bands: Sequence[str],
              save_as: Path | str | None = None, total_label: str = "xã",
              incomplete: Iterable[str] = (), total_row: str = CITY,
              notes: Sequence[str] = ()) -> bytes:
    """Communes by band of NTM criteria met (index = district names, possibly ending with
    `Toàn thành phố`; columns include `bands`, highest band first), stacked in a grey
    ramp (darkest = the highest band; the lowest bands also hatched), each count inside
    its segment where it fits, the total at the end (`12 xã`).

    Rows keep the given order; a row whose every band is 0 (no communes) is left out;
    a row with no number shows `không có số liệu`; a band without a number in an
    otherwise present row is left out (not 0) and the row marked ` *` with a note, as
    are rows in `incomplete`. The top level's row (`total_row`: the city, or `Cả nước`),
    far larger, gets its own panel and scale.
    """
    with styled():
        fig = _band_figure(counts, title=title, bands=bands, total_label=total_label,
                           incomplete=incomplete, total_row=total_row, notes=notes)
        return export(fig, save_as, laid_out=True)  # counts inside segments were fitted to it
