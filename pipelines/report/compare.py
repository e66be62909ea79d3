"""What a period's value is compared with, and how the report says so.

One decision (`basis`) for every place that states a change: the sentences, the tables'
"change" column and its header, the key figures, the charts' footnotes and the method note.

- An annual report compares with the previous annual report.
- A first-half report compares a flow (what happened during the period: households that
  escaped poverty, models built) with the same half of an earlier year, and a stock (a count
  at the period's end), a rate or an average with the latest earlier annual report: "so với
  cuối năm 2016". A rate of flows compared so is a whole year's rate: "so với cả năm 2016".

How an indicator is measured (`Measure`) also decides what an incomplete value is: a sum of
what was reported is a lower bound; a rate or an average over the units that reported in
full is no bound of anything, and is never called one.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.catalogue import Catalogue
from schemas.periods import Period

SUM, RATE, MEAN = "sum", "rate", "mean"


@dataclass(frozen=True)
class Measure:
    shape: str  # sum (counts, money) | rate (a percentage) | mean (an average per unit)
    flow: bool  # every input counts what happened during the period


def measure(code: str, cat: Catalogue) -> Measure:
    """How a base, derived or `A+B` indicator is measured."""
    parts = code.split("+")
    if all(p in cat.indicators for p in parts):
        return Measure(SUM, all(cat.indicators[p].kind == "flow" for p in parts))
    d = next((d for d in cat.derived if d.code == code), None)
    if d is None:
        return Measure(SUM, False)
    inputs = [c for c in (*d.numerator, *d.denominator) if c]
    flow = bool(inputs) and all(measure(c, cat).flow for c in inputs)
    if d.unit == "%":
        return Measure(RATE, flow)
    if d.method in ("mean_flags", "share_flag"):
        return Measure(MEAN, False)
    return Measure(SUM, flow)


@dataclass(frozen=True)
class Basis:
    """The earlier period a value is compared with, and its words."""
    period: Period
    phrase: str  # after "so với": "năm 2016", "cuối năm 2016", "6 tháng đầu năm 2016"
    whole_year_for_half: bool = False  # a first half's value against a whole year's

    @property
    def both(self) -> str:
        """"cả hai năm" when both are years, else "cả hai kỳ"."""
        return "cả hai kỳ" if self.period.h1 or self.whole_year_for_half else "cả hai năm"


def basis(period: Period | None, available: Iterable[Period], m: Measure) -> Basis | None:
    """The period `period`'s value of an indicator measured as `m` is compared with, among
    the `available` earlier ones; None when there is none to compare with."""
    if period is None:
        return None
    same_half = m.shape == SUM and m.flow
    earlier = [p for p in available if p.sort_key < period.sort_key
               and (p.h1 == period.h1 if same_half else not p.h1)]
    prev = max(earlier, key=lambda p: p.sort_key, default=None)
    if prev is None:
        return None
    return Basis(prev, phrase(period, prev, m), period.h1 and not prev.h1)


def phrase(period: Period, prev: Period, m: Measure) -> str:
    label = prev.label[:1].lower() + prev.label[1:]
    if period.h1 and not prev.h1:  # a first half against a year
        return f"cả {label}" if m.flow else f"cuối {label}"
    return label


def incomplete_note(m: Measure) -> str:
    """What a value marked incomplete (`*`) is, by how it is measured."""
    if m.shape == SUM:
        return ("Chưa đầy đủ: có đơn vị chưa báo cáo hoặc biểu bị loại; số liệu chỉ cộng các "
                "đơn vị đã báo cáo, là cận dưới.")
    what = "tỷ lệ" if m.shape == RATE else "số bình quân"
    return (f"Chưa đầy đủ: có đơn vị chưa báo cáo hoặc biểu bị loại; {what} chỉ tính trên các "
            "đơn vị đã báo cáo đủ, không phải cận dưới hay cận trên.")


INCOMPLETE_NOTE_ANY = ("Chưa đầy đủ: có đơn vị chưa báo cáo hoặc biểu bị loại. Số tổng chỉ cộng "
                       "các đơn vị đã báo cáo (là cận dưới); tỷ lệ và số bình quân chỉ tính trên "
                       "các đơn vị đã báo cáo đủ (không phải cận dưới).")


def method_lines(period: Period | None, available: Iterable[Period], min_coverage: float,
                 top_in_sentence: str) -> list[str]:
    """The method note's sentences on comparisons, from the same decision as the report's."""
    from pipelines.base.text import vn_number

    available = list(available)
    share = vn_number(round(min_coverage * 100), 0)
    lines = []
    if period is not None:
        flows = basis(period, available, Measure(SUM, True))
        stocks = basis(period, available, Measure(SUM, False))
        flow_rates = basis(period, available, Measure(RATE, True))
        lines.append("Chỉ tiêu phát sinh trong kỳ (số cuộc, số mô hình, số nhà, nguồn lực…): "
                     + (f"so với {flows.phrase}." if flows else "chưa có kỳ cùng loại trước đó "
                        "để so sánh."))
        lines.append("Chỉ tiêu thời điểm (số hộ, số xã, số đơn vị đạt chuẩn), tỷ lệ và số bình "
                     "quân: " + (f"so với {stocks.phrase}." if stocks else
                                 "chưa có báo cáo năm trước đó để so sánh."))
        if flow_rates is not None and flow_rates.whole_year_for_half:
            lines.append("Tỷ lệ tính từ số phát sinh trong kỳ (tỷ lệ kiến nghị được giải quyết, "
                         f"tỷ lệ hộ hài lòng): tỷ lệ 6 tháng so với tỷ lệ {flow_rates.phrase}.")
    lines.append("Thay đổi chỉ tính trên các quận, huyện có đủ số liệu ở cả hai kỳ, và câu văn "
                 "nêu rõ số quận, huyện đó; khi số này dưới " + share + "% số quận, huyện có chỉ "
                 f"tiêu, báo cáo không nêu thay đổi của {top_in_sentence}. Thay đổi của tỷ lệ "
                 "tính bằng điểm phần trăm.")
    lines.append("Xếp hạng chỉ so các quận, huyện có loại đơn vị của chỉ tiêu (không xếp quận "
                 "không có xã vào chỉ tiêu nông thôn mới) và đã báo cáo đủ; các quận, huyện bằng "
                 "nhau đều được nêu tên. Chỉ tiêu đếm phụ thuộc quy mô được xếp theo tỷ lệ khi "
                 "có, và câu văn nói rõ xếp theo gì.")
    return lines


_CHANGE_WORDS = {"absorbed": "nhập vào", "recoded": "đổi mã, nay là", "split": "chuyển một phần vào"}
MAX_NAMED_CHANGES = 12  # more than this many mergers are counted, not listed


def boundary_lines(changes, districts: dict[str, str] | None = None) -> list[str]:
    """The method note's sentences on the boundary changes (`schemas.successions.Succession`,
    date order) between the earliest period shown and this one: which units merged, how
    many were renamed, moved or ended, and that earlier periods are restated on today's
    boundaries, so that a count of units that fell because units merged is not read as
    a result. `districts`: unit code -> district name, to say where a merger happened."""
    if not changes:
        return []
    districts = districts or {}
    merged = [s for s in changes if s.change in _CHANGE_WORDS]
    by_day: dict = {}
    for s in merged:
        where = f" ({districts[s.new_code]})" if s.new_code in districts else ""
        by_day.setdefault(s.effective, []).append(
            f"{s.old_name} {_CHANGE_WORDS[s.change]} {s.new_name}{where}")
    lines = []
    if merged:
        if len(merged) <= MAX_NAMED_CHANGES:
            told = "; ".join(f"từ {day.strftime('%d/%m/%Y')}: " + ", ".join(items)
                             for day, items in by_day.items())
        else:
            told = "; ".join(f"từ {day.strftime('%d/%m/%Y')}: {len(items)} đơn vị nhập vào "
                             "đơn vị khác" for day, items in by_day.items())
        lines.append(f"Trong khoảng thời gian báo cáo này trình bày có thay đổi đơn vị hành "
                     f"chính ({told}).")
    counts = {kind: sum(s.change == kind for s in changes) for kind in ("renamed", "moved", "ended")}
    words = {"renamed": "đổi tên", "moved": "chuyển sang quận, huyện khác",
             "ended": "không còn trong danh mục"}
    other = [f"{n} đơn vị {words[k]}" for k, n in counts.items() if n]
    if other:
        lines.append("Ngoài ra: " + ", ".join(other) + ".")
    if counts["ended"]:
        lines.append("Danh mục chưa ghi đơn vị nhận số liệu của các đơn vị không còn trong danh "
                     "mục: số liệu kỳ trước của các quận, huyện có các đơn vị đó (và của toàn "
                     "địa bàn) được coi là chưa đầy đủ, không dùng để nêu thay đổi.")
    lines.append("Số liệu các kỳ trước được tính lại theo địa giới hiện nay (số của đơn vị đã "
                 "nhập được cộng vào đơn vị nhận), nên mọi so sánh và biểu đồ xu hướng là trên "
                 "cùng các đơn vị; số đơn vị giảm do sáp nhập là thay đổi địa giới, không phải "
                 "kết quả thực hiện. Biểu đồ xu hướng đánh dấu kỳ có thay đổi địa giới.")
    return lines
