"""Charts for the leaders' report, in one house style.

Every chart is drawn in shades of grey (it must survive a black-and-white
printer; series are told apart by grey shade *and* hatching or dash pattern),
in DejaVu Sans (it has every Vietnamese glyph), with Vietnamese titles, axis
labels that name their unit, and Vietnamese number format on ticks and value
labels (`1.234,5`). All charts are 8 in wide at 150 dpi (1200 px); bar charts
grow in height with the number of bars; notes sit at the bottom, legends under
the title.

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

Each function returns the PNG (150 dpi) as bytes and, given `save_as` (a path
without suffix), also writes `<save_as>.png` and `<save_as>.svg` atomically. The
SVG keeps its text as text (`svg.fonttype: none`), so titles and labels can be
searched and pasted into documents; viewers without DejaVu Sans fall back to
another sans-serif font that has the Vietnamese letters (Arial, Helvetica).
Figures are built with the object API on an Agg canvas, never through pyplot's
global state, so charts can be drawn from worker threads.

Speed (the report draws 17 charts): the constrained layout is solved with the canvas's
own renderer, without drawing passes (`_solve_layout`), then frozen: the PNG and the SVG
are one drawing each. The PNG is 8-bit grey when every pixel is grey, as the house style
makes it (a quarter of the bytes of RGBA, the same picture). Under `svg_later` the SVG is
left for later (`write_svg`): the report has it drawn by a second process, the figure
pickled, while the first makes the PDF. The top level's row and reference line are
named by the caller (`Toàn thành phố`, nationally `Cả nước`); a national chart shows a
selection with a note (`notes`, `split`).
"""
from __future__ import annotations

import io
import math
import textwrap
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from cycler import cycler

from pipelines.base.atomic import write_bytes
from pipelines.base.text import vn_flexible, vn_number

DPI = 150
WIDTH_IN = 8.0
BAR_IN = 0.34  # height per bar, inches
MIN_HEIGHT_IN = 2.6
TREND_HEIGHT_IN = 3.9  # the plot of a trend, without notes and legend
LEGEND_ROW_IN = 0.3
NOTE_LINE_IN = 0.17
TITLE_CHARS = 78  # wrap titles longer than this
NOTE_CHARS = 135  # wrap notes longer than this
LEGEND_CHARS = 95  # legend entries per row, in characters
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
TREND_INCOMPLETE_NOTE = ("Điểm rỗng, dấu *: chưa đầy đủ – có đơn vị chưa báo cáo hoặc biểu bị "
                         "loại, số liệu là cận dưới.")
TREND_RATE_INCOMPLETE_NOTE = ("Điểm rỗng, dấu *: chưa đầy đủ – có đơn vị chưa báo cáo hoặc biểu "
                              "bị loại; tỷ lệ chỉ tính trên các đơn vị đã báo cáo đủ.")
SCALE_NOTE = "{} vẽ theo thang đo riêng."  # the top level's own panel (band chart)
CITY_SCALE_NOTE = SCALE_NOTE.format(CITY)

# Greys: readable in print and by readers who do not see colour.
BAR = "#8c8c8c"
BAR_DARK = "#3a3a3a"
BAR_LIGHT = "#c8c8c8"
INK = "#1a1a1a"
WHITE = "#ffffff"

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


STYLE = {
    # DejaVu Sans draws everything; the generic family lets an SVG viewer without it
    # pick another sans-serif face with the Vietnamese letters.
    "font.family": ["DejaVu Sans", "sans-serif"],
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica", "Liberation Sans"],
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "axes.facecolor": WHITE,
    "figure.facecolor": WHITE,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": INK,
    "ytick.color": INK,
    "xtick.labelcolor": INK,
    "ytick.labelcolor": INK,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "hatch.color": INK,
    "hatch.linewidth": 0.6,
    "text.color": INK,
    "axes.prop_cycle": cycler(color=[INK]),  # no default colour sneaks in
    "text.parse_math": False,  # a `$` in a name is a dollar sign, not mathematics
    "svg.fonttype": "none",  # text stays text: searchable, pastes into documents
    "svg.hashsalt": "thongke",  # stable ids: the same data gives the same file
}

_LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 0.6}
_LOCK = threading.Lock()  # rcParams are process-wide; draw one chart at a time


@contextmanager
def _styled() -> Iterator[None]:
    """The house style, one chart at a time."""
    from matplotlib import rc_context

    with _LOCK, rc_context(STYLE):
        yield


def _axis_formatter(decimals: int):
    from functools import partial

    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(partial(_tick_text, decimals=decimals))  # picklable: no lambda


