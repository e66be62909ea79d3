"""Which charts each content area gets, and the data they are drawn from.

A chart is chosen for its data: ranked bars for a rate, stacked bars for a flow made of
parts, the 19 NTM criteria by attainment (the lagging ones stand out), the NTM bands
(19 / 15-18 / 10-14 / 5-9 / under 5 criteria) by district, and a trend line of the
headline over all periods on record. What is specific to this programme is data: the
`[charts]` of `schemas/data/report.toml` (`plan_for`, read by `schemas.presentation` when asked) and its
`[[bands]]`; a content area not in it gets ranked bars of its headline indicator.

At national scale (more than `MAX_DISTRICTS` districts) a chart of every district is of no
use to a reader: charts and the report's tables then show a selection (`select`): the
`SHOW_EACH` highest and lowest districts of a rate or an average, the `SHOW_LARGEST`
largest of a count or an amount, with a note that the full list is in the summary
workbook and `aggregates.csv`. The top level (the city, or the country) is named by the
registry (`Registry.top_label`).
"""
from __future__ import annotations

import base64
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.report import charts
from schemas.catalogue import Catalogue
from schemas.periods import Period
from schemas.presentation import Bands, Bars, Criteria, Stack, Trend, load_report_spec
from schemas.units import CITY_CODE, Registry

CITY_ROW = "Toàn thành phố"  # the top level's row at Hải Phòng scale (`Inputs.top_label`)
MAX_DISTRICTS = 30  # more districts than this: charts and report tables show a selection
SHOW_EACH = 10  # the selection of a rate or an average: the highest and the lowest
SHOW_LARGEST = 20  # the selection of a count or an amount: the largest
FULL_LIST = "Số liệu đầy đủ của từng quận, huyện: tệp tong_hop.xlsx và aggregates.csv."


def bands() -> tuple[tuple[str, int, int], ...]:
    """The bands of the band chart, (label, lowest, highest criteria met), as
    `schemas/data/report.toml` says (read when asked, not at import)."""
    return tuple((b.label, b.low, b.high) for b in load_report_spec().bands)


def bands_mean() -> str | None:
    """Each commune's criteria met, which the bands count: the first band chart's."""
    return next((c.mean_code for plan in load_report_spec().charts.values() for c in plan
                 if isinstance(c, Bands)), None)


@dataclass(frozen=True)
class Drawn:
    name: str  # file name in charts/, without suffix
    uri: str  # PNG data URI
    alt: str


@dataclass
class Inputs:
    """What the charts of one period are drawn from (built once by the renderer)."""

    catalogue: Catalogue
    values: object  # render.Values of the period
    history: dict  # Period -> render.Values of earlier periods
    period: Period | None
    label: str
    districts: dict[str, str]  # code -> name, in table order
    units: pd.DataFrame  # the period's unit-level aggregates
    registry: Registry | None
    label_of: Callable[[str], str]  # indicator code -> Vietnamese label
    unit_of: Callable[[str], str]  # indicator code -> unit of measure
    fmt_of: Callable[[str], str]  # indicator code -> int | money | rate | mean
    is_flow: Callable[[str], bool]
    chart_dir: Path
    top_label: str = CITY_ROW  # the top level's row: "Toàn thành phố", "Cả nước"
    top_code: str = CITY_CODE  # the code the top level carries (`Registry.top_code`)
    top_level: str = "city"  # the top level's name: "city", "country" (`Registry.top_level`)


@dataclass(frozen=True)
class Selection:
    """Which districts a chart or table shows when there are too many to show all."""

    top: tuple[str, ...]  # district codes, highest value first
    bottom: tuple[str, ...]  # the lowest (rates and averages), highest first; else empty
    total: int  # districts in all
    without: int  # districts with no number

    @property
    def codes(self) -> tuple[str, ...]:
        return self.top + self.bottom

    def note(self, label: str, lead: str = "Bảng chỉ nêu") -> str:
        """Which districts a table (`lead`: Bảng chỉ nêu) or chart (Biểu đồ chỉ vẽ) shows,
        and where the others are."""
        from pipelines.base.text import vn_number

        label = label[:1].lower() + label[1:]
        if self.bottom:
            shown = (f"{len(self.top)} quận, huyện có {label} cao nhất và {len(self.bottom)} "
                     "quận, huyện thấp nhất")
        else:
            shown = f"{len(self.top)} quận, huyện có {label} lớn nhất"
        text = f"{lead} {shown} trong tổng số {vn_number(self.total)} quận, huyện"
        if self.without:
            text += f" ({vn_number(self.without)} quận, huyện chưa có số liệu)"
        return f"{text}. {FULL_LIST}"


