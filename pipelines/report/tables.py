"""The report's tables: one section per content area, built from the aggregates.

Everything is built from the catalogue: a section's table holds the sheet's summable
indicators and its derived indicators, by district and for the city, with the change of
the headline indicator since the comparable earlier period, its target when there is
one, and the generated sentences (`narrative`). `render.py` puts the sections in the
report and the summary workbook.

The summary workbook gets every district (`Section.rows`); the report shows `Section.shown`:
every district too at Hải Phòng scale, and a selection with a note at national scale
(`plans.select`: the highest and lowest of a rate, the largest of a count). The
top level's row is the registry's (`Toàn thành phố`, `Cả nước`). District names that more
than one district bears (nationally: `Huyện Châu Thành`) get their province.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import pandas as pd

from pipelines.report import claims, compare, narrative
from pipelines.report import plans
from pipelines.base.text import round_half_up, vn_number
from schemas.catalogue import Catalogue
from schemas.periods import Period
from schemas.presentation import load_report_spec
from schemas.units import Registry

MISSING = "–"
CITY_ROW = "Toàn thành phố"  # the top level's row at Hải Phòng scale (`Registry.top_label`)
# Content area -> its headline indicator (`schemas/data/report.toml`): the one with the
# "change since" column, the generated sentences and the target. An area not listed takes its
# first rate, else its first indicator. Which charts each area gets: `plans.plan_for`
# (`[charts]` of the same file).
CHART_ONLY = {"share_flag"}  # derived methods shown in the chart, not the table
NARROW = "†"  # a change compared over fewer districts than all that can have the item

@dataclass(frozen=True)
class Column:
    code: str
    label: str
    unit: str
    fmt: str  # int | money | rate | mean

    @property
    def header(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label


@dataclass(frozen=True)
class Cell:
    value: float
    complete: bool
    fmt: str = "int"  # how `text` shows the value (`fmt_value`)
    signed: bool = False  # a change: with its sign
    narrow: bool = False  # a change compared over fewer districts than all (`NARROW`)

    @property
    def text(self) -> str:  # made when shown: at national scale most cells never are
        return fmt_value(self.value, self.fmt, self.signed)

    @property
    def missing(self) -> bool:
        return math.isnan(self.value)

    @property
    def incomplete(self) -> bool:  # a value shown but not the whole picture
        return not self.complete and not self.missing


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    cells: tuple[Cell, ...]
    total: bool = False
    change: Cell | None = None
    target: Cell | None = None
    attained: str = ""  # Đạt | Chưa đạt | "" (no target or no value)
    group: str = ""  # a selection's heading above this row: "10 quận, huyện cao nhất"


@dataclass(frozen=True)
class Chart:
    name: str  # file name in charts/, without suffix
    uri: str  # the PNG as a data: URI (the HTML opens from a USB stick)
    alt: str


@dataclass
class Section:
    key: str
    heading: str
    title: str
    columns: list[Column]
    rows: list[Row]  # districts by code, then the city total: every district
    change_header: str | None = None
    change_fmt: str = "int"
    headline: str | None = None
    target_header: str | None = None
    sentences: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    shown: list[Row] = field(default_factory=list)  # the report's rows: all, or a selection
    selection_note: str = ""  # which districts `shown` holds, when not all
    without_line: str = ""  # the districts that cannot have the area's items (no row)
    change_notes: list[str] = field(default_factory=list)  # how the change column compares
    incomplete_note: str = ""  # what `*` means for this table's values

    @property
    def has_incomplete(self) -> bool:
        return any(c.incomplete for r in self.shown
                   for c in (*r.cells, *([r.change] if r.change else [])))


def fmt_value(value: float, fmt: str, signed: bool = False) -> str:
    """Vietnamese display of a value: ints no decimals; money, rates (with %) and means with
    exactly 2, so that a table's column lines up."""
    if value is None or math.isnan(value):
        return MISSING
    shown = float(round_half_up(value, 0 if fmt == "int" else 2))  # the sign shown: no `−0,00`
    text = {"int": lambda v: vn_number(v, 0), "money": lambda v: vn_number(v, 2),
            "rate": lambda v: vn_number(v, 2) + ("" if signed else "%"),
            "mean": lambda v: vn_number(v, 2)}[fmt](abs(shown) if signed else value)
    if signed:
        sign = "+" if shown > 0 else "−" if shown < 0 else ""
        return sign + text + (" điểm %" if fmt == "rate" else "")
    return text


def value_fmt(code: str, cat: Catalogue) -> str:
    """How a base or derived indicator is shown."""
    base = cat.indicators.get(code.split("+")[0])
    if base is not None:
        return "money" if base.type == "money" else "int"
    d = next((d for d in cat.derived if d.code == code), None)
    if d is None or d.method in ("count", "count_set", "count_flag"):
        return "int"
    if d.unit == "%":
        return "rate"
    if d.method == "sum":
        return "money" if any(value_fmt(c, cat) == "money" for c in d.numerator) else "int"
    return "mean"


