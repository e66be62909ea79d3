"""The rules that compare a workbook with other periods and other units (R14-R16).

R14 (start-of-year poor households against last year's annual report), R16 (an annual
flow below the same year's H1) and R15 (outliers) need the record of accepted data and
the period's other submissions; the functions here are pure over data frames, and
`pipelines/check/period.py` runs them for a period's files and for one file (`thongke check`).

R15 scores each value with the modified z-score of Iglewicz and Hoaglin,
0.6745 (x - median) / MAD, on log(1 + value): counts and money are skewed (a commune
of 6,000 households beside one of 1,500), and on the log scale a size difference is a
shift, not a tail. Where the MAD is 0 (a column of mostly zeros, a stock that never
changed) the mean absolute deviation stands in (x 1.2533), and the spread never goes
below `min_spread`, so a zero-heavy count does not turn every 2 into an alarm, which is
what mean and standard-deviation bounds do. A value must also differ from the centre,
exp(median of log(1 + value)) - 1, by `min_difference` in its own unit and be `min_ratio`
times above (or `min_ratio_low` times below) it. That centre is not the median of the values
when their count is even (the log of a mean of two is not the mean of their logs), so a
message shows the plain median of the reference values it names, computed once per group
in `reference_stats`. Two references, each needing enough values: the unit's own earlier
periods (flows against the same half of other years, stocks against every earlier period),
and its peers of the same unit type in the period. A flow is only flagged for being far
*above* (extra zeros, the wrong unit): a commune that did little in a period is common, a
commune with ten times its usual or its peers' activity is worth a look. Stocks are
flagged both ways.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipelines.check.findings import Finding, finding
from pipelines.base.text import vn_flexible
from pipelines.check.checker import sort_findings
from pipelines.check.result import WorkbookResult
from pipelines.record.boundaries import on_boundaries
from schemas.catalogue import Catalogue
from schemas.checks import Checks, Outliers
from schemas.periods import Period, parse_period
from schemas.units import Registry

HISTORY_COLUMNS = ["period", "unit_code", "indicator", "value"]
PEER_COLUMNS = ["district_code", "unit_code", "indicator", "value"]
MAD_TO_Z = 0.6745  # the MAD of a normal distribution is 0.6745 standard deviations
MEAN_AD_TO_MAD = 1.2533 / 1.4826  # mean absolute deviation -> MAD scale, for MAD = 0


@dataclass
class Context:
    """What one period's workbooks are compared with."""

    period: Period
    earlier: pd.DataFrame  # HISTORY_COLUMNS: accepted values of earlier periods on record
    peers: pd.DataFrame  # PEER_COLUMNS: the period's accepted values, every district
    unit_types: dict[str, str]  # unit code -> type, for the peer groups
    # unit code -> [(code last year, share)]: the units whose end of last year R14 sums
    # (a unit that absorbed others starts the year with their households too)
    carried: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # last year's unit code -> its name
    # `earlier` on the period's boundaries (R15's own history: an absorber's earlier
    # periods are its predecessors' sums); None: the same as `earlier`
    own_history: pd.DataFrame | None = None

    @classmethod
    def empty(cls, period: Period, unit_types: dict[str, str]) -> "Context":
        return cls(period, pd.DataFrame(columns=HISTORY_COLUMNS),
                   pd.DataFrame(columns=PEER_COLUMNS), unit_types)

    @classmethod
    def of(cls, period: Period, registry: Registry) -> "Context":
        """An empty context with the period's unit types and last year's successions."""
        before = period.previous_year
        return cls(period, pd.DataFrame(columns=HISTORY_COLUMNS),
                   pd.DataFrame(columns=PEER_COLUMNS), unit_types(registry, period),
                   registry.carried(before, period),
                   {u.code: u.name for u in registry.all_units(before)})

    def outlier_stats(self, catalogue: Catalogue, cfg: Outliers) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(own history stats by unit and indicator, peer stats by unit type and indicator),
        computed once for all the period's workbooks."""
        history = self.earlier if self.own_history is None else self.own_history
        key = (id(history), id(self.peers), cfg)
        if getattr(self, "_stats_key", None) != key:
            scored = _scored(catalogue, cfg)
            kinds = {c: i.kind for c, i in catalogue.indicators.items()}
            earlier = history[history["indicator"].isin(scored)]
            if not earlier.empty:  # flows against the same half of earlier years, stocks all
                same_half = earlier["period"].str.endswith("-H1") == self.period.h1
                earlier = earlier[same_half | (earlier["indicator"].map(kinds) != "flow")]
            peers = self.peers[self.peers["indicator"].isin(scored)]
            peers = peers.assign(unit_type=peers["unit_code"].map(self.unit_types))
            self._stats = (reference_stats(earlier, ["unit_code", "indicator"], cfg, cfg.min_history,
                                           pool="indicator"),
                           reference_stats(peers, ["unit_type", "indicator"], cfg, cfg.min_peers))
            self._stats_key = key
        return self._stats


