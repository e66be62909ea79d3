"""Claims put into Vietnamese: one function per kind of claim (`pipelines.report.claims`).

Pure functions; the caller supplies how a value is shown (`Show`, the very text the tables
show). Each sentence says what it compares with and over which districts, so that every
number in it can be recomputed from the two periods' tables (tests/test_words.py does).

The words, by claim:
- Level: "Toàn thành phố, <chỉ tiêu> là <giá trị>" and, when incomplete, which districts
  it misses (a sum is then a lower bound; a rate or an average is over the units that
  reported in full, and never called a bound).
- Change over every district that can have the item: ", tăng 40 mô hình (tăng 10,1%) so với
  năm 2016". Over fewer: ". So sánh trên 14/15 quận, huyện có đủ số liệu cả hai năm (trừ
  Quận Ngô Quyền): tăng 8 mô hình (tăng 2,0%) so với năm 2016, từ 387 lên 395 mô hình".
  Too few: ". Không nêu thay đổi so với năm 2016: chỉ 8/15 quận, huyện có đủ số liệu cả hai
  năm (cần ít nhất 10)".
- Ranking: "<Chỉ tiêu>: cao nhất ở A (v); thấp nhất ở B và C (v)"; four or more tied:
  "4 quận, huyện cùng thấp nhất (v): A, B, C, D"; by a rate: "Xếp theo <tỷ lệ>: …"; among
  fewer than all: "<Chỉ tiêu> (xếp trong các quận, huyện có xã): …".
- Movers: "So với năm 2016 (trên 14 quận, huyện có đủ số liệu cả hai năm), tăng nhiều nhất
  là A (+12 mô hình); giảm nhiều nhất là B (−3 mô hình)".
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from pipelines.report.claims import DISTRICTS, Change, Level, Movers, Ranking, Side, Subject
from pipelines.report.compare import SUM
from pipelines.base.text import vn_number

TOP_LABEL = "Toàn thành phố"
Show = Callable[[float, bool], str]  # (value, signed) -> text as the table shows it
MANY = 3  # more names tied than this: "N quận, huyện cùng …: A, B, C, D"
LISTED = 30  # names listed at most (national scale), then how many more


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:] if label else label


def _upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def with_unit(text: str, s: Subject) -> str:
    if s.rate or not s.unit or s.unit == "%":
        return text
    return f"{text} {s.unit}"


def having_data(noun: str) -> str:
    """`quận, huyện có đủ số liệu`; `quận, huyện có xã và đủ số liệu`."""
    return f"{noun} và đủ số liệu" if " có " in noun else f"{noun} có đủ số liệu"


def coverage(c: Change) -> str:
    """`14/15 quận, huyện có đủ số liệu cả hai năm`: who a change is computed over."""
    return f"{len(c.compared)}/{len(c.eligible)} {having_data(c.noun)} {c.basis.both}"


def show_percent(value: float) -> str:
    return f"{vn_number(value, 1)}%"


def names(items: tuple[str, ...] | list[str]) -> str:
    """`A`, `A và B`, `A, B và C`: every name (beyond `LISTED`, how many more)."""
    items = list(items)
    if len(items) > LISTED:
        return f"{', '.join(items[:LISTED])} và {vn_number(len(items) - LISTED)} {DISTRICTS} khác"
    if len(items) <= 1:
        return items[0] if items else ""
    return f"{', '.join(items[:-1])} và {items[-1]}"


def level_sentence(c: Level, show: Show) -> str:
    """The top level's value (no final full stop: a change may follow)."""
    if math.isnan(c.value):
        return f"Chưa có số liệu {_lower(c.top_label)} về {_lower(c.subject.label)}"
    text = f"{c.top_label}, {_lower(c.subject.label)} là {with_unit(show(c.value, False), c.subject)}"
    if not c.complete:
        who = (f"{names(c.missing)} chưa đủ số liệu" if c.missing
               else "có đơn vị chưa đủ số liệu")
        if c.subject.measure.shape == SUM:
            text += f" (chưa đầy đủ, là cận dưới: {who})"
        else:
            what = "tỷ lệ" if c.subject.rate else "số bình quân"
            text += f" (chưa đầy đủ: {what} chỉ tính trên các đơn vị đã báo cáo đủ; {who})"
    return text