def _is_flow(code: str, cat: Catalogue) -> bool:
    """Counts what happened during the period (compare H1 with H1, year with year)."""
    m = compare.measure(code, cat)
    return m.shape == compare.SUM and m.flow


class Values:
    """(level, org unit, indicator) -> (value, complete) of one period's aggregates."""

    def __init__(self, frame: pd.DataFrame):
        f = frame[frame["level"] != "unit"]  # districts, provinces and the top
        self._d = {(lv, str(c), str(i)): (float(v), bool(k)) for lv, c, i, v, k in zip(
            f["level"].tolist(), f["org_unit_code"].tolist(), f["indicator"].tolist(),
            f["value"].tolist(), f["complete"].tolist())}

    def get(self, level: str, code: str, indicator: str) -> tuple[float, bool]:
        if "+" in indicator:
            parts = [self.get(level, code, p) for p in indicator.split("+")]
            present = [v for v, _ in parts if not math.isnan(v)]
            return (sum(present) if present else math.nan,
                    len(present) == len(parts) and all(k for _, k in parts))
        return self._d.get((level, code, indicator), (math.nan, False))


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    f = frame.copy()
    for col in ("period", "level", "org_unit_code", "org_unit_name", "indicator"):
        f[col] = f[col].astype(str)
    f["value"] = pd.to_numeric(f["value"], errors="coerce").astype("float64")
    if f["complete"].dtype != bool:
        f["complete"] = f["complete"].map(lambda x: str(x).strip().lower() in ("true", "1"))
    return f


def _code_key(code: str) -> tuple[int, str]:
    return (int(code), code) if code.isdigit() else (10**9, code)


def _districts(agg: pd.DataFrame, subs: pd.DataFrame, period: Period | None,
               registry: Registry) -> dict[str, str]:
    """District code -> full name: those in the aggregates, the submissions and the registry."""
    names: dict[str, str] = {}
    if period is not None:
        names.update({d.code: d.name for d in registry.districts(period)})
    known = agg[agg["level"] == "district"].drop_duplicates("org_unit_code")
    names.update(zip(known["org_unit_code"], known["org_unit_name"]))
    for code in subs["district_code"].dropna().astype(str):
        code = code.removesuffix(".0")
        if code and code != "nan":
            names.setdefault(code, f"Mã {code}")
    return _distinct(dict(sorted(names.items(), key=lambda kv: _code_key(kv[0]))), registry)


def _distinct(names: dict[str, str], registry: Registry) -> dict[str, str]:
    """Names as the report shows them, one per district: a name that several districts bear
    (nationally `Huyện Châu Thành`, in several provinces) gets its province, else its code."""
    seen: dict[str, int] = {}
    for name in names.values():
        seen[name] = seen.get(name, 0) + 1
    if all(n == 1 for n in seen.values()):
        return names
    provinces = _provinces(registry)
    out = {code: (f"{name} ({provinces[code]})" if seen[name] > 1 and code in provinces
                  else name) for code, name in names.items()}
    taken: dict[str, int] = {}
    for name in out.values():
        taken[name] = taken.get(name, 0) + 1
    return {code: f"{name} (mã {code})" if taken[name] > 1 else name
            for code, name in out.items()}


PROVINCE_PREFIXES = ("Thành phố ", "Tỉnh ")


def _provinces(registry: Registry) -> dict[str, str]:
    """District code -> its province's short name (`Tiền Giang`), on another units file
    (`Registry.source`: the national scale); empty for Hải Phòng's own registry."""
    if registry.source is None:
        return {}
    out = {}
    for code, name in registry.provinces.items():
        for prefix in PROVINCE_PREFIXES:
            name = name.removeprefix(prefix)
        if name:
            out[code] = name
    return out


def _basis(period: Period | None, history: dict[Period, Values], code: str,
           cat: Catalogue) -> compare.Basis | None:
    """What `code`'s value is compared with (`compare.basis`: one decision for the whole
    report)."""
    return compare.basis(period, history, compare.measure(code, cat))


def in_sentence(label: str) -> str:
    """`Năm 2016` inside a sentence: `năm 2016`."""
    return label[:1].lower() + label[1:]


def _cell(pair: tuple[float, bool], fmt: str) -> Cell:
    return Cell(pair[0], pair[1], fmt)


def _change(cur: tuple[float, bool], old: tuple[float, bool], fmt: str) -> Cell:
    """A district's change: only between two complete values (else no number: a value that
    misses some units is not compared)."""
    if not (cur[1] and old[1]):
        return Cell(math.nan, False, fmt, signed=True)
    return Cell(cur[0] - old[0], True, fmt, signed=True)