def _tick_text(x: float, _pos, decimals: int) -> str:
    return vn_flexible(x, decimals)


def _series(values: Mapping[str, float] | pd.Series) -> pd.Series:
    s = pd.Series(values, dtype="float64") if not isinstance(values, pd.Series) else values
    return s.astype("float64")


def _frame(values: pd.DataFrame) -> pd.DataFrame:
    """Numbers as floats (None and blanks become NaN); labels as given."""
    return values.apply(pd.to_numeric, errors="coerce").astype("float64")


def _wrap_notes(notes: Sequence[str]) -> list[str]:
    return [textwrap.fill(n, NOTE_CHARS, subsequent_indent="  ") for n in notes]


def _note_lines(notes: Sequence[str]) -> int:
    return sum(n.count("\n") + 1 for n in _wrap_notes(notes))


def _new_figure(n_bars: int, n_notes: int, extra_in: float = 0.0, plot_in: float | None = None,
                subplot: bool = True):
    """A figure 8 in wide; `n_notes` counts lines; `plot_in` replaces the bars' height."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    body = BAR_IN * n_bars if plot_in is None else plot_in
    height = max(MIN_HEIGHT_IN, 1.3 + body + NOTE_LINE_IN * n_notes + 0.05 * bool(n_notes)
                 + extra_in)
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return (fig, fig.add_subplot()) if subplot else (fig, None)


def _titles(fig, ax, title: str, xlabel: str) -> None:
    """Title from the figure's left edge (long district names push the axes right), wrapped."""
    fig.suptitle(textwrap.fill(title, TITLE_CHARS), x=0.01, ha="left",
                 fontsize=STYLE["axes.titlesize"], fontweight="bold", color=INK)
    if ax is not None and xlabel:
        ax.set_xlabel(textwrap.fill(xlabel, 2 * TITLE_CHARS))


