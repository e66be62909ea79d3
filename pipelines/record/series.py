"""A unit's series over the periods on record, as reported and on current boundaries.

A unit is its code and its validity, never its code alone: 11344 is Phường Lương Khánh
Thiện until 31/01/2020 and Phường Cầu Đất from 01/01/2025 (after Cầu Đất, 11353, was
recoded). `unit_series` reads the record's values of one indicator and returns

- `reported`: what each unit that ever held the code reported, one block per unit
  (name, validity), never joined across two units that shared a code;
- `current`: the series of the unit that holds the code in the last period asked for,
  every earlier period restated on that period's boundaries (`boundaries.on_boundaries`:
  what it absorbed summed in, a recode followed), so that it compares like with like.

`registry_tables` and `with_validity` give the record its unit dimension (the registry's
rows with their validity, the successions) and each value the first day of the unit row
it was reported for.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipelines.record.boundaries import on_boundaries
from schemas.catalogue import Catalogue
from schemas.periods import Period, PeriodError, parse_period
from schemas.units import Registry, Unit


@dataclass(frozen=True)
class UnitBlock:
    """What one unit reported under a code: `rows`, the registry rows of that unit (the
    snapshots cut a unit that simply continues into several rows; a rename keeps it)."""
    rows: tuple[Unit, ...]
    values: list[tuple[Period, float | None]]  # in period order; None: blank

    @property
    def unit(self) -> Unit:
        """The unit as it was last listed, valid over all its rows."""
        first, last = self.rows[0], self.rows[-1]
        return Unit(last.code, last.name, last.type, last.district_code, first.valid_from,
                    last.valid_to)

    @property
    def former_names(self) -> list[str]:
        names = []
        for u in self.rows[:-1]:
            if u.name != self.rows[-1].name and u.name not in names:
                names.append(u.name)
        return names


def identities(registry: Registry, code: str) -> dict[Unit, tuple[Unit, ...]]:
    """Each registry row of `code` -> the rows of the one unit it belongs to. A row that
    starts the day after the previous one ends continues it, unless a succession that day
    carried the old unit of that code away (absorbed, recoded, split, ended): then the code
    was reused for another unit, as 11344 was."""
    from datetime import timedelta

    rows = sorted((u for u in registry.every_unit() if u.code == code), key=lambda u: u.valid_from)
    gone = {s.effective for s in registry.successions
            if s.old_code == code and s.new_code != code
            and s.change in ("absorbed", "recoded", "split", "ended") and s.share >= 1.0}
    chains: list[list[Unit]] = []
    for u in rows:
        prev = chains[-1][-1] if chains else None
        if (prev is not None and prev.valid_to + timedelta(days=1) == u.valid_from
                and u.valid_from not in gone):
            chains[-1].append(u)
        else:
            chains.append([u])
    return {u: tuple(chain) for chain in chains for u in chain}


@dataclass(frozen=True)
class Series:
    code: str
    indicator: str
    reported: list[UnitBlock]
    current: Unit | None  # the unit holding the code in `to` (None: no unit then)
    to: Period | None
    restated: list[tuple[Period, float | None]]  # on the boundaries of `to`


def _periods(values: pd.DataFrame) -> list[Period]:
    out = []
    for text in values["period"].unique():
        try:
            out.append(parse_period(text))
        except PeriodError:
            continue
    return sorted(out, key=lambda p: p.sort_key)


def _row_of(registry: Registry, code: str, period: Period) -> Unit | None:
    return next((u for u in registry.all_units(period) if u.code == code), None)


def unit_series(values: pd.DataFrame, registry: Registry, catalogue: Catalogue, code: str,
                indicator: str, to: Period | None = None) -> Series:
    """`values`: the record's unit values of `indicator` (period, district_code, unit_code,
    indicator, value), all units (restating needs the predecessors). `to`: the period whose
    boundaries `current` is on (default the last period on record)."""
    values = values[values["indicator"] == indicator]
    periods = _periods(values)
    to = to or (periods[-1] if periods else None)
    same = identities(registry, code)
    blocks: dict[tuple[Unit, ...], list] = {}
    for period in periods:
        mine = values[(values["period"] == str(period)) & (values["unit_code"] == code)]
        unit = _row_of(registry, code, period)
        if unit is None or mine.empty:
            continue
        v = mine["value"].iloc[0]
        blocks.setdefault(same[unit], []).append((period, None if pd.isna(v) else float(v)))
    reported = [UnitBlock(rows, vals) for rows, vals in sorted(blocks.items(),
                                                               key=lambda kv: kv[0][0].valid_from)]
    current = _row_of(registry, code, to) if to is not None else None
    restated = []
    if current is not None:
        for period in periods:
            if period.sort_key > to.sort_key:
                continue
            part = values[values["period"] == str(period)]
            mapped = on_boundaries(part, registry, period, to, catalogue)
            hit = mapped[mapped["unit_code"] == code]
            if hit.empty:
                continue
            v = hit["value"].iloc[0]
            restated.append((period, None if pd.isna(v) else float(v)))
    return Series(code, indicator, reported, current, to, restated)


def registry_tables(registry: Registry) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(units, successions) as the record keeps them."""
    units = pd.DataFrame([(u.code, u.name, u.type, u.district_code, u.valid_from, u.valid_to)
                          for u in registry.every_unit()],
                         columns=["unit_code", "unit_name", "unit_type", "district_code",
                                  "valid_from", "valid_to"])
    successions = pd.DataFrame([(s.effective, s.old_code, s.old_name, s.new_code, s.new_name,
                                 s.change, s.share, s.source) for s in registry.successions],
                               columns=["effective", "old_code", "old_name", "new_code",
                                        "new_name", "change", "share", "source"])
    for frame, cols in ((units, ["valid_from", "valid_to"]), (successions, ["effective"])):
        for c in cols:
            frame[c] = pd.to_datetime(frame[c])
    return units, successions