def _top_change(ch: claims.Change, fmt: str) -> Cell:
    """The top level's change over the districts complete in both periods, marked when
    those are fewer than all; no number when too few."""
    if not ch.stated:
        return Cell(math.nan, False, fmt, signed=True)
    return Cell(ch.diff, True, fmt, signed=True, narrow=not ch.full)


def subject(code: str, cat: Catalogue) -> claims.Subject:
    return claims.Subject(code, cat_label(code, cat), _unit_of(code, cat), value_fmt(code, cat),
                          compare.measure(code, cat), code in load_report_spec().lower_is_better)


def _section(sheet, cat: Catalogue, values: Values, districts: dict[str, str],
             period: Period | None, label: str, history: dict[Period, Values],
             inputs: "plans.Inputs | None", targets: dict[tuple[str, str], float],
             registry: Registry, min_coverage: float | None = None) -> Section:
    spec = load_report_spec()
    share = spec.min_coverage if min_coverage is None else min_coverage
    cols = [Column(i.code, i.label, i.unit, value_fmt(i.code, cat))
            for i in sheet.indicators if i.summable]
    cols += [Column(d.code, d.label, d.unit, value_fmt(d.code, cat)) for d in cat.derived
             if d.sheet == sheet.key and d.method not in CHART_ONLY]
    headline = spec.headlines.get(sheet.key)
    if headline not in {c.code for c in cols}:
        rates = [c for c in cols if c.fmt == "rate"]
        headline = rates[0].code if rates else cols[0].code if cols else None
    sec = Section(sheet.key, sheet.display_name, sheet.title, cols, [], headline=headline)
    sc = claims.scope(headline or (cols[0].code if cols else ""), cat, districts,
                      registry if period is not None else None, period) if cols else None
    members = sc.eligible if sc is not None else districts
    sec.without_line = sc.without_line if sc is not None else ""
    hfmt = value_fmt(headline, cat) if headline else "int"
    basis = _basis(period, history, headline, cat) if headline else None
    top_change = None
    if basis is not None:
        sec.change_header = f"{cat_label(headline, cat)}: thay đổi so với {basis.phrase}"
        sec.change_fmt = hfmt
        top_change = claims.change(subject(headline, cat), values, history[basis.period], basis,
                                   cat, sc, share)
        sec.change_notes = _change_notes(top_change, registry.top_label)
    if headline:
        sec.incomplete_note = compare.incomplete_note(compare.measure(headline, cat))
    aimed = headline is not None and any(i == headline for _, i in targets)
    if aimed and period is not None:
        sec.target_header = f"Mục tiêu năm {period.year}: {cat_label(headline, cat)}"
    rows = [("district", code, name, False) for code, name in members.items()]
    top = (registry.top_level, registry.top_code, registry.top_label, True)
    for level, code, name, total in [*rows, top]:
        change = target = None
        attained = ""
        if basis is not None:
            change = (_top_change(top_change, hfmt) if total else
                      _change(values.get(level, code, headline),
                              history[basis.period].get(level, code, headline), hfmt))
        if aimed:
            goal = targets.get((code, headline), math.nan)
            target = Cell(goal, True, hfmt)
            attained = _attained(values.get(level, code, headline), goal, headline)
        cells = tuple(_cell(values.get(level, code, c.code), c.fmt) for c in cols)
        sec.rows.append(Row(code, name, cells, total, change, target, attained))
    sec.shown, sec.selection_note = _shown(sec, values, hfmt, cat)
    if headline:
        sec.sentences = _sentences(sec, cat, values, districts, history, period, sc, share,
                                   registry, top_change)
    if inputs is not None:
        plan = plans.plan_for(sheet.key, headline, hfmt)
        sec.charts = [Chart(d.name, d.uri, d.alt) for d in plans.draw(sheet, plan, inputs)]
    return sec


def _change_notes(ch: claims.Change, top_label: str) -> list[str]:
    """Under the table: how its change column compares (from the same claim as the sentence)."""
    notes = [f"Cột thay đổi: so với {ch.basis.phrase}; quận, huyện chưa đủ số liệu ở một trong "
             f"hai kỳ không được so sánh ({MISSING})."]
    if not ch.stated:
        notes.append(f"Dòng {top_label}: không so sánh, chỉ {narrative.coverage(ch)} (cần ít "
                     f"nhất {ch.needed}).")
    elif not ch.full:
        notes.append(f"{NARROW} Dòng {top_label}: so sánh trên {narrative.coverage(ch)} (trừ "
                     f"{narrative.names(ch.left_out)}).")
    return notes


