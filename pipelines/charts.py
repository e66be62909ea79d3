"""Charts for the leaders' report, in one house style.

Every chart is a horizontal bar chart drawn in shades of grey (it must survive a
black-and-white printer), in DejaVu Sans (it has every Vietnamese glyph), with
Vietnamese titles, axis labels that name their unit, and Vietnamese number
format on ticks and value labels (`1.234,5`).

- `rate_bars`: a rate by district, ranked, with the city value as a reference line;
- `sum_bars`: a sum by district, ranked;
- `criteria_bars`: the share of communes meeting each NTM criterion, lowest first,
  the criteria below the average share drawn darker so lagging ones stand out.

A missing value (NaN) is never drawn as 0: its row keeps its label, shows
`không có số liệu` instead of a bar, and a note under the chart says so. A value
marked incomplete is hatched and its label gets ` *`, with a note.

Each function returns the PNG (150 dpi) as bytes and, given `save_as` (a path
without suffix), also writes `<save_as>.png` and `<save_as>.svg` atomically.
Figures are built with the object API on an Agg canvas, never through pyplot's
global state, so charts can be drawn from worker threads.
"""
from __future__ import annotations

import io
import textwrap
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from pipelines.atomic import write_bytes
from pipelines.text import vn_flexible, vn_number

DPI = 150
WIDTH_IN = 8.0
BAR_IN = 0.34  # height per bar, inches
MIN_HEIGHT_IN = 2.6
TITLE_CHARS = 78  # wrap titles longer than this
MISSING_TEXT = "không có số liệu"
MISSING_NOTE = "Không có số liệu: chưa báo cáo hoặc biểu bị loại (không phải bằng 0)."
INCOMPLETE_NOTE = "* Chưa đầy đủ: có đơn vị chưa báo cáo hoặc biểu bị loại, số liệu là cận dưới."

# Greys: readable in print and by readers who do not see colour.
BAR = "#8c8c8c"
BAR_DARK = "#3a3a3a"
BAR_LIGHT = "#c8c8c8"
INK = "#1a1a1a"

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": INK,
    "ytick.color": INK,
    "hatch.color": INK,
    "hatch.linewidth": 0.6,
    "svg.fonttype": "path",  # the SVG carries its glyphs: opens anywhere
    "svg.hashsalt": "thongke",  # stable ids: the same data gives the same file
}

_LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 0.6}
_LOCK = threading.Lock()  # rcParams are process-wide; draw one chart at a time


def _axis_formatter(decimals: int):
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: vn_flexible(x, decimals))


def _series(values: Mapping[str, float] | pd.Series) -> pd.Series:
    s = pd.Series(values, dtype="float64") if not isinstance(values, pd.Series) else values
    return s.astype("float64")


