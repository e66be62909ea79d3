"""Two or three Vietnamese sentences per content area: where the city stands, who leads
and who lags, and the largest changes since the comparable earlier period, with numbers.

Pure functions over plain values; the caller (`render.py`) supplies how a value is shown
(`Show`), so the sentences use the very text the tables show, and how the top level is
named (`top_label`: `Toàn thành phố`, nationally `Cả nước`). Only complete values rank a
district: a lower bound is never called the lowest.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Pair = tuple[float, bool]  # (value, complete)
TOP_LABEL = "Toàn thành phố"
Show = Callable[[float, bool], str]  # (value, signed) -> text as the table shows it

# Indicators where less is better: the poverty counts and rates.
LOWER_IS_BETTER = frozenset({"GN_TL_NGHEO", "GN_TL_CAN_NGHEO", "GN_TL_NGHEO_DAU_KY", "GN02",
                             "GN04", "GN05", "GN06", "GN07"})


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str  # e.g. "Tỷ lệ hộ nghèo"
    unit: str  # "%", "hộ", "triệu đồng", … ("" when none)
    rate: bool  # a percentage: changes are in percentage points

    @property
    def lower_is_better(self) -> bool:
        return self.code in LOWER_IS_BETTER


def _present(pair: Pair | None) -> bool:
    return pair is not None and not math.isnan(pair[0])


def _with_unit(text: str, ind: Indicator) -> str:
    if ind.rate or not ind.unit:
        return text
    return f"{text} {ind.unit}"


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:] if label else label


def city_sentence(ind: Indicator, city: Pair, show: Show, previous: Pair | None = None,
                  previous_label: str = "", top_label: str = TOP_LABEL) -> str:
    if not _present(city):
        return f"Chưa có số liệu {_lower(top_label)} về {_lower(ind.label)}."
    text = f"{top_label}, {_lower(ind.label)} là {_with_unit(show(city[0], False), ind)}"
    if _present(previous):
        diff = city[0] - previous[0]
        if round(diff, 2) == 0:
            text += f", không đổi so với {previous_label}"
        else:
            word = "tăng" if diff > 0 else "giảm"
            text += f", {word} {_with_unit(show(abs(diff), True).lstrip('+−'), ind)}"
            if not ind.rate and previous[0] > 0:
                text += f" ({word} {show_percent(abs(diff) / previous[0] * 100)})"
            text += f" so với {previous_label}"
    if not city[1]:
        text += " (số liệu chưa đầy đủ: có quận, huyện chưa báo cáo hoặc biểu bị loại)"
    return text + "."


def show_percent(value: float) -> str:
    from pipelines.text import vn_number

    return f"{vn_number(value, 1)}%"


def ranking_sentence(ind: Indicator, districts: Mapping[str, Pair], show: Show) -> str | None:
    """Highest and lowest among the districts with a complete value."""
    ranked = sorted(((v, name) for name, (v, k) in districts.items() if k and not math.isnan(v)),
                    key=lambda t: (-t[0], t[1]))
    if len(ranked) < 2 or ranked[0][0] == ranked[-1][0]:
        return None
    hi, lo = ranked[0][0], ranked[-1][0]
    ties_hi = [n for v, n in ranked if v == hi]
    ties_lo = [n for v, n in ranked if v == lo]
    best, worst = ((ties_lo, lo), (ties_hi, hi)) if ind.lower_is_better else ((ties_hi, hi), (ties_lo, lo))
    first = "thấp nhất" if ind.lower_is_better else "cao nhất"
    last = "cao nhất" if ind.lower_is_better else "thấp nhất"
    text = (f"{ind.label} {first} ở {_names(best[0])} ({_with_unit(show(best[1], False), ind)}), "
            f"{last} ở {_names(worst[0])} ({_with_unit(show(worst[1], False), ind)})")
    # incomplete only: a missing value on record as complete does not apply (a rate of NTM
    # communes in a quận, which has none) and is no gap in reporting
    left_out = sum(1 for v, k in districts.values() if not k)
    if left_out:
        text += f"; {_count(left_out)} quận, huyện chưa đủ số liệu không được xếp hạng"
    return text + "."


def _names(names: list[str]) -> str:
    if len(names) <= 3:
        return " và ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]
    return f"{', '.join(names[:3])} và {_count(len(names) - 3)} quận, huyện khác"


def _count(n: int) -> str:
    from pipelines.text import vn_number

    return vn_number(n)


def change_sentence(ind: Indicator, current: Mapping[str, Pair], previous: Mapping[str, Pair],
                    show: Show, previous_label: str) -> str | None:
    """The largest improvement and the largest setback since the earlier period."""
    changes = []
    for name, (v, k) in current.items():
        old = previous.get(name)
        if k and _present(old) and old[1] and not math.isnan(v):
            changes.append((v - old[0], name))
    changes = [(d, n) for d, n in changes if round(d, 2) != 0]
    if not changes:
        return None
    sign = -1 if ind.lower_is_better else 1
    changes.sort(key=lambda t: (-sign * t[0], t[1]))  # best first
    parts = []
    best, worst = changes[0], changes[-1]
    good = "cải thiện nhiều nhất" if ind.lower_is_better or ind.rate else "tăng nhiều nhất"
    bad = "kém đi nhiều nhất" if ind.lower_is_better or ind.rate else "giảm nhiều nhất"
    if sign * best[0] > 0:
        parts.append(f"{good} là {best[1]} ({_with_unit(show(best[0], True), ind)})")
    if sign * worst[0] < 0:
        parts.append(f"{bad} là {worst[1]} ({_with_unit(show(worst[0], True), ind)})")
    if not parts:
        return None
    return f"So với {previous_label}, " + "; ".join(parts) + "."


def lagging_criteria_sentence(shares: Mapping[str, Pair], show: Show, how_many: int = 3) -> str | None:
    """The NTM criteria met by the smallest share of communes."""
    present = sorted(((v, name) for name, (v, _) in shares.items() if not math.isnan(v)))
    if not present:
        return None
    low = present[:how_many]
    listed = ", ".join(f"{name} ({show(v, False)})" for v, name in low)
    return f"Các tiêu chí có tỷ lệ xã đạt thấp nhất: {listed}."


def sentences(ind: Indicator, city: Pair, districts: Mapping[str, Pair], show: Show, *,
              previous_city: Pair | None = None, previous: Mapping[str, Pair] | None = None,
              previous_label: str = "", top_label: str = TOP_LABEL) -> list[str]:
    out = [city_sentence(ind, city, show, previous_city, previous_label, top_label)]
    ranking = ranking_sentence(ind, districts, show)
    if ranking:
        out.append(ranking)
    if previous:
        change = change_sentence(ind, districts, previous, show, previous_label)
        if change:
            out.append(change)
    return out