def _shown(sec: Section, values: Values, fmt: str, cat: Catalogue) -> tuple[list[Row], str]:
    """The rows the report shows and a note on which: every row, or at national scale the
    selection of `plans.select` by the headline indicator, in groups, then the top
    level's row."""
    districts = [r for r in sec.rows if not r.total]
    totals = [r for r in sec.rows if r.total]
    chosen = (plans.select({r.code: values.get("district", r.code, sec.headline)[0]
                                    for r in districts}, fmt) if sec.headline else None)
    if chosen is None:
        return list(sec.rows), ""
    by_code = {r.code: r for r in districts}
    shown = []
    for codes, word in ((chosen.top, "cao nhất" if chosen.bottom else "lớn nhất"),
                        (chosen.bottom, "thấp nhất")):
        for n, code in enumerate(codes):
            heading = f"{len(codes)} quận, huyện {word}" if n == 0 else ""
            shown.append(replace(by_code[code], group=heading))
    return shown + totals, chosen.note(cat_label(sec.headline, cat))


def _attained(actual: tuple[float, bool], goal: float, code: str) -> str:
    """Đạt / Chưa đạt against a target; nothing when either is missing or the value is a
    lower bound that does not yet reach it."""
    value, complete = actual
    if math.isnan(goal) or math.isnan(value):
        return ""
    lower = code in load_report_spec().lower_is_better
    met = value <= goal if lower else value >= goal
    if not complete and not (met and not lower):  # a lower bound proves only "at least"
        return ""
    return "Đạt" if met else "Chưa đạt"


def _sentences(sec: Section, cat: Catalogue, values: Values, districts: dict[str, str],
               history: dict[Period, Values], period: Period | None, sc: "claims.Scope",
               share: float, registry: Registry,
               top_change: "claims.Change | None") -> list[str]:
    """The area's sentences, each from a claim: the headline's level and change, its ranking
    and largest movers; then each further indicator of `report.toml` (`also`), ranked by its
    rate too where one is defined; then the NTM criteria met least."""
    spec = load_report_spec()
    out = []
    for n, code in enumerate((sec.headline, *spec.also.get(sec.key, ()))):
        s = subject(code, cat)
        show = lambda v, signed, f=s.fmt: fmt_value(v, f, signed)  # noqa: E731
        own = sc if n == 0 else claims.scope(code, cat, districts,
                                             registry if period is not None else None, period)
        basis = _basis(period, history, code, cat)
        change = top_change if n == 0 else (
            claims.change(s, values, history[basis.period], basis, cat, own, share)
            if basis is not None else None)
        lvl = claims.level(s, values, registry.top_code, registry.top_label, own,
                           registry.top_level)
        if n > 0 and math.isnan(lvl.value):
            continue  # a further indicator nobody reported: no sentence
        out.append(narrative.city_sentence(lvl, show, change))
        ranked = claims.ranking(s, values, own)
        if ranked is not None:
            out.append(narrative.ranking_sentence(ranked, show))
        rate = spec.rank_rates.get(code)
        if rate is not None:
            rfmt = "rate" if rate.unit == "%" else "mean"
            by = claims.ranking(s, values, own, by=rate.label, by_fmt=rfmt,
                                rate_of=(rate.per, rate.scale))
            if by is not None:
                out.append(narrative.ranking_sentence(by, lambda v, signed: fmt_value(v, rfmt, signed)))
        if basis is not None:
            moved = claims.movers(s, values, history[basis.period], basis, own)
            if moved is not None:
                out.append(narrative.movers_sentence(moved, show))
    shares = _criteria_shares(sec.key, cat, values, registry.top_code, registry.top_level)
    if shares:
        lagging = narrative.lagging_criteria_sentence(shares, lambda v, s: fmt_value(v, "rate", s))
        if lagging:
            out.append(lagging)
    return out


def _criteria_shares(key: str, cat: Catalogue, values: Values, top_code: str,
                     top_level: str = "city") -> dict[str, tuple[float, bool]]:
    """The NTM criteria shares at the top level, by criterion label (empty for other areas)."""
    crit = [d for d in cat.derived if d.sheet == key and d.method in CHART_ONLY]
    return {cat.indicators[d.numerator[0]].label: values.get(top_level, top_code, d.code)
            for d in crit}


def _unit_of(code: str, cat: Catalogue) -> str:
    base = cat.indicators.get(code.split("+")[0])
    if base is not None:
        return base.unit
    return next((d.unit for d in cat.derived if d.code == code), "")


def cat_label(code: str, cat: Catalogue) -> str:
    if "+" in code:
        return " và ".join(cat_label(c, cat) for c in code.split("+"))
    if code in cat.indicators:
        return cat.indicators[code].label
    return next((d.label for d in cat.derived if d.code == code), code)
