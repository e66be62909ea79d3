"""The house style of the report's charts, and the primitives every chart kind draws with
(`pipelines/report/charts.py` draws the kinds).

Every chart is drawn in shades of grey (it must survive a black-and-white printer), in
DejaVu Sans (it has every Vietnamese glyph), with Vietnamese number format on ticks
(`1.234,5`). All charts are 8 in wide at 150 dpi (1200 px); bar charts grow in height with
the number of bars (`new_figure`); notes sit at the bottom (`set_notes`), legends under the
title (`set_legend`). Figures are built with the object API on an Agg canvas, never through
pyplot's global state, so charts can be drawn from worker threads; the house style's
rcParams are process-wide, so `styled` draws one chart at a time.

`export` returns the PNG (150 dpi) as bytes and, given `save_as` (a path without suffix),
also writes `<save_as>.png` and `<save_as>.svg` atomically. The SVG keeps its text as text
(`svg.fonttype: none`), so titles and labels can be searched and pasted into documents;
viewers without DejaVu Sans fall back to another sans-serif font that has the Vietnamese
letters (Arial, Helvetica).

Speed (the report draws 17 charts): the constrained layout is solved with the canvas's
own renderer, without drawing passes (`solve_layout`), then frozen: the PNG and the SVG
are one drawing each. The PNG is 8-bit grey when every pixel is grey, as the house style
makes it (a quarter of the bytes of RGBA, the same picture). Under `svg_later` the SVG is
left for later (`write_svg`): the report has it drawn by a second process, the figure
pickled, while the first makes the PDF.
"""
from __future__ import annotations

import io
import math
import textwrap
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from cycler import cycler

from pipelines.base.atomic import write_bytes
from pipelines.base.text import vn_flexible

DPI = 150
WIDTH_IN = 8.0
BAR_IN = 0.34  # height per bar, inches
MIN_HEIGHT_IN = 2.6
LEGEND_ROW_IN = 0.3
NOTE_LINE_IN = 0.17
TITLE_CHARS = 78  # wrap titles longer than this
NOTE_CHARS = 135  # wrap notes longer than this
LEGEND_CHARS = 95  # legend entries per row, in characters

# Greys: readable in print and by readers who do not see colour.
BAR = "#8c8c8c"
BAR_DARK = "#3a3a3a"
BAR_LIGHT = "#c8c8c8"
INK = "#1a1a1a"
WHITE = "#ffffff"


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

LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 0.6}
_LOCK = threading.Lock()  # rcParams are process-wide; draw one chart at a time


@contextmanager
def styled() -> Iterator[None]:
    """The house style, one chart at a time."""
    from matplotlib import rc_context

    with _LOCK, rc_context(STYLE):
        yield


def axis_formatter(decimals: int):
    from functools import partial

    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(partial(_tick_text, decimals=decimals))  # picklable: no lambda


def _tick_text(x: float, _pos, decimals: int) -> str:
    return vn_flexible(x, decimals)


def _wrap_notes(notes: Sequence[str]) -> list[str]:
    return [textwrap.fill(n, NOTE_CHARS, subsequent_indent="  ") for n in notes]


def note_lines(notes: Sequence[str]) -> int:
    return sum(n.count("\n") + 1 for n in _wrap_notes(notes))


def new_figure(n_bars: int, n_notes: int, extra_in: float = 0.0, plot_in: float | None = None,
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


def set_titles(fig, ax, title: str, xlabel: str) -> None:
    """Title from the figure's left edge (long district names push the axes right), wrapped."""
    fig.suptitle(textwrap.fill(title, TITLE_CHARS), x=0.01, ha="left",
                 fontsize=STYLE["axes.titlesize"], fontweight="bold", color=INK)
    if ax is not None and xlabel:
        ax.set_xlabel(textwrap.fill(xlabel, 2 * TITLE_CHARS))


def legend_rows(labels: Sequence[str]) -> tuple[int, int]:
    """(columns, rows) so that a legend row holds about LEGEND_CHARS characters."""
    if not labels:
        return 1, 0
    width = max(len(s) for s in labels) + 5  # a handle and a gap
    ncols = max(1, min(len(labels), LEGEND_CHARS // width))
    return ncols, math.ceil(len(labels) / ncols)


def set_legend(ax, handles, labels: Sequence[str]) -> None:
    """The legend between the title and the plot, in the given order.

    Attached to the axes (not the figure): the layout then makes room for it under
    the title, where a figure legend would share the title's margin and overlap it.
    """
    ncols, _ = legend_rows(labels)
    ax.legend(handles, list(labels), loc="lower left", bbox_to_anchor=(0, 1.02), ncols=ncols,
              frameon=False, handlelength=2.4, handleheight=1.1, columnspacing=1.4,
              borderaxespad=0.0, borderpad=0.0)


def set_notes(fig, notes: Sequence[str]) -> None:
    if notes:
        fig.get_layout_engine().set(h_pad=0.08)
        fig.supxlabel("\n".join(_wrap_notes(notes)), fontsize=7.5, x=0.01, ha="left",
                      color=INK, style="italic")


def solve_layout(fig) -> None:
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
    """The SVG of a figure that `export` drew as PNG under `svg_later`."""
    with styled():
        data = _svg(fig)
    stem = Path(save_as)
    write_bytes(stem.parent / f"{stem.name}.svg", data)


def _svg(fig) -> bytes:
    svg = io.BytesIO()
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return svg.getvalue()


def export(fig, save_as: Path | str | None, *, laid_out: bool = False) -> bytes:
    """Draw the figure once as PNG and, given `save_as`, once as SVG, with one layout: solved
    here (unless `laid_out`: the caller's last solve stands), then frozen for both."""
    if not laid_out:
        solve_layout(fig)
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


def end_label(ax, x: float, y: float, text: str, *, italic: bool = False):
    """A label just right of `x` (a bar's end), on a white box so grid lines do not cross it."""
    return ax.annotate(text, (x, y), xytext=(3, 0), textcoords="offset points", va="center",
                       ha="left", fontsize=8, color=INK, style="italic" if italic else "normal",
                       bbox=LABEL_BOX, zorder=4, annotation_clip=False)


def fit_xlim(fig, ax, labels: Sequence, margin_px: float = 6.0) -> None:
    """Widen the x range until every label right of a bar ends inside the axes."""
    fit_xlims(fig, [(ax, labels)], margin_px)


def fit_xlims(fig, plots: Sequence[tuple[object, Sequence]], margin_px: float = 6.0) -> None:
    """`fit_xlim` for several axes of one figure, with one layout pass."""
    if not any(labels for _, labels in plots):
        return
    solve_layout(fig)  # the axes get their final width
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


def value_axis(ax, decimals: int, axis: str = "x") -> None:
    from matplotlib.ticker import MaxNLocator

    target = ax.xaxis if axis == "x" else ax.yaxis
    if decimals == 0:  # whole numbers: ticks on whole numbers only
        target.set_major_locator(MaxNLocator(integer=True))
    target.set_major_formatter(axis_formatter(decimals))
    ax.grid(axis=axis, color=BAR_LIGHT, linewidth=0.5)
    ax.set_axisbelow(True)


def with_unit(number: str, unit: str) -> str:
    if not unit:
        return number
    return f"{number}{unit}" if unit == "%" else f"{number} {unit}"