def select(values: dict[str, float], fmt: str) -> Selection | None:
    """The districts to show of `values` (district, in table order -> value), or None when
    all fit.

    A rate or an average (`fmt` rate, mean) shows the SHOW_EACH highest and lowest; a count
    or an amount the SHOW_LARGEST largest. Districts with no number are left out; ties keep
    the given order."""
    if len(values) <= MAX_DISTRICTS:
        return None
    present = sorted(((v, c) for c, v in values.items() if not math.isnan(v)),
                     key=lambda t: -t[0])  # stable: ties in the given order
    codes = [c for _, c in present]
    if fmt in ("rate", "mean"):
        top, bottom = ((codes, []) if len(codes) <= 2 * SHOW_EACH
                       else (codes[:SHOW_EACH], codes[-SHOW_EACH:]))
    else:
        top, bottom = codes[:SHOW_LARGEST], []
    return Selection(tuple(top), tuple(bottom), len(values), len(values) - len(codes))


def plan_for(key: str, headline: str | None, headline_fmt: str) -> tuple:
    charts = load_report_spec().charts  # the charts of each content area
    if key in charts:
        return charts[key]
    return (Bars(headline),) if headline else ()


def jobs(sheet, plan: tuple) -> list[tuple[str, object]]:
    """The charts of a content area: (file name in charts/ without suffix, spec), in order."""
    return [(f"{sheet.order:02d}_{sheet.key.lower()}_{n}", spec) for n, spec in enumerate(plan, 1)]


def draw_one(sheet, name: str, spec, inp: Inputs) -> Drawn | None:
    """One chart, written to `charts/<name>.png|svg`; None when it has nothing to show."""
    drawn = _DRAWERS[type(spec)](spec, sheet, inp, inp.chart_dir / name)
    if drawn is None:
        return None
    png, alt = drawn
    return Drawn(name, "data:image/png;base64," + base64.b64encode(png).decode(), alt)


def draw(sheet, plan: tuple, inp: Inputs) -> list[Drawn]:
    return [d for name, spec in jobs(sheet, plan)
            if (d := draw_one(sheet, name, spec, inp)) is not None]


def _decimals(code: str, inp: Inputs) -> int:
    return 0 if inp.fmt_of(code) == "int" else 2


def _eligible(code: str, inp: Inputs) -> dict[str, str]:
    """The districts that can have `code` (`claims.scope`): no bar for a quận on communes."""
    from pipelines.report.claims import scope

    return scope(code, inp.catalogue, inp.districts, inp.registry, inp.period).eligible


def _bound(code: str, inp: Inputs) -> bool:
    """Whether an incomplete value of `code` is a lower bound (a sum), not a rate or mean."""
    from pipelines.report.compare import SUM, measure

    return measure(code, inp.catalogue).shape == SUM


def _by_district(code: str, inp: Inputs, values=None) -> dict[str, tuple[float, bool]]:
    values = values or inp.values
    return {name: values.get("district", c, code) for c, name in _eligible(code, inp).items()}


def _lower_bounds(pairs: dict[str, tuple[float, bool]]) -> set[str]:
    return {n for n, (v, k) in pairs.items() if not k and not math.isnan(v)}


def _bars(spec: Bars, sheet, inp: Inputs, save_as: Path):
    pairs = _by_district(spec.code, inp)
    label, unit = inp.label_of(spec.code), inp.unit_of(spec.code)
    chosen = select({n: v for n, (v, _) in pairs.items()}, inp.fmt_of(spec.code))
    notes, split = (), None
    if chosen is not None:
        pairs = {n: pairs[n] for n in chosen.codes}
        notes = (chosen.note(label, "Biểu đồ chỉ vẽ"),)
        split = len(chosen.top) if chosen.bottom else None
    series = pd.Series({n: v for n, (v, _) in pairs.items()}, dtype="float64")
    title = f"{label} theo quận, huyện – {inp.label}"
    common = dict(title=title, label=label, incomplete=_lower_bounds(pairs), save_as=save_as,
                  notes=notes, split=split)
    if inp.fmt_of(spec.code) == "rate":
        png = charts.rate_bars(series, unit=unit, **common, reference_label=inp.top_label,
                               reference=inp.values.get(inp.top_level, inp.top_code, spec.code)[0])
    else:
        note = charts.INCOMPLETE_NOTE if _bound(spec.code, inp) else charts.RATE_INCOMPLETE_NOTE
        png = charts.sum_bars(series, unit=unit, decimals=_decimals(spec.code, inp), **common,
                              incomplete_note=note)
    return png, title