def unit_types(registry: Registry, period: Period) -> dict[str, str]:
    types = {u.code: u.type for d in registry.districts(period) for u in registry.units(d.code, period)}
    return types


def earlier_values(history: pd.DataFrame, period: Period) -> pd.DataFrame:
    """The rows of `history` (a read of the record) from periods before `period`."""
    if history.empty:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    before = {p for p in history["period"].unique() if parse_period(p).sort_key < period.sort_key}
    return history.loc[history["period"].isin(before), HISTORY_COLUMNS].reset_index(drop=True)


def on_current_boundaries(earlier: pd.DataFrame, period: Period, registry: Registry,
                          catalogue: Catalogue) -> pd.DataFrame:
    """`earlier` (HISTORY_COLUMNS, several periods) with each period's values on the
    boundaries of `period`: a unit's own history continues across a merger as the sum of
    what it is made of today (docs/decisions.md, "R15 across a succession")."""
    if earlier.empty or not registry.successions:
        return earlier
    parts = []
    for name, values in earlier.groupby("period", sort=False):
        since = parse_period(name)
        parts.append(on_boundaries(values, registry, since, period, catalogue)
                     .assign(period=name)[HISTORY_COLUMNS])
    return pd.concat(parts, ignore_index=True)


def peer_values(results: list[WorkbookResult]) -> pd.DataFrame:
    """The accepted values of the workbooks that count, as peers of each other."""
    parts = [r.values().assign(district_code=r.district_code) for r in results]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=PEER_COLUMNS)
    return pd.concat(parts, ignore_index=True)[PEER_COLUMNS]


# --------------------------------------------------------------------------- the rules


def history_findings(result: WorkbookResult, context: Context, catalogue: Catalogue,
                     checks: Checks) -> list[Finding]:
    """R14, R15 and R16 for one checked workbook's accepted values."""
    return history_findings_all([result], context, catalogue, checks)[0]


def history_findings_all(results: list[WorkbookResult], context: Context, catalogue: Catalogue,
                         checks: Checks) -> list[list[Finding]]:
    """R14, R15 and R16 for each workbook, computed over all of them at once (a national
    period has 700 workbooks and 750,000 values: per-workbook pandas calls cost minutes)."""
    out: list[list[Finding]] = [[] for _ in results]
    parts = []
    for k, r in enumerate(results):
        v = r.values() if r.district_code else None
        if v is not None and not v.empty:
            parts.append(v[v["value"].notna()].assign(k=k))
    if not parts:
        return out
    values = pd.concat(parts, ignore_index=True)
    names = [{key: s.name for key, s in r.sheets.items()} for r in results]

    def at(rule: str, k: int, sheet: str, cell: str, value: float, message: str) -> None:
        r = results[k]
        out[k].append(finding(rule, message, file=r.file, district_code=r.district_code,
                              sheet=names[k].get(sheet, sheet), cell=cell, value=value))

    _start_stock(values, context, checks, at)
    _annual_below_h1(values, context, catalogue, at)
    _outliers(values, context, catalogue, checks.outliers, at)
    return out


def _rows(frame: pd.DataFrame, *extra: str):
    """(k, sheet, cell, value, *extra) of each row, as plain Python values."""
    columns = ["k", "sheet", "cell", "value", *extra]
    return zip(*(frame[c].tolist() for c in columns))


def _lookup(context: Context, period: Period) -> dict[tuple[str, str], float]:
    """(unit, indicator) -> value of one earlier period, built once per context."""
    cache = context.__dict__.setdefault("_lookups", {})
    if period not in cache:
        rows = context.earlier[(context.earlier["period"] == str(period))
                               & context.earlier["value"].notna()]
        cache[period] = dict(zip(zip(rows["unit_code"], rows["indicator"]), rows["value"]))
    return cache[period]


def _start_stock(values, context: Context, checks: Checks, at) -> None:
    """R14: the stock at the start of the year against the end of last year's annual report."""
    start, end = checks.start_stock.start, checks.start_stock.end
    before = context.period.previous_year
    last = _lookup(context, before)
    if not last:
        return
    rows = values[values["indicator"] == start]
    for k, sheet, cell, value, unit in _rows(rows, "unit_code"):
        parts = context.carried.get(unit, [(unit, 1.0)])
        known = [last.get((code, end)) for code, _ in parts]
        if any(v is None for v in known):  # a predecessor not on record: nothing to compare
            continue
        prev = sum(v * share for v, (_, share) in zip(known, parts))
        if abs(value - prev) > 0.005:
            at("R14", k, sheet, cell, value,
               f"{start} (đầu năm) là {vn_flexible(value)} nhưng {end} (cuối năm) trong báo cáo "
               f"năm {before.year} là {vn_flexible(prev)}{_summed(context, unit, parts)}. Hai "
               "số phải bằng nhau; hãy kiểm tra lại hoặc ghi rõ lý do.")