def with_validity(values: pd.DataFrame, registry: Registry, period: Period) -> pd.DataFrame:
    """`values` of `period` with `unit_valid_from`: the first day of the unit row each
    value was reported for (blank for a code the registry does not know then)."""
    if values.empty:
        return values.assign(unit_valid_from=pd.Series(dtype="datetime64[ns]"))
    first = {u.code: u.valid_from for u in registry.all_units(period)}
    return values.assign(unit_valid_from=pd.to_datetime(values["unit_code"].map(first)))


def read_unit_series(db, registry: Registry, catalogue: Catalogue, code: str, indicator: str,
                     to: Period | None = None, wait: float | None = None) -> Series:
    """`unit_series` of the record at `db` (every unit's values of `indicator`)."""
    from pipelines.record import db as record

    kw = {} if wait is None else {"wait": wait}
    return unit_series(record.read_values(db, indicator=indicator, **kw), registry, catalogue,
                       code, indicator, to)


BASIS_TEXT = {"reported": "Theo số đã báo cáo", "current": "Theo địa giới hiện nay"}


def changed_units_table(values: pd.DataFrame, registry: Registry, catalogue: Catalogue,
                        to: Period) -> pd.DataFrame:
    """For each unit of `to` that carries another unit's values (an absorber, a recoded
    unit) over the periods of `values`, and each summable stock indicator: its series as
    reported and on the boundaries of `to`. Long: unit_code, unit_name, district_name,
    indicator, basis (reported | current), period, value. Empty when no boundary changed."""
    columns = ["unit_code", "unit_name", "district_name", "indicator", "basis", "period", "value"]
    periods = _periods(values) if not values.empty else []
    if not periods or periods[0].sort_key >= to.sort_key:
        return pd.DataFrame(columns=columns)
    codes = sorted(registry.carried(periods[0], to))
    names = {u.code: u for u in registry.all_units(to)}
    districts = {d.code: d.name for d in registry.districts(to)}
    rows = []
    for indicator in sorted(values["indicator"].unique()):
        for code in codes:
            if code not in names:
                continue
            s = unit_series(values, registry, catalogue, code, indicator, to)
            unit = names[code]
            base = (code, unit.name, districts.get(unit.district_code, ""), indicator)
            for block in s.reported:
                rows += [(*base, "reported", str(p), v) for p, v in block.values]
            rows += [(*base, "current", str(p), v) for p, v in s.restated]
    return pd.DataFrame(rows, columns=columns)


def stock_indicators(catalogue: Catalogue) -> list[str]:
    """The indicators a unit's series is shown for across a boundary change: summable
    stocks (households, poor households, villages…), which a merger moves."""
    return [c for c, i in catalogue.indicators.items() if i.summable and i.kind != "flow"]