def _stack(spec: Stack, sheet, inp: Inputs, save_as: Path):
    columns, lowered = {}, set()
    for code in spec.codes:
        pairs = _by_district(code, inp)
        columns[inp.label_of(code)] = {n: v for n, (v, _) in pairs.items()}
        lowered |= _lower_bounds(pairs)
    if spec.rest is not None:
        total_code, rest_label = spec.rest
        totals = _by_district(total_code, inp)
        shown = pd.DataFrame(columns).sum(axis=1, min_count=len(columns))
        # the parts are counted among the total, so never more than it; clip rounding noise
        columns[rest_label] = {n: max(t - shown.get(n, math.nan), 0.0)
                               if not math.isnan(t - shown.get(n, math.nan)) else math.nan
                               for n, (t, _) in totals.items()}
        lowered |= _lower_bounds(totals)
    parts = pd.DataFrame(columns).reindex(list(_eligible(spec.codes[0], inp).values()))
    unit = inp.unit_of(spec.codes[0])
    label = sheet.title if spec.rest is None else inp.label_of(spec.rest[0])
    title = f"{label} theo quận, huyện – {inp.label}"
    totals = parts.sum(axis=1, min_count=1)
    chosen = select(dict(zip(parts.index, totals)), "int")
    notes = ()
    if chosen is not None:  # the largest bars
        parts = parts.loc[list(chosen.codes)]
        lowered &= set(chosen.codes)
        notes = (chosen.note(label, "Biểu đồ chỉ vẽ"),)
    png = charts.stacked_bars(parts, title=title, label=label, unit=unit,
                              decimals=_decimals(spec.codes[0], inp), incomplete=lowered,
                              save_as=save_as, notes=notes)
    return png, title


def trend_breaks(periods: list[Period], registry: Registry | None) -> dict[int, str]:
    """Position -> label of each boundary change (a merger, a move, a recode; not a
    rename, which changes no number) after period k-1 ends and by the end of period k."""
    if registry is None:
        return {}
    out = {}
    for k in range(1, len(periods)):
        start, end = periods[k - 1].end, periods[k].end
        days = sorted({s.effective for s in registry.successions
                       if start < s.effective <= end and s.change != "renamed"})
        if days:
            out[k] = "Thay đổi địa giới " + ", ".join(d.strftime("%d/%m/%Y") for d in days)
    return out


def _trend(spec: Trend, sheet, inp: Inputs, save_as: Path):
    if inp.period is None:
        return None
    flow = inp.is_flow(spec.code)
    periods = sorted((p for p in inp.history
                      if p.sort_key < inp.period.sort_key and (not flow or p.h1 == inp.period.h1)),
                     key=lambda p: p.sort_key)
    if not periods:
        return None  # one period is a point, not a trend
    frames = [(p, inp.history[p]) for p in periods] + [(inp.period, inp.values)]
    current = {n: v for n, (v, k) in _by_district(spec.code, inp).items() if k and not math.isnan(v)}
    ranked = sorted(current, key=lambda n: current[n])
    named = [ranked[-1], ranked[0]] if len(ranked) >= 2 else ranked
    codes = {name: code for code, name in inp.districts.items()}
    series = [(inp.top_label, inp.top_level, inp.top_code)] + [(n, "district", codes[n]) for n in named]
    points = pd.DataFrame({name: [v.get(level, code, spec.code)[0] for _, v in frames]
                           for name, level, code in series},
                          index=[p.label for p, _ in frames], dtype="float64")
    incomplete = [(p.label, name) for p, v in frames for name, level, code in series
                  if not v.get(level, code, spec.code)[1]
                  and not math.isnan(v.get(level, code, spec.code)[0])]
    label = spec.label or inp.label_of(spec.code)
    title = f"{label} qua các kỳ báo cáo" + (" (cùng kỳ)" if flow else "")
    png = charts.trend_lines(points, title=title, label=label, unit=inp.unit_of(spec.code),
                             decimals=_decimals(spec.code, inp), incomplete=incomplete,
                             save_as=save_as, bound=_bound(spec.code, inp),
                             breaks=trend_breaks([p for p, _ in frames], inp.registry))
    return png, title


