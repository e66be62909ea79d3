"""Claims: what a generated sentence asserts, as data, before it is put into words.

Every sentence of the leaders' report is rendered (`narrative`) from one of these objects,
built here from a period's district and city values (pure functions, no I/O):

- `Level`: the top level's value of an indicator, and which districts it misses.
- `Change`: the change of the top level's value since the period of `compare.basis`, over
  the districts complete in *both* periods only (recomputed from their sums, never from the
  city totals, which may cover different districts); not stated when those are fewer than
  `min_coverage` of the districts that can have the item.
- `Ranking`: the highest and lowest districts, among those that can have the item (a
  district with no `xã` is never ranked on new rural areas) and whose value is complete;
  every district of a tie named; by the count itself, or by a rate of it
  (`schemas/data/report.toml`, `rank_rates`).
- `Movers`: the districts whose value changed most, among those complete in both periods.

`Scope` says which districts can have an indicator: those with at least one unit of the
kinds it applies to (its sheet's and its own `unit_types`) on the period's last day.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from pipelines.report.compare import MEAN, RATE, Basis, Measure, measure
from schemas.catalogue import Catalogue
from schemas.periods import Period
from schemas.units import Registry

Pair = tuple[float, bool]  # (value, complete)
DISTRICTS = "quận, huyện"


class Values(Protocol):  # what claims read: report.tables.Values
    def get(self, level: str, code: str, indicator: str) -> Pair: ...


@dataclass(frozen=True)
class Subject:
    """An indicator as a sentence names and shows it."""
    code: str
    label: str  # "Tỷ lệ hộ nghèo"
    unit: str  # "%", "hộ", "" …
    fmt: str  # int | money | rate | mean (report.tables.fmt_value)
    measure: Measure
    lower_is_better: bool = False

    @property
    def rate(self) -> bool:
        return self.measure.shape == RATE


# -- who can have an indicator ---------------------------------------------------------------

def unit_types(code: str, cat: Catalogue) -> frozenset[str] | None:
    """The unit kinds an indicator applies to (None: every unit)."""
    first = code.split("+")[0]
    if first in cat.indicators:
        return cat.sheet_of(first).unit_types
    d = next((d for d in cat.derived if d.code == code), None)
    if d is None:
        return None
    sheet = cat.sheet(d.sheet).unit_types
    if sheet is None or d.unit_types is None:
        return sheet if d.unit_types is None else d.unit_types
    return sheet & d.unit_types


def kinds_text(types: frozenset[str] | None) -> str:
    """`xã`, `phường, thị trấn` (in the catalogue's own order when known)."""
    if types is None:
        return ""
    order = ["xã", "phường", "thị trấn"]
    return ", ".join(sorted(types, key=lambda t: (order.index(t) if t in order else 9, t)))


@dataclass(frozen=True)
class Scope:
    """The districts that can have an indicator, and those that cannot."""
    eligible: dict[str, str]  # code -> name, in table order
    without: dict[str, str]
    types: frozenset[str] | None
    applicable: Mapping[str, int]  # code -> units of the kinds (means are weighted by it)

    @property
    def noun(self) -> str:
        """`quận, huyện`, or `quận, huyện có xã`."""
        kinds = kinds_text(self.types)
        return f"{DISTRICTS} có {kinds}" if kinds and self.without else DISTRICTS

    @property
    def without_line(self) -> str:
        """The line under a table naming the districts it leaves out ("" when none)."""
        if not self.without:
            return ""
        return f"Các {DISTRICTS} không có {kinds_text(self.types)}: {', '.join(self.without.values())}."


def scope(code: str, cat: Catalogue, districts: Mapping[str, str], registry: Registry | None,
          period: Period | None) -> Scope:
    types = unit_types(code, cat)
    if registry is None or period is None:
        return Scope(dict(districts), {}, types, {})
    counts: dict[str, int] = {}
    for c in districts:
        units = registry.units(c, period)
        counts[c] = sum(1 for u in units if types is None or u.type in types)
    known = {d.code for d in registry.districts(period)}
    # a district not in the registry (a code read from a file) is kept: nothing says it cannot
    eligible = {c: n for c, n in districts.items() if counts[c] > 0 or c not in known}
    without = {c: n for c, n in districts.items() if c not in eligible}
    return Scope(eligible, without, types, counts)


# -- a top-level value over some districts, recomputed from their sums ---------------------------

def total_over(code: str, codes: list[str], values: Values, cat: Catalogue, sc: Scope) -> float:
    """The value `code` would have at the top level if only the districts `codes` made it:
    sums are summed, rates recomputed from the sums of their numerators and denominators,
    averages weighted by the districts' units. Exact when each district's value is complete."""
    if not codes:
        return math.nan
    if "+" in code:
        return sum(total_over(p, codes, values, cat, sc) for p in code.split("+"))

    def summed(c: str) -> float:
        return sum(values.get("district", d, c)[0] for d in codes)

    d = next((d for d in cat.derived if d.code == code), None)
    if d is None or d.method in ("sum", "count", "count_set", "count_flag"):
        return summed(code)
    if d.method == "ratio":
        den = sum(summed(c) for c in d.denominator)
        return d.scale * sum(summed(c) for c in d.numerator) / den if den else math.nan
    weights = [sc.applicable.get(c, 0) for c in codes]  # mean_flags, share_flag
    if not sum(weights):
        return math.nan
    return sum(values.get("district", c, code)[0] * w for c, w in zip(codes, weights)) / sum(weights)


# -- the claims ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Level:
    subject: Subject
    top_label: str  # "Toàn thành phố"
    value: float
    complete: bool
    missing: tuple[str, ...]  # names of the districts that can have it whose value is not complete
    eligible: int


@dataclass(frozen=True)
class Change:
    subject: Subject
    basis: Basis
    noun: str  # "quận, huyện", "quận, huyện có xã"
    eligible: tuple[str, ...]  # names
    compared: tuple[str, ...]  # names of those complete in both periods
    now: float  # over `compared`
    before: float
    min_coverage: float

    @property
    def left_out(self) -> tuple[str, ...]:
        return tuple(n for n in self.eligible if n not in self.compared)

    @property
    def needed(self) -> int:
        """Districts complete in both periods needed to state a change."""
        return math.ceil(self.min_coverage * len(self.eligible) - 1e-9)

    @property
    def stated(self) -> bool:
        return (bool(self.compared) and len(self.compared) >= self.needed
                and not math.isnan(self.now) and not math.isnan(self.before))

    @property
    def full(self) -> bool:
        return not self.left_out

    @property
    def diff(self) -> float:
        return self.now - self.before


@dataclass(frozen=True)
class Side:
    names: tuple[str, ...]
    value: float


@dataclass(frozen=True)
class Ranking:
    subject: Subject  # what is ranked
    by: str  # "" (the value itself) or the rate's words ("số hộ thoát nghèo trên 100 hộ …")
    by_fmt: str  # how the ranked values are shown
    noun: str  # who is ranked: "quận, huyện có xã"
    restricted: bool  # some districts cannot have the item
    ranked: int
    best: Side
    worst: Side
    unranked: tuple[str, ...]  # can have it, value not complete


@dataclass(frozen=True)
class Movers:
    subject: Subject
    basis: Basis
    noun: str
    compared: int
    best: Side | None  # the largest improvement
    worst: Side | None  # the largest setback


def level(subject: Subject, values: Values, top: str, top_label: str, sc: Scope,
          top_level: str = "city") -> Level:
    v, k = values.get(top_level, top, subject.code)
    missing = tuple(n for c, n in sc.eligible.items() if not values.get("district", c, subject.code)[1])
    return Level(subject, top_label, v, k, missing, len(sc.eligible))


def complete_in_both(code: str, now: Values, before: Values, sc: Scope) -> list[str]:
    """Codes of the districts that can have `code` with a complete value in both periods."""
    return [c for c in sc.eligible
            if now.get("district", c, code)[1] and before.get("district", c, code)[1]]


def change(subject: Subject, now: Values, before: Values, basis: Basis, cat: Catalogue,
           sc: Scope, min_coverage: float) -> Change:
    both = complete_in_both(subject.code, now, before, sc)
    return Change(subject, basis, sc.noun, tuple(sc.eligible.values()),
                  tuple(sc.eligible[c] for c in both),
                  total_over(subject.code, both, now, cat, sc),
                  total_over(subject.code, both, before, cat, sc), min_coverage)


def _sides(ranked: list[tuple[float, str]], lower_is_better: bool) -> tuple[Side, Side] | None:
    if len(ranked) < 2:
        return None
    values = [round(v, 6) for v, _ in ranked]
    hi, lo = max(values), min(values)
    if hi == lo:
        return None
    top = Side(tuple(n for (v, n), r in zip(ranked, values) if r == hi), hi)
    bottom = Side(tuple(n for (v, n), r in zip(ranked, values) if r == lo), lo)
    return (bottom, top) if lower_is_better else (top, bottom)


def ranking(subject: Subject, values: Values, sc: Scope, *, by: str = "", by_fmt: str = "",
            rate_of: tuple[str, float] | None = None) -> Ranking | None:
    """The highest and lowest of the districts that can have the item and are complete; by
    `rate_of` = (denominator code, scale) when given. None when fewer than two differ."""
    ranked, unranked = [], []
    for c, name in sc.eligible.items():
        v, k = values.get("district", c, subject.code)
        if rate_of is not None and k:
            den, dk = values.get("district", c, rate_of[0])
            v, k = (rate_of[1] * v / den if den else math.nan), k and dk
        if not k:
            unranked.append(name)
        elif not math.isnan(v):
            ranked.append((v, name))
    sides = _sides(ranked, subject.lower_is_better and rate_of is None)
    if sides is None:
        return None
    return Ranking(subject, by, by_fmt or subject.fmt, sc.noun, bool(sc.without), len(ranked),
                   sides[0], sides[1], tuple(unranked))


def movers(subject: Subject, now: Values, before: Values, basis: Basis, sc: Scope) -> Movers | None:
    """The largest improvement and setback among the districts complete in both periods."""
    both = complete_in_both(subject.code, now, before, sc)
    diffs = []
    for c in both:
        d = now.get("district", c, subject.code)[0] - before.get("district", c, subject.code)[0]
        if not math.isnan(d):
            diffs.append((round(d, 6), sc.eligible[c]))
    sign = -1 if subject.lower_is_better else 1
    good = [(d, n) for d, n in diffs if sign * d > 0 and round(d, 2) != 0]
    bad = [(d, n) for d, n in diffs if sign * d < 0 and round(d, 2) != 0]

    def side(items, pick) -> Side | None:
        if not items:
            return None
        best = pick(d for d, _ in items)
        # a tie is what reads as one: changes shown alike (to 2 decimals) are all named
        return Side(tuple(n for d, n in items if round(d, 2) == round(best, 2)), best)

    best = side(good, max if sign > 0 else min)
    worst = side(bad, min if sign > 0 else max)
    if best is None and worst is None:
        return None
    return Movers(subject, basis, sc.noun, len(both), best, worst)
