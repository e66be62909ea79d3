"""Aggregation unit -> district -> city, exactly as FORM.md section 5; over the levels
the registry has in the period (`Registry.levels`): at national scale unit -> district ->
province -> country, a province summed from its units exactly as a district is.

Pure functions over pandas frames. Every output indicator is computed the same
way at every level: each unit contributes whether the indicator *applies* to it,
whether it is *usable* (it reported every input, in an accepted sheet), and its
numerator and denominator; a level sums those over its units. So rates are
recomputed from sums, never averaged, and `complete` is "every unit it applies
to was usable".
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.catalogue import Catalogue, Derived
from schemas.periods import Period
from schemas.units import Registry

AGGREGATE_COLUMNS = ["period", "level", "org_unit_code", "org_unit_name", "indicator", "value",
                     "complete"]


def unit_frame(values: pd.DataFrame, accepted: pd.DataFrame, registry: Registry, period: Period,
               catalogue: Catalogue) -> pd.DataFrame:
    """One row per unit valid in the period: its district, type, each base indicator's value
    (NaN when blank or when its sheet was not accepted) and `ok_<sheet>` flags.

    `values`: unit_code, indicator, value (accepted sheets of counted workbooks only).
    `accepted`: district_code, sheet (key) for each accepted sheet.
    """
    units = registry.all_units(period)
    frame = pd.DataFrame({"unit_code": [u.code for u in units],
                          "unit_name": [u.name for u in units],
                          "district_code": [u.district_code for u in units],
                          "type": [u.type for u in units]}).set_index("unit_code")
    ok_pairs = set(zip(accepted["district_code"].astype(str), accepted["sheet"]))
    for sheet in catalogue.sheets:
        holds = frame["type"].map(sheet.holds)
        sent = pd.Series([(d, sheet.key) in ok_pairs for d in frame["district_code"]],
                         index=frame.index)
        frame[f"ok_{sheet.key}"] = holds & sent
        frame[f"on_{sheet.key}"] = holds
    wide = (values.set_index(["unit_code", "indicator"])["value"].astype("float64").unstack()
            if not values.empty else pd.DataFrame())
    for code, ind in catalogue.indicators.items():
        col = wide[code] if code in wide.columns else pd.Series(dtype="float64")
        col = col.reindex(frame.index).astype("float64")
        frame[code] = col.where(frame[f"ok_{ind.sheet}"])
    return frame


def _contributions(frame: pd.DataFrame, catalogue: Catalogue) -> dict[str, pd.DataFrame]:
    """Per output indicator, per unit: app, use, num, den (see module doc)."""
    out: dict[str, pd.DataFrame] = {}

    def put(code, app, use, num, den=None, kind="sum"):
        use = use & app
        out[code] = pd.DataFrame({
            "app": app.astype(int), "use": use.astype(int),
            "num": num.where(use, 0.0).astype(float),
            "den": (den if den is not None else pd.Series(1.0, index=frame.index))
            .where(use, 0.0).astype(float),
        }).assign(kind=kind)

    for code, ind in catalogue.indicators.items():
        if ind.summable:
            v = frame[code]
            put(code, frame[f"on_{ind.sheet}"], v.notna(), v.fillna(0.0), kind="sum")
    for d in catalogue.derived:
        app = frame[f"on_{d.sheet}"]
        if d.unit_types is not None:
            app = app & frame["type"].isin(d.unit_types)
        ok = frame[f"ok_{d.sheet}"]
        if d.method == "ratio" and all(c in catalogue.indicators for c in d.numerator + d.denominator):
            inputs = frame[list(d.numerator + d.denominator)]
            put(d.code, app, inputs.notna().all(axis=1), frame[list(d.numerator)].sum(axis=1),
                frame[list(d.denominator)].sum(axis=1), kind="ratio")
        elif d.method == "sum":
            terms = frame[list(d.numerator)]
            out[d.code] = pd.DataFrame({
                "app": app.astype(int),
                "use": (app & terms.notna().all(axis=1)).astype(int),
                "num": terms.sum(axis=1, min_count=1).where(app).fillna(0.0),
                "den": (app & terms.notna().any(axis=1)).astype(float),  # units reporting any
            }).assign(kind="partial_sum")
        elif d.method == "count":
            put(d.code, app, ok, pd.Series(1.0, index=frame.index), kind="count")
        elif d.method == "count_set":
            put(d.code, app, ok, frame[d.numerator[0]].notna().astype(float), kind="count")
        elif d.method == "count_flag":
            flag = frame[d.numerator[0]]
            put(d.code, app, flag.notna(), (flag == 1).astype(float), kind="count")
        elif d.method == "mean_flags":
            flags = frame[list(d.numerator)]
            put(d.code, app, flags.notna().all(axis=1), flags.sum(axis=1), kind="mean")
        elif d.method == "share_flag":
            flag = frame[d.numerator[0]]
            put(d.code, app, flag.notna(), (flag == 1).astype(float), kind="mean")
    return out


def _finish(kind: str, g: pd.DataFrame, scale: float) -> tuple[pd.Series, pd.Series]:
    """From summed app/use/num/den per org unit to (value, complete)."""
    complete = g["use"] == g["app"]
    none_usable = g["use"] == 0
    if kind == "sum":  # over no unit of the kind: 0, as a count would be
        value = g["num"].where(~none_usable | (g["app"] == 0))
    elif kind == "partial_sum":  # sum of what was reported, empty when nothing was
        value = g["num"].where(g["den"] > 0)
    elif kind == "count":
        value = g["num"].where(~none_usable | (g["app"] == 0), np.nan)
    elif kind == "ratio":
        value = (scale * g["num"] / g["den"].replace(0.0, np.nan)).where(~none_usable)
    elif kind == "mean":
        value = (scale * g["num"] / g["use"].replace(0, np.nan)).where(~none_usable)
    else:
        raise ValueError(kind)
    return value, complete


def aggregate(values: pd.DataFrame, accepted: pd.DataFrame, registry: Registry, period: Period,
              catalogue: Catalogue) -> pd.DataFrame:
    """The long table of `aggregates.csv` (value float, NaN when missing)."""
    frame = unit_frame(values, accepted, registry, period, catalogue)
    contrib = _contributions(frame, catalogue)
    scales = {d.code: d.scale for d in catalogue.derived}
    derived_ratios = [d for d in catalogue.derived if d.method == "ratio" and d.code not in contrib]
    levels = registry.levels(period)
    groups = _groups(frame, registry, period, levels)
    parts = []
    for level in levels:
        rows = {}
        for code, c in contrib.items():
            if level == "unit":
                g = c
                names = frame["unit_name"]
            elif level == levels[-1]:  # the top: one row, even over no unit
                g = c.drop(columns="kind").sum().to_frame(registry.top_code).T
                names = pd.Series({registry.top_code: registry.top_name})
            else:
                keys, names = groups[level]
                g = c.drop(columns="kind").groupby(keys).sum()
            value, complete = _finish(c["kind"].iloc[0], g, scales.get(code, 1.0))
            # A unit carries what applies to it; every district, province and the top carry
            # every summed and derived indicator (over no unit of the kind a sum or count is 0).
            keep = g["app"] > 0 if level == "unit" else pd.Series(True, index=g.index)
            rows[code] = pd.DataFrame({"org_unit_code": g.index.astype(str), "org_unit_name":
                                       names.reindex(g.index).values, "value": value.values,
                                       "complete": complete.values})[keep.values]
        if level == "unit":
            for code, ind in catalogue.indicators.items():
                if ind.summable:
                    continue  # already in contrib
                on = frame[f"on_{ind.sheet}"]
                ok = frame[f"ok_{ind.sheet}"]
                v = frame[code]
                rows[code] = pd.DataFrame({
                    "org_unit_code": frame.index.astype(str), "org_unit_name": frame["unit_name"].values,
                    "value": v.values,
                    "complete": (ok & (v.notna() | (ind.type == "year"))).values})[on.values]
        for d in derived_ratios:
            num, den = rows[d.numerator[0]], rows[d.denominator[0]]
            merged = num.merge(den, on=["org_unit_code", "org_unit_name"], suffixes=("_n", "_d"))
            value = d.scale * merged["value_n"] / merged["value_d"].replace(0.0, np.nan)
            rows[d.code] = pd.DataFrame({
                "org_unit_code": merged["org_unit_code"], "org_unit_name": merged["org_unit_name"],
                "value": value, "complete": merged["complete_n"] & merged["complete_d"]})
        for code, r in rows.items():
            parts.append(r.assign(indicator=code, level=level))
    out = pd.concat(parts, ignore_index=True)
    out["period"] = str(period)
    out = _round(out, catalogue)
    order = _indicator_order(catalogue)
    out["_lvl"] = out["level"].map({lv: len(levels) - 1 - i for i, lv in enumerate(levels)})
    out["_ind"] = out["indicator"].map(order)
    out["_code"] = out["org_unit_code"].astype(int)
    out = out.sort_values(["_lvl", "_code", "_ind"]).drop(columns=["_lvl", "_ind", "_code"])
    return out[AGGREGATE_COLUMNS].reset_index(drop=True)


def _groups(frame: pd.DataFrame, registry: Registry, period: Period, levels: tuple[str, ...]
            ) -> dict[str, tuple[pd.Series, pd.Series]]:
    """Per level between the unit and the top (the last of `levels`): each unit's org unit
    code at that level (the key its parts are summed by) and the org units' names by code."""
    out: dict[str, tuple[pd.Series, pd.Series]] = {}
    for level in levels[1:-1]:
        if level == "district":
            keys = frame["district_code"]
            names = pd.Series({d.code: d.name for d in registry.districts(period)}, dtype=object)
        elif level == "province":
            keys = frame["district_code"].map(registry.province_codes)
            names = pd.Series(registry.province_names, dtype=object)
        else:
            raise ValueError(level)
        out[level] = (keys, names)
    return out


def _round(out: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Money to 2 decimals and counts to whole numbers: float sums carry noise (0.1 + 0.2)."""
    decimals = {c: i.decimals for c, i in catalogue.indicators.items()}
    for d in catalogue.derived:
        if d.method in ("count", "count_set", "count_flag"):
            decimals[d.code] = 0
        elif d.method == "sum":
            decimals[d.code] = 2
    dec = out["indicator"].map(decimals)
    for n in (0, 2):
        mask = dec == n
        out.loc[mask, "value"] = out.loc[mask, "value"].round(n)
    return out


def _indicator_order(catalogue: Catalogue) -> dict[str, int]:
    order = {}
    for s in catalogue.sheets:
        for code in s.codes:
            order[code] = len(order)
        for d in catalogue.derived:
            if d.sheet == s.key:
                order[d.code] = len(order)
    return order


def derived_of(catalogue: Catalogue, sheet_key: str) -> list[Derived]:
    return [d for d in catalogue.derived if d.sheet == sheet_key]
