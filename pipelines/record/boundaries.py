"""A period's numbers on another period's boundaries (predecessors summed into successors).

On 1 Feb 2020 Xã Tiên Tiến was absorbed into Xã Quyết Tiến: Quyết Tiến's 2019 households
"on the boundaries of 2020" are its own plus Tiên Tiến's. `on_boundaries` maps one period's
unit values that way, using the registry's successions (`schemas/data/successions.csv`):

- a summed indicator (households, money, counts) of a successor is the sum of its
  predecessors' values, shares applied; blank when any predecessor's is blank (a blank cell
  is not a zero: half a sum is not the sum);
- any other indicator (a flag, a year) is the successor's own line: the first predecessor
  `carried` lists (the unit itself, or the unit whose code it took over);
- a unit untouched by a succession keeps its value; a renamed or moved unit keeps its code.

`aggregate_on` aggregates the mapped values over the units and districts of the target
period, so that a comparison across a boundary change compares like with like. With no
boundary change between the two periods it is the period's own aggregation.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.catalogue import Catalogue
from schemas.periods import Period, parse_period
from schemas.successions import Succession
from schemas.units import Registry


def on_boundaries(values: pd.DataFrame, registry: Registry, since: Period, to: Period,
                  catalogue: Catalogue) -> pd.DataFrame:
    """`values` (unit_code, indicator, value[, district_code, …]) of period `since`, with unit
    codes (and district codes) of period `to`. Other columns are kept from the first row."""
    carried = registry.carried(since, to) if since.end < to.end else {}
    districts = {u.code: u.district_code for u in registry.all_units(to)}
    if not carried:
        out = values
    else:
        mapping = pd.DataFrame([(new, old, share, i) for new, olds in carried.items()
                                for i, (old, share) in enumerate(olds)],
                               columns=["_new", "unit_code", "_share", "_rank"])
        moved = set(mapping["unit_code"]) | set(mapping["_new"])
        kept = values[~values["unit_code"].isin(moved)]
        joined = values.merge(mapping, on="unit_code")  # a predecessor feeds each successor
        out = pd.concat([kept, _combine(joined, mapping, catalogue)], ignore_index=True)
    if "district_code" in out.columns:
        out = out.assign(district_code=out["unit_code"].map(districts).fillna(out["district_code"]))
    return out.reset_index(drop=True)


def _combine(joined: pd.DataFrame, mapping: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """One row per successor and indicator: summed, or the successor's own line's value."""
    summable = {c for c, i in catalogue.indicators.items() if i.summable}
    keys = ["_new", "indicator"]
    joined = joined.assign(_v=joined["value"].astype("float64") * joined["_share"])
    total = joined.groupby(keys, sort=False)["_v"].agg(["sum", "count"])
    expected = mapping.groupby("_new").size()
    whole = total["count"].to_numpy() == expected.reindex(
        total.index.get_level_values("_new")).to_numpy()
    rows = (joined.sort_values("_rank", kind="stable").drop_duplicates(keys)
            .set_index(keys).reindex(total.index))
    is_sum = total.index.get_level_values("indicator").isin(list(summable))
    own = rows["value"].astype("float64").where(rows["_rank"] == 0)
    value = np.where(is_sum, total["sum"].where(whole), own)
    out = (rows.drop(columns=["_share", "_rank", "_v", "value", "unit_code"])
           .assign(value=value).reset_index().rename(columns={"_new": "unit_code"}))
    return out[out["value"].notna().to_numpy() | ~is_sum]


def aggregate_on(values: pd.DataFrame, accepted: pd.DataFrame, registry: Registry,
                 since: Period, to: Period, catalogue: Catalogue) -> pd.DataFrame:
    """The aggregates of period `since` on the units and districts of period `to` (labelled
    `since`). `values`, `accepted`: as `aggregate.aggregate` takes them, for `since`; a
    district of `to` counts a sheet as accepted when the same district had it accepted."""
    from pipelines.record.aggregate import aggregate

    mapped = on_boundaries(values, registry, since, to, catalogue)
    out = aggregate(mapped, accepted, registry, to, catalogue)
    return out.assign(period=str(since))


def boundary_changes(registry: Registry, periods: list[Period]) -> list[Succession]:
    """The successions that take effect after the first period's last day and by the last
    period's, in date order: what a comparison over `periods` spans."""
    if len(periods) < 2:
        return []
    ordered = sorted(periods, key=lambda p: p.sort_key)
    start, end = ordered[0].end, ordered[-1].end
    return sorted((s for s in registry.successions if start < s.effective <= end),
                  key=lambda s: (s.effective, s.change, s.old_code))


def restated(recorded: pd.DataFrame, read_period, registry: Registry, current: Period,
             catalogue: Catalogue) -> pd.DataFrame:
    """`recorded` aggregates of earlier periods (as the record holds them), each period
    that a boundary change separates from `current` replaced by its aggregates on the
    boundaries of `current` (`aggregate_on`, from `read_period(period)` -> (values,
    accepted)): what a comparison with `current` compares with. Other periods stand as
    recorded."""
    if recorded is None or recorded.empty or not registry.successions:
        return recorded
    parts = []
    for period, frame in recorded.groupby("period", sort=False):
        since = parse_period(period)
        if not boundary_changes(registry, [since, current]):
            parts.append(frame)
            continue
        values, accepted = read_period(period)
        again = aggregate_on(values, accepted, registry, since, current, catalogue)
        parts.append(_not_comparable(again, ended_in(registry, since, current))
                     .reindex(columns=recorded.columns))
    return pd.concat(parts, ignore_index=True)


def ended_in(registry: Registry, since: Period, to: Period) -> set[str]:
    """The districts of `to` that held, in `since`, a unit that ended by `to` with no
    successor named: their numbers of `since` cannot be put on `to`'s boundaries."""
    gone = {s.old_code for s in boundary_changes(registry, [since, to]) if s.change == "ended"}
    return {u.district_code for u in registry.all_units(since) if u.code in gone}


def _not_comparable(aggregates: pd.DataFrame, districts: set[str]) -> pd.DataFrame:
    """`aggregates` (restated) with the given districts, and every level above the
    district, marked incomplete: a unit ended with no successor named, so the restated
    period lacks what it held and no change is stated over it (claims compare complete
    values only)."""
    if not districts:
        return aggregates
    hit = ((aggregates["level"] == "district") & aggregates["org_unit_code"].isin(districts)) | (
        ~aggregates["level"].isin(["unit", "district"]))
    return aggregates.assign(complete=aggregates["complete"].where(~hit, False))