def _criteria(spec: Criteria, sheet, inp: Inputs, save_as: Path):
    cat = inp.catalogue
    crit = [d for d in cat.derived if d.sheet == sheet.key and d.method == "share_flag"]
    if not crit:
        return None
    flags = [i.code for i in sheet.indicators if i.type == "flag"]
    shares = {f"{flags.index(d.numerator[0]) + 1}. {cat.indicators[d.numerator[0]].label}":
              inp.values.get(inp.top_level, inp.top_code, d.code) for d in crit}
    top = inp.top_label[:1].lower() + inp.top_label[1:]
    title = f"Tỷ lệ xã đạt từng tiêu chí nông thôn mới, {top} – {inp.label}"
    png = charts.criteria_bars({k: v for k, (v, _) in shares.items()}, title=title,
                               incomplete=not all(k for _, k in shares.values()), save_as=save_as)
    return png, title


def band_counts(units: pd.DataFrame, registry: Registry, period: Period,
                districts: dict[str, str], mean_code: str | None = None,
                total_row: str = CITY_ROW) -> tuple[pd.DataFrame, set[str]]:
    """Communes by band of criteria met: one row per district with communes, and the top
    level (`total_row`); and the rows that miss some communes (lower bounds). `mean_code`:
    each commune's criteria met (`bands_mean()` when not given)."""
    mean_code, spans = mean_code or bands_mean(), bands()
    rows = units[(units["level"] == "unit") & (units["indicator"] == mean_code)]
    met = dict(zip(rows["org_unit_code"].astype(str), rows["value"].astype("float64")))
    labels = [b[0] for b in spans]
    table, short = {}, set()
    for code, name in districts.items():
        counts = dict.fromkeys(labels, 0)
        communes = [u for u in registry.units(code, period) if u.type == "xã"]
        if not communes:
            continue
        known = 0
        for u in communes:
            m = met.get(u.code, math.nan)
            if math.isnan(m):
                continue
            known += 1
            counts[next(lab for lab, lo, hi in spans if lo <= round(m) <= hi)] += 1
        table[name] = {k: (v if known else math.nan) for k, v in counts.items()}
        if known < len(communes):
            short.add(name)
    frame = pd.DataFrame.from_dict(table, orient="index", columns=labels)
    if not frame.empty:
        frame.loc[total_row] = frame.sum(min_count=1)
        if short:
            short.add(total_row)
    return frame, short


def _bands(spec: Bands, sheet, inp: Inputs, save_as: Path):
    if inp.registry is None or inp.period is None or inp.units.empty:
        return None
    counts, short = band_counts(inp.units, inp.registry, inp.period, inp.districts, spec.mean_code,
                                total_row=inp.top_label)
    if counts.empty or counts.fillna(0).to_numpy().sum() == 0:
        return None
    title = f"Số xã theo số tiêu chí nông thôn mới đạt được – {inp.label}"
    codes = {name: code for code, name in inp.districts.items()}
    means = {n: inp.values.get("district", codes[n], spec.mean_code)[0]
             for n in counts.index if n != inp.top_label}
    chosen = select(means, inp.fmt_of(spec.mean_code))
    notes = ()
    if chosen is not None:  # the districts of highest and lowest average, the top level's total
        counts = counts.loc[[*chosen.codes, inp.top_label]]
        short &= {*chosen.codes, inp.top_label}
        notes = (chosen.note(inp.label_of(spec.mean_code), "Biểu đồ chỉ vẽ"),)
    png = charts.band_bars(counts, title=title, bands=[b[0] for b in bands()], save_as=save_as,
                           incomplete=short, total_row=inp.top_label, notes=notes)
    return png, title


_DRAWERS = {Bars: _bars, Stack: _stack, Trend: _trend, Criteria: _criteria, Bands: _bands}