def _direction(diff: float, s: Subject, show: Show) -> str:
    word = "tăng" if diff > 0 else "giảm"
    text = f"{word} {with_unit(show(abs(diff), True).lstrip('+−'), s)}"
    return text


def change_text(c: Change, show: Show) -> str:
    """What follows the level: the change over the districts complete in both periods."""
    s = c.subject
    if not c.stated:
        return (f". Không nêu thay đổi so với {c.basis.phrase}: chỉ {coverage(c)} "
                f"(cần ít nhất {c.needed})")
    diff = c.diff
    if round(diff, 2) == 0 or show(abs(diff), True).lstrip("+−") == show(0.0, True):
        moved = "không đổi"
    else:
        moved = _direction(diff, s, show)
        if s.measure.shape == SUM and c.before > 0:
            moved += f" ({'tăng' if diff > 0 else 'giảm'} {show_percent(abs(diff) / c.before * 100)})"
    if c.full:
        return f", {moved} so với {c.basis.phrase}"
    way = "lên" if diff > 0 else "xuống" if diff < 0 else "và vẫn là"
    span = (f"từ {show(c.before, False)} {way} {with_unit(show(c.now, False), s)}"
            if way != "và vẫn là" else f"vẫn là {with_unit(show(c.now, False), s)}")
    return (f". So sánh trên {coverage(c)} (trừ {names(c.left_out)}): {moved} so với "
            f"{c.basis.phrase}, {span}")


def city_sentence(level: Level, show: Show, change: Change | None = None) -> str:
    text = level_sentence(level, show)
    if change is not None and not math.isnan(level.value):
        text += change_text(change, show)
    return text + "."


def _side(word: str, side: Side, shown: str) -> str:
    if len(side.names) > MANY:
        listed = (", ".join(side.names) if len(side.names) <= LISTED else names(side.names))
        return f"{vn_number(len(side.names))} {DISTRICTS} cùng {word} ({shown}): {listed}"
    return f"{word} ở {names(side.names)} ({shown})"


def ranking_sentence(r: Ranking, show: Show) -> str:
    """Highest and lowest among the districts that can have the item, complete ones only."""
    s = r.subject
    lower = s.lower_is_better and not r.by
    first, last = ("thấp nhất", "cao nhất") if lower else ("cao nhất", "thấp nhất")

    def shown(v: float) -> str:
        return show(v, False) if r.by else with_unit(show(v, False), s)

    head = f"Xếp theo {r.by}" if r.by else s.label
    if r.restricted:
        head += f" (xếp trong các {r.noun})"
    text = (f"{head}: {_side(first, r.best, shown(r.best.value))}; "
            f"{_side(last, r.worst, shown(r.worst.value))}")
    if r.unranked:
        text += (f"; {vn_number(len(r.unranked))} {DISTRICTS} chưa đủ số liệu không được xếp "
                 f"hạng ({names(r.unranked)})")
    return text + "."


def movers_sentence(m: Movers, show: Show) -> str:
    s = m.subject
    better = "cải thiện nhiều nhất" if s.lower_is_better or s.rate else "tăng nhiều nhất"
    worse = "kém đi nhiều nhất" if s.lower_is_better or s.rate else "giảm nhiều nhất"
    parts = []
    for word, side in ((better, m.best), (worse, m.worst)):
        if side is not None:
            value = with_unit(show(side.value, True), s)
            parts.append(f"{word} là {names(side.names)} ({value})")
    return (f"So với {m.basis.phrase} (trên {vn_number(m.compared)} {having_data(m.noun)} "
            f"{m.basis.both}), " + "; ".join(parts) + ".")


def lagging_criteria_sentence(shares: Mapping[str, tuple[float, bool]], show: Show,
                              how_many: int = 3) -> str | None:
    """The NTM criteria met by the smallest share of communes (ties at the cut named too)."""
    present = sorted(((v, name) for name, (v, _) in shares.items() if not math.isnan(v)))
    if not present:
        return None
    cut = present[min(how_many, len(present)) - 1][0]
    low = [(v, n) for v, n in present if v <= cut]
    listed = ", ".join(f"{name} ({show(v, False)})" for v, name in low)
    incomplete = any(not k for v, k in shares.values() if not math.isnan(v))
    tail = " (tính trên các xã đã báo cáo đủ)" if incomplete else ""
    return f"Các tiêu chí có tỷ lệ xã đạt thấp nhất: {listed}{tail}."