def _new_figure(n_bars: int, n_notes: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = max(MIN_HEIGHT_IN, 1.3 + BAR_IN * n_bars + 0.22 * n_notes)
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _titles(fig, ax, title: str, xlabel: str) -> None:
    """Title from the figure's left edge (long district names push the axes right), wrapped."""
    fig.suptitle(textwrap.fill(title, TITLE_CHARS), x=0.01, ha="left",
                 fontsize=STYLE["axes.titlesize"], fontweight="bold", color=INK)
    ax.set_xlabel(textwrap.fill(xlabel, 2 * TITLE_CHARS))


def _finish(fig, notes: list[str], save_as: Path | str | None) -> bytes:
    if notes:
        fig.get_layout_engine().set(h_pad=0.08)
        fig.supxlabel("\n".join(notes), fontsize=7.5, x=0.01, ha="left", color=INK,
                      style="italic")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    png = buf.getvalue()
    if save_as is not None:
        stem = Path(save_as)
        fig.set_layout_engine("none")  # keep the layout the PNG got: no second solve
        svg = io.BytesIO()
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
        write_bytes(stem.parent / f"{stem.name}.png", png)
        write_bytes(stem.parent / f"{stem.name}.svg", svg.getvalue())
    return png


def _bars(values, *, title: str, xlabel: str, decimals: int, unit_suffix: str,
          incomplete: Iterable[str], reference: float | None, reference_label: str,
          save_as: Path | str | None) -> bytes:
    """Ranked horizontal bars, largest on top, missing values listed last."""
    from matplotlib import rc_context
    from matplotlib.ticker import MaxNLocator

    s = _series(values)
    incomplete = set(incomplete)
    present = s.dropna().sort_values(ascending=False, kind="stable")
    missing = s[s.isna()]
    names = list(present.index) + list(missing.index)
    notes = []
    if len(missing):
        notes.append(MISSING_NOTE)
    if incomplete & set(names):
        notes.append(INCOMPLETE_NOTE)
    with _LOCK, rc_context(STYLE):
        fig, ax = _new_figure(len(names), len(notes))
        ys = range(len(names))
        top = max([present.max() if len(present) else 0.0,
                   reference if reference is not None and reference == reference else 0.0])
        span = top if top > 0 else 1.0
        for y, name in zip(ys, names):
            v = s[name]
            if v != v:  # NaN: no bar, a word instead
                ax.text(span * 0.01, y, MISSING_TEXT, va="center", ha="left", fontsize=8,
                        style="italic", color=INK, bbox=_LABEL_BOX, zorder=4)
                continue
            hatch = "///" if name in incomplete else None
            ax.barh(y, v, height=0.62, color=BAR, edgecolor=INK, linewidth=0.5, hatch=hatch)
            ax.text(v + span * 0.01, y, vn_number(v, decimals) + unit_suffix,
                    va="center", ha="left", fontsize=8, color=INK, bbox=_LABEL_BOX, zorder=4)
        if reference is not None and reference == reference:
            ax.axvline(reference, color=INK, linestyle="--", linewidth=1.1)
            ax.text(reference + span * 0.01, -0.8, f"{reference_label}: "
                    f"{vn_number(reference, decimals)}{unit_suffix}", ha="left", va="center",
                    fontsize=8, color=INK, bbox=_LABEL_BOX, zorder=4)
        ax.set_yticks(list(ys), [f"{n} *" if n in incomplete else str(n) for n in names])
        ax.set_ylim(len(names) - 0.5, -1.2 if reference is not None else -0.6)
        ax.set_xlim(0, span * 1.18)
        if decimals == 0:  # whole numbers: ticks on whole numbers only
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(_axis_formatter(decimals))
        ax.grid(axis="x", color=BAR_LIGHT, linewidth=0.5)
        ax.set_axisbelow(True)
        _titles(fig, ax, title, xlabel)
        return _finish(fig, notes, save_as)


def rate_bars(values: Mapping[str, float] | pd.Series, *, title: str, label: str,
              unit: str = "%", reference: float | None = None,
              reference_label: str = "Toàn thành phố", incomplete: Iterable[str] = (),
              decimals: int = 2, save_as: Path | str | None = None) -> bytes:
    """A rate by district (index = district name), ranked, city value as a dashed line."""
    suffix = "%" if unit == "%" else ""
    return _bars(values, title=title, xlabel=f"{label} ({unit})", decimals=decimals,
                 unit_suffix=suffix, incomplete=incomplete, reference=reference,
                 reference_label=reference_label, save_as=save_as)


def sum_bars(values: Mapping[str, float] | pd.Series, *, title: str, label: str, unit: str,
             incomplete: Iterable[str] = (), decimals: int = 0,
             save_as: Path | str | None = None) -> bytes:
    """A summed indicator by district (index = district name), ranked."""
    return _bars(values, title=title, xlabel=f"{label} ({unit})", decimals=decimals,
                 unit_suffix="", incomplete=incomplete, reference=None, reference_label="",
                 save_as=save_as)


def criteria_bars(shares: Mapping[str, float] | pd.Series, *, title: str,
                  incomplete: bool = False, save_as: Path | str | None = None) -> bytes:
    """Share of communes meeting each criterion (index = criterion label), lowest on top.

    Criteria below the average share of all criteria are drawn dark: they are the
    ones holding communes back from the standard.
    """
    from matplotlib import rc_context

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
    if incomplete:
        notes.append(INCOMPLETE_NOTE)
    with _LOCK, rc_context(STYLE):
        fig, ax = _new_figure(len(names), len(notes))
        for y, name in enumerate(names):
            v = s[name]
            if v != v:
                ax.text(1, y, MISSING_TEXT, va="center", ha="left", fontsize=8,
                        style="italic", color=INK, bbox=_LABEL_BOX, zorder=4)
                continue
            lagging = v < mean
            ax.barh(y, v, height=0.62, color=BAR_DARK if lagging else BAR_LIGHT,
                    edgecolor=INK, linewidth=0.5)
            ax.text(v + 1, y, vn_number(v, 1) + "%", va="center", ha="left", fontsize=8,
                    color=INK, bbox=_LABEL_BOX, zorder=4)
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
        return _finish(fig, notes, save_as)