def _legend_rows(labels: Sequence[str]) -> tuple[int, int]:
    """(columns, rows) so that a legend row holds about LEGEND_CHARS characters."""
    if not labels:
        return 1, 0
    width = max(len(s) for s in labels) + 5  # a handle and a gap
    ncols = max(1, min(len(labels), LEGEND_CHARS // width))
    return ncols, math.ceil(len(labels) / ncols)


def _legend(ax, handles, labels: Sequence[str]) -> None:
    """The legend between the title and the plot, in the given order.

    Attached to the axes (not the figure): the layout then makes room for it under
    the title, where a figure legend would share the title's margin and overlap it.
    """
    ncols, _ = _legend_rows(labels)
    ax.legend(handles, list(labels), loc="lower left", bbox_to_anchor=(0, 1.02), ncols=ncols,
              frameon=False, handlelength=2.4, handleheight=1.1, columnspacing=1.4,
              borderaxespad=0.0, borderpad=0.0)


def _notes(fig, notes: Sequence[str]) -> None:
    if notes:
        fig.get_layout_engine().set(h_pad=0.08)
        fig.supxlabel("\n".join(_wrap_notes(notes)), fontsize=7.5, x=0.01, ha="left",
                      color=INK, style="italic")


def _solve_layout(fig) -> None:
    """Solve the figure's constrained layout now, with the canvas's own renderer (its text
    metrics cached for the drawing that follows); no drawing pass."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.execute(fig)


def _png(fig) -> bytes:
    """The drawn canvas as PNG at DPI: 8-bit grey when every pixel is an opaque grey (the
    house style; a quarter of the bytes to encode, embed and decode), else RGBA."""
    from PIL import Image

    rgba = np.asarray(fig.canvas.buffer_rgba())
    grey = rgba[..., 0]
    if ((rgba[..., 3] == 255).all() and np.array_equal(rgba[..., 1], grey)
            and np.array_equal(rgba[..., 2], grey)):
        image = Image.fromarray(np.ascontiguousarray(grey))
    else:
        image = Image.fromarray(np.ascontiguousarray(rgba))
    buf = io.BytesIO()
    image.save(buf, format="png", dpi=(DPI, DPI))
    return buf.getvalue()


_LATER = threading.local()  # `svg_later`'s list, per thread


@contextmanager
def svg_later() -> Iterator[list]:
    """Within (in this thread) a chart's PNG is drawn and written as usual, its SVG is not:
    the (figure, path without suffix) pairs are collected in the yielded list, for
    `write_svg` later, here or in another process (the figure, laid out, pickles)."""
    sink: list = []
    _LATER.sink = sink
    try:
        yield sink
    finally:
        _LATER.sink = None


def write_svg(fig, save_as: Path | str) -> None:
    """The SVG of a figure that `_export` drew as PNG under `svg_later`."""
    with _styled():
        data = _svg(fig)
    stem = Path(save_as)
    write_bytes(stem.parent / f"{stem.name}.svg", data)


def _svg(fig) -> bytes:
    svg = io.BytesIO()
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return svg.getvalue()


def _export(fig, save_as: Path | str | None, *, laid_out: bool = False) -> bytes:
    """Draw the figure once as PNG and, given `save_as`, once as SVG, with one layout: solved
    here (unless `laid_out`: the caller's last solve stands), then frozen for both."""
    if not laid_out:
        _solve_layout(fig)
    fig.set_layout_engine("none")  # both drawings keep this layout: no second solve
    fig.canvas.draw()
    png = _png(fig)
    if save_as is not None:
        stem = Path(save_as)
        later = getattr(_LATER, "sink", None)
        if later is None:
            svg = _svg(fig)
            write_bytes(stem.parent / f"{stem.name}.png", png)
            write_bytes(stem.parent / f"{stem.name}.svg", svg)
        else:
            write_bytes(stem.parent / f"{stem.name}.png", png)
            later.append((fig, stem))
    return png


def _finish(fig, notes: list[str], save_as: Path | str | None) -> bytes:
    _notes(fig, notes)
    return _export(fig, save_as)


def _end_label(ax, x: float, y: float, text: str, *, italic: bool = False):
    """A label just right of `x` (a bar's end), on a white box so grid lines do not cross it."""
    return ax.annotate(text, (x, y), xytext=(3, 0), textcoords="offset points", va="center",
                       ha="left", fontsize=8, color=INK, style="italic" if italic else "normal",
                       bbox=_LABEL_BOX, zorder=4, annotation_clip=False)


def _fit_xlim(fig, ax, labels: Sequence, margin_px: float = 6.0) -> None:
    """Widen the x range until every label right of a bar ends inside the axes."""
    _fit_xlims(fig, [(ax, labels)], margin_px)


def _fit_xlims(fig, plots: Sequence[tuple[object, Sequence]], margin_px: float = 6.0) -> None:
    """`_fit_xlim` for several axes of one figure, with one layout pass."""
    if not any(labels for _, labels in plots):
        return
    _solve_layout(fig)  # the axes get their final width
    renderer = fig.canvas.get_renderer()
    for ax, labels in plots:
        box = ax.get_window_extent(renderer)
        x0, x1 = ax.get_xlim()
        need = x1
        for t in labels:
            anchor = t.xy[0] if hasattr(t, "xy") else t.get_position()[0]
            reach = t.get_window_extent(renderer).x1 - ax.transData.transform((anchor, 0))[0]
            room = box.width - reach - margin_px
            if room > box.width * 0.2:
                need = max(need, x0 + (anchor - x0) * box.width / room)
        if need > x1:
            ax.set_xlim(x0, need)


def _value_axis(ax, decimals: int, axis: str = "x") -> None:
    from matplotlib.ticker import MaxNLocator

    target = ax.xaxis if axis == "x" else ax.yaxis
    if decimals == 0:  # whole numbers: ticks on whole numbers only
        target.set_major_locator(MaxNLocator(integer=True))
    target.set_major_formatter(_axis_formatter(decimals))
    ax.grid(axis=axis, color=BAR_LIGHT, linewidth=0.5)
    ax.set_axisbelow(True)


def _empty(ax) -> None:
    """Nothing to draw: a frame that says so, no scale to misread."""
    ax.text(0.5, 0.5, MISSING_TEXT, ha="center", va="center", style="italic", color=INK,
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _with_unit(number: str, unit: str) -> str:
    if not unit:
        return number
    return f"{number}{unit}" if unit == "%" else f"{number} {unit}"


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
    fig, ax = _new_figure(len(names), _note_lines(notes))
    ys = range(len(names))
    has_ref = reference is not None and reference == reference
    top = max([present.max() if len(present) else 0.0, reference if has_ref else 0.0])
    span = top if top > 0 else 1.0
    labels = []
    for y, name in zip(ys, names):
        v = s[name]
        if v != v:  # NaN: no bar, a word instead
            _end_label(ax, 0, y, MISSING_TEXT, italic=True)
            continue
        hatch = "///" if name in incomplete else None
        ax.barh(y, v, height=0.62, color=BAR, edgecolor=INK, linewidth=0.5, hatch=hatch)
        labels.append(_end_label(ax, v, y, vn_number(v, decimals) + unit_suffix))
    if has_ref:
        ax.axvline(reference, color=INK, linestyle="--", linewidth=1.1)
        labels.append(ax.text(reference + span * 0.01, -0.8, f"{reference_label}: "
                              f"{vn_number(reference, decimals)}{unit_suffix}", ha="left",
                              va="center", fontsize=8, color=INK, bbox=_LABEL_BOX, zorder=4))
    if split is not None and 0 < split < len(names):  # the highest above, the lowest below
        ax.axhline(split - 0.5, color=INK, linestyle=(0, (1, 2)), linewidth=0.8)
    ax.set_yticks(list(ys), [f"{n} *" if n in incomplete else str(n) for n in names])
    ax.set_ylim(len(names) - 0.5, -1.2 if has_ref else -0.6)
    ax.set_xlim(0, span * 1.12)
    _value_axis(ax, decimals)
    if not names:
        _empty(ax)
    _titles(fig, ax, title, xlabel)
    _notes(fig, notes)
    _fit_xlim(fig, ax, labels)
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
    with _styled():
        fig = _bars_figure(values, title=title, xlabel=f"{label} ({unit})", decimals=decimals,
                           unit_suffix=suffix, incomplete=incomplete, reference=reference,
                           reference_label=reference_label, notes=notes, split=split,
                           incomplete_note=incomplete_note)
        return _export(fig, save_as)


def sum_bars(values: Mapping[str, float] | pd.Series, *, title: str, label: str, unit: str,
             incomplete: Iterable[str] = (), decimals: int = 0,
             save_as: Path | str | None = None, notes: Sequence[str] = (),
             split: int | None = None, incomplete_note: str = INCOMPLETE_NOTE) -> bytes:
    """A summed indicator (or an average: `incomplete_note`) by district (index = district
    name), ranked."""
    with _styled():
        fig = _bars_figure(values, title=title, xlabel=f"{label} ({unit})", decimals=decimals,
                           unit_suffix="", incomplete=incomplete, reference=None,
                           reference_label="", notes=notes, split=split,
                           incomplete_note=incomplete_note)
        return _export(fig, save_as)


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
    fig, ax = _new_figure(len(names), _note_lines(notes))
    for y, name in enumerate(names):
        v = s[name]
        if v != v:
            _end_label(ax, 0, y, MISSING_TEXT, italic=True)
            continue
        lagging = v < mean
        ax.barh(y, v, height=0.62, color=BAR_DARK if lagging else BAR_LIGHT,
                edgecolor=INK, linewidth=0.5)
        _end_label(ax, v, y, vn_number(v, 1) + "%")
    if mean == mean:
        ax.axvline(mean, color=INK, linestyle="--", linewidth=1.0, zorder=3)
    ax.set_yticks(range(len(names)), [str(n) for n in names])
    ax.set_ylim(len(names) - 0.5, -0.6)
    ax.set_xlim(0, 112)
    ax.set_xticks(range(0, 101, 20))
    ax.xaxis.set_major_formatter(_axis_formatter(0))
    ax.grid(axis="x", color=BAR_LIGHT, linewidth=0.5)
    ax.set_axisbelow(True)
    _titles(fig, ax, f"{title} *" if incomplete else title, "Tỷ lệ xã đạt tiêu chí (%)")
    _notes(fig, notes)
    return fig


def criteria_bars(shares: Mapping[str, float] | pd.Series, *, title: str,
                  incomplete: bool = False, save_as: Path | str | None = None) -> bytes:
    """Share of communes meeting each criterion (index = criterion label), lowest on top.

    Criteria below the average share of all criteria are drawn dark: they are the
    ones holding communes back from the standard.
    """
    with _styled():
        return _export(_criteria_figure(shares, title=title, incomplete=incomplete), save_as)


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
    ncols_rows = _legend_rows(components)[1]
    fig, ax = _new_figure(len(order), _note_lines(notes), extra_in=LEGEND_ROW_IN * ncols_rows)
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
            _end_label(ax, 0, y, MISSING_TEXT, italic=True)
        else:
            labels.append(_end_label(ax, left[y], y, _with_unit(vn_number(left[y], decimals),
                                                                  unit)))
    top = float(left.max()) if len(left) else 0.0
    ax.set_yticks(range(len(order)), [f"{n} *" if n in marked else str(n) for n in order])
    ax.set_ylim(len(order) - 0.5, -0.6)
    ax.set_xlim(0, top * 1.05 if top > 0 else 1.0)
    _value_axis(ax, decimals)
    if not order:
        _empty(ax)
    _titles(fig, ax, title, f"{label} ({unit})")
    _legend(ax, handles, components)
    _notes(fig, notes)
    _fit_xlim(fig, ax, labels)
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
    with _styled():
        fig = _stacked_figure(parts, title=title, label=label, unit=unit, decimals=decimals,
                              incomplete=incomplete, notes=notes)
        return _export(fig, save_as)


# -- trend -----------------------------------------------------------------------------------

def _trend_data(points: pd.DataFrame) -> tuple[list[str], dict[str, np.ndarray]]:
    """Period labels (as given, in the given order) and each series' values, NaN where the
    period has no number: the lines break there."""
    df = _frame(points)
    return ([str(p) for p in df.index],
            {str(c): df.iloc[:, j].to_numpy(dtype="float64") for j, c in enumerate(df.columns)})


def _trend_figure(points: pd.DataFrame, *, title: str, label: str, unit: str, decimals: int,
                  incomplete: Iterable[tuple[str, str]], bound: bool = True):
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
    legend_labels = [f"{s} ({MISSING_TEXT})" if np.isnan(v).all() else s
                     for s, v in series.items()]
    rows = _legend_rows(legend_labels)[1]
    fig, ax = _new_figure(0, _note_lines(notes), extra_in=LEGEND_ROW_IN * rows,
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
                            bbox=_LABEL_BOX, zorder=6, annotation_clip=False)
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
    wrap = max(6, int((WIDTH_IN * 72 - 80) / max(n, 1) / 5.6))  # characters a period's room holds
    ax.set_xticks(x, [textwrap.fill(p, wrap) for p in periods])
    ax.tick_params(axis="x", length=0, pad=5)
    _value_axis(ax, decimals, axis="y")
    ax.set_ylabel(textwrap.fill(f"{label} ({unit})", 40))
    _titles(fig, ax, title, "")
    _legend(ax, handles, legend_labels)
    _notes(fig, notes)
    return fig


def trend_lines(points: pd.DataFrame, *, title: str, label: str, unit: str, decimals: int = 0,
                incomplete: Iterable[tuple[str, str]] = (),
                save_as: Path | str | None = None, bound: bool = True) -> bytes:
    """An indicator over the periods on record (index = period labels in time order, used as
    given; columns = series, the first the city, drawn thick, dark and labelled; further
    ones, e.g. leading and lagging districts, thinner, lighter and dashed).

    A missing point is a gap in its line, never 0; the (period, series) pairs in
    `incomplete` get a hollow marker, a ` *` on the city's value, and a note: a lower
    bound when `bound` (a sum), else over the units that reported in full (a rate).
    """
    with _styled():
        fig = _trend_figure(points, title=title, label=label, unit=unit, decimals=decimals,
                            incomplete=incomplete, bound=bound)
        return _export(fig, save_as)


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
    rows = _legend_rows(bands)[1]
    n_bars = sum(len(g) for g in groups) + 0.9 * (len(groups) - 1)
    fig, _ = _new_figure(n_bars, _note_lines(notes), extra_in=LEGEND_ROW_IN * rows,
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
                _end_label(ax, 0, y, MISSING_TEXT, italic=True)
            else:
                total = float(np.nansum(cells[y]))  # not absent: some band has a number
                labels.append(_end_label(ax, left[y], y, f"{vn_number(total)} {total_label}"))
        top = float(left.max()) if len(left) else 0.0
        ax.set_yticks(range(len(names)), [f"{n} *" if n in marked else str(n) for n in names])
        ax.set_ylim(len(names) - 0.5, -0.6)
        ax.set_xlim(0, top * 1.05 if top > 0 else 1.0)
        _value_axis(ax, 0)
        ax.tick_params(axis="y", length=0)
        ends[k] = labels
    _titles(fig, axes[-1], title, f"Số {total_label}")
    handles = [Patch(facecolor=f, edgecolor=INK, linewidth=0.5, hatch=h) for f, h in styles]
    _legend(axes[0], handles, bands)
    _notes(fig, notes)
    _fit_xlims(fig, [(axes[k], labels) for k, labels in ends.items()])
    _solve_layout(fig)  # with the final x ranges: segments measured as they are drawn
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
    with _styled():
        fig = _band_figure(counts, title=title, bands=bands, total_label=total_label,
                           incomplete=incomplete, total_row=total_row, notes=notes)
        return _export(fig, save_as, laid_out=True)  # counts inside segments were fitted to it