def _summed(context: Context, unit: str, parts: list[tuple[str, float]]) -> str:
    """What a unit's end of last year sums, when it absorbed others: ` (cộng của X và Y)`."""
    if len(parts) == 1 and parts[0][0] == unit:
        return ""
    names = [context.names.get(code, code) for code, _ in parts]
    return f" (cộng {', '.join(names[:-1])} và {names[-1]}, đơn vị đã nhập vào)"


def _annual_below_h1(values, context: Context, catalogue: Catalogue, at) -> None:
    """R16: an annual report's flow smaller than the same unit's H1 flow that year."""
    if context.period.h1:
        return
    h1 = _lookup(context, Period(context.period.year, True))
    if not h1:
        return
    flows = {c for c, i in catalogue.indicators.items() if i.kind == "flow"}
    rows = values[values["indicator"].isin(flows)]
    first = pd.Series(h1, dtype="float64")
    first.index = pd.MultiIndex.from_tuples(first.index, names=["unit_code", "indicator"])
    earlier = first.reindex(pd.MultiIndex.from_arrays([rows["unit_code"], rows["indicator"]]))
    rows = rows.assign(first=earlier.to_numpy())
    for k, sheet, cell, value, h1_value in _rows(rows[rows["value"] < rows["first"] - 0.005],
                                                  "first"):
        at("R16", k, sheet, cell, value,
           f"Số cả năm {vn_flexible(value)} nhỏ hơn số 6 tháng đầu năm {vn_flexible(h1_value)} "
           "của cùng đơn vị; số cả năm phải gồm cả 6 tháng đầu năm.")


def reference_stats(reference: pd.DataFrame, keys: list[str], cfg: Outliers, minimum: int,
                    pool: str | None = None) -> pd.DataFrame:
    """Per group of `keys`: the median and the robust spread of log(1 + value), over the
    positive values (a zero is "nothing happened", neither an outlier nor a reference);
    only groups with at least `minimum` values.

    For the messages: `value_median`, the plain median of those positive values (what
    "trung vị" names; `median` is on the log scale and only scores), and `of_all`: whether
    it is also the median of all the group's values, zeros included (as shown, to 2
    decimals), so that a message says the zeros were left out only where that changed it.

    `pool` (a key column): the spread never goes below the median absolute deviation of
    all groups with the same `pool` value. Three or four periods of one unit cannot tell
    its spread (three close values by chance make any fourth an "outlier"); how much an
    indicator moves from period to period across all units can.
    """
    value = reference["value"].astype("float64")
    ref = reference[value > 0].assign(x=value[value > 0])
    ref = ref.assign(y=np.log1p(ref["x"]))
    grouped = ref.groupby(keys)["y"]
    stats = pd.DataFrame({"n": grouped.count(), "median": grouped.median(),
                          "value_median": ref.groupby(keys)["x"].median()})
    known = reference[value.notna()].assign(x=value[value.notna()])
    whole = known.groupby(keys)["x"].median().reindex(stats.index)
    stats["of_all"] = whole.round(2).eq(stats["value_median"].round(2))
    ref = ref.join(stats["median"], on=keys)
    ref["dev"] = (ref["y"] - ref["median"]).abs()
    dev = ref.groupby(keys)["dev"]
    mad, mean_ad = dev.median(), dev.mean()
    spread = mad.where(mad > 0, mean_ad * MEAN_AD_TO_MAD)
    if pool is not None and not ref.empty:
        many = ref.join(stats["n"], on=keys)
        # the median point of each group deviates by 0 by construction: leave it out
        pooled = many[(many["n"] >= minimum) & (many["dev"] > 0)].groupby(pool)["dev"].median()
        floor = pd.Series(stats.index.get_level_values(pool), index=stats.index).map(pooled)
        spread = pd.concat([spread, floor.fillna(0)], axis=1).max(axis=1)
    stats["spread"] = spread.clip(lower=cfg.min_spread)
    return stats[stats["n"] >= minimum]


def robust_scores(x: pd.Series, stats: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(modified z, centre) of each value of `x`, indexed like `stats`; NaN where the group
    has too few reference values, or the value is not positive. The centre,
    exp(median of log(1 + value)) - 1, is what `far` measures ratio and distance from; it is
    not the median of the values when their count is even (messages show `value_median`)."""
    aligned = stats.reindex(x.index)
    x = x.astype("float64").where(x > 0)
    z = MAD_TO_Z * (np.log1p(x) - aligned["median"]) / aligned["spread"]
    return z, np.expm1(aligned["median"])


def _outliers(values, context: Context, catalogue: Catalogue, cfg: Outliers, at) -> None:
    """R15: far from the unit's own history or from its peers of the same type."""
    own_stats, peer_stats = context.outlier_stats(catalogue, cfg)
    rows = values[values["indicator"].isin(_scored(catalogue, cfg))]
    if rows.empty:
        return
    rows = rows.assign(unit_type=rows["unit_code"].map(context.unit_types))
    flows = {c for c, i in catalogue.indicators.items() if i.kind == "flow"}
    x = rows["value"].astype("float64").to_numpy()
    own_index = pd.MultiIndex.from_arrays([rows["unit_code"], rows["indicator"]])
    peer_index = pd.MultiIndex.from_arrays([rows["unit_type"], rows["indicator"]])
    own_z, own_centre = robust_scores(pd.Series(x, index=own_index), own_stats)
    peer_z, peer_centre = robust_scores(pd.Series(x, index=peer_index), peer_stats)
    low = np.asarray(cfg.flows_below | ~rows["indicator"].isin(flows))
    rows = rows.assign(own=far(x, own_z.to_numpy(), own_centre.to_numpy(), cfg, low),
                       peer=far(x, peer_z.to_numpy(), peer_centre.to_numpy(), cfg, low))
    hit = (rows["own"] | rows["peer"]).to_numpy()
    if not hit.any():
        return
    # what the messages show: the plain median of the reference values they name
    flagged = rows[hit]
    own_ref, peer_ref = own_stats.reindex(own_index[hit]), peer_stats.reindex(peer_index[hit])
    flagged = flagged.assign(own_med=own_ref["value_median"].to_numpy(),
                             own_all=own_ref["of_all"].to_numpy(),
                             peer_med=peer_ref["value_median"].to_numpy(),
                             peer_all=peer_ref["of_all"].to_numpy())
    # flows are compared with the same half of earlier years only (`outlier_stats`)
    own_flows = ("các kỳ 6 tháng đầu năm trước đây" if context.period.h1
                 else "các kỳ cả năm trước đây")
    for k, sheet, cell, v, indicator, own, om, oa, peer, pm, pa, kind in _rows(
            flagged, "indicator", "own", "own_med", "own_all", "peer", "peer_med", "peer_all",
            "unit_type"):
        reasons = []
        if own:
            periods = own_flows if indicator in flows else "các kỳ trước"
            reasons.append(f"{periods} của chính đơn vị ({_median_words(om, oa, 'các kỳ')})")
        if peer:
            reasons.append(f"các đơn vị cùng loại ({kind}) trong kỳ "
                           f"({_median_words(pm, pa, 'các đơn vị')})")
        at("R15", k, sheet, cell, v, f"Giá trị {vn_flexible(v)} khác xa " + " và ".join(reasons)
           + ". Hãy kiểm tra lại (gõ thừa, thiếu chữ số hoặc nhầm đơn vị?); nếu đúng thì không "
             "cần sửa.")


def _median_words(median: float, all_values: bool, which: str) -> str:
    """ "trung vị 12", or, where leaving the zeros out changed it, whose median it is."""
    shown = vn_flexible(round(median, 2))
    if all_values:
        return f"trung vị {shown}"
    return f"trung vị của {which} có số liệu khác 0: {shown}"


def far(value: np.ndarray, z: np.ndarray, median: np.ndarray, cfg: Outliers,
        low: np.ndarray | bool = True) -> np.ndarray:
    """Far enough to warn: robust score, ratio to the centre (`median`, from `robust_scores`)
    and distance all agree.
    `low`: whether a value far *below* the median counts too (per value or for all)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (1 + value) / (1 + median)
        return (~np.isnan(z) & (np.abs(z) > cfg.z) & (np.abs(value - median) >= cfg.min_difference)
                & ((ratio >= cfg.min_ratio) | (low & (ratio <= 1 / cfg.min_ratio_low))))


def _scored(catalogue: Catalogue, cfg: Outliers) -> set[str]:
    return {c for c, i in catalogue.indicators.items() if i.type in cfg.types and c not in cfg.skip}


# --------------------------------------------------------------------------- one file


def add_history_findings(results: list[WorkbookResult], context: Context, catalogue: Catalogue,
                         checks: Checks) -> None:
    """Add R14-R16 to each workbook's findings, in the workbook's order (all are warnings,
    so no status changes)."""
    for r, extra in zip(results, history_findings_all(results, context, catalogue, checks)):
        if extra:
            r.findings += extra
            sort_findings(r)
