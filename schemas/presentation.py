"""The report's programme knowledge as data (`data/report.toml`): each content area's headline
indicator, the indicators where less is better, the counts ranked by a rate because they grow
with a district's size, the further indicators an area's sentences state, the coverage below
which no change between periods is stated, the charts of each area, the key figures of the
first page and the bands of the band chart.

Everything is checked when loading, against the catalogue of the same data folder: an unknown
key, an unknown content area or indicator code, a chart or key figure that cannot be drawn is
refused with a Vietnamese `ValueError` naming the file and the key.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from schemas.catalogue import DATA_DIR, Catalogue, load_catalogue

REPORT_FILE = "report.toml"


@dataclass(frozen=True)
class RankRate:
    code: str  # the count, e.g. GN03
    per: str  # what it is divided by, e.g. GN02
    scale: float
    label: str  # the rate in a sentence: "số hộ thoát nghèo trên 100 hộ nghèo đầu kỳ"
    unit: str = ""  # "%" for a percentage; else the rate is shown as a plain number


# ---------------------------------------------------------------- the charts of an area
# A chart is chosen for its data (pipelines/report/plans.py draws them).


@dataclass(frozen=True)
class Bars:  # the headline by district, ranked (a rate gets the city as a reference line)
    code: str


@dataclass(frozen=True)
class Stack:  # parts of a flow by district; `rest`: (total code, label) adds total − parts
    codes: tuple[str, ...]
    rest: tuple[str, str] | None = None


@dataclass(frozen=True)
class Trend:  # the city and the leading and lagging districts over the periods on record
    code: str  # `A+B`: the sum of A and B
    label: str | None = None  # instead of the indicator's own label


@dataclass(frozen=True)
class Criteria:  # the share of communes meeting each NTM criterion, city level
    pass


@dataclass(frozen=True)
class Bands:  # communes by band of criteria met (`bands`), by district
    mean_code: str  # each commune's criteria met


@dataclass(frozen=True)
class Band:
    label: str
    low: int  # criteria met, rounded: low <= met <= high
    high: int


@dataclass(frozen=True)
class KeyFigure:
    """One of the city's key figures: `{n}` in `main` and `detail` is codes[n] formatted; a
    code `A+B` is the sum of A and B; the first code gets the change and the target."""

    title: str
    codes: tuple[str, ...]
    main: str
    detail: str = ""


@dataclass(frozen=True)
class ReportSpec:
    headlines: dict[str, str]
    lower_is_better: frozenset[str]
    rank_rates: dict[str, RankRate]
    also: dict[str, tuple[str, ...]]
    min_coverage: float
    charts: dict[str, tuple] = field(default_factory=dict)  # area key -> its charts, in order (Bars, Stack …)
    key_figures: tuple[KeyFigure, ...] = ()
    bands: tuple[Band, ...] = ()


TOP_KEYS = ("min_coverage", "lower_is_better", "headlines", "also", "rank_rates", "charts",
            "key_figures", "bands")
# chart -> (its required keys, its optional keys)
CHART_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "bars": (("code",), ()),
    "stack": (("codes",), ("rest", "rest_label")),
    "trend": (("code",), ("label",)),
    "criteria": ((), ()),
    "bands": (("code",), ()),
}


class _Check:
    """Where a value sits in the file, for the messages."""

    def __init__(self, path: Path, cat: Catalogue):
        self.path, self.cat = path, cat
        self.sheet_of = {**{c: i.sheet for c, i in cat.indicators.items()},
                         **{d.code: d.sheet for d in cat.derived}}
        self.codes = set(self.sheet_of)
        self.areas = [s.key for s in cat.sheets]

    def fail(self, key: str, why: str) -> ValueError:
        return ValueError(f"{self.path}, khóa {key}: {why}")

    def table(self, value: object, key: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, "phải là một bảng (table).")
        return value

    def keys(self, value: dict, key: str, required: tuple[str, ...],
             optional: tuple[str, ...] = ()) -> None:
        allowed = (*required, *optional)
        for k in value:
            if k not in allowed:
                where = f"{key}.{k}" if key else k
                raise self.fail(where, "khóa không hợp lệ (các khóa được dùng: "
                                f"{', '.join(allowed) or 'không có'}).")
        for k in required:
            if k not in value:
                raise self.fail(f"{key}.{k}" if key else k, "thiếu khóa này.")

    def text(self, value: object, key: str, empty: bool = False) -> str:
        if not isinstance(value, str) or (not empty and not value.strip()):
            raise self.fail(key, "phải là một chuỗi chữ"
                            + (" không rỗng." if not empty else "."))
        return value

    def code(self, value: object, key: str, sums: bool = False) -> str:
        text = self.text(value, key)
        parts = text.split("+") if sums else [text]
        for part in parts:
            if part not in self.codes:
                raise self.fail(key, f"mã chỉ tiêu {part!r} không có trong danh mục "
                                "(indicators.csv, derived.csv).")
        return text

    def codes_of(self, value: object, key: str, sums: bool = False,
                 empty: bool = False) -> tuple[str, ...]:
        if not isinstance(value, list) or not (value or empty):
            raise self.fail(key, "phải là một danh sách mã chỉ tiêu"
                            + ("." if empty else " không rỗng."))
        return tuple(self.code(v, f"{key}[{n}]", sums) for n, v in enumerate(value))

    def within(self, codes: tuple[str, ...] | str, area: str, key: str) -> None:
        """An area's headline, further indicators and charts are its own."""
        for code in ([codes] if isinstance(codes, str) else codes):
            for part in code.split("+"):
                if self.sheet_of[part] != area:
                    raise self.fail(key, f"mã chỉ tiêu {part!r} thuộc nội dung "
                                    f"{self.sheet_of[part]}, không thuộc {area}.")

    def area(self, value: str, key: str) -> str:
        if value not in self.areas:
            raise self.fail(key, f"nội dung {value!r} không có trong sheets.csv "
                            f"(có: {', '.join(self.areas)}).")
        return value

    def number(self, value: object, key: str, whole: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float) if not whole else int):
            raise self.fail(key, "phải là một số nguyên." if whole else "phải là một số.")
        return value


def _chart(c: _Check, raw: object, key: str):
    raw = c.table(raw, key)
    kind = raw.get("chart")
    if kind not in CHART_KEYS:
        raise c.fail(f"{key}.chart", f"loại biểu đồ {kind!r} không hợp lệ "
                     f"(có: {', '.join(CHART_KEYS)}).")
    required, optional = CHART_KEYS[kind]
    c.keys(raw, key, ("chart", *required), optional)
    if kind == "bars":
        return Bars(c.code(raw["code"], f"{key}.code"))
    if kind == "stack":
        codes = c.codes_of(raw["codes"], f"{key}.codes")
        if ("rest" in raw) != ("rest_label" in raw):
            raise c.fail(key, "rest và rest_label phải đi cùng nhau.")
        rest = ((c.code(raw["rest"], f"{key}.rest"), c.text(raw["rest_label"], f"{key}.rest_label"))
                if "rest" in raw else None)
        return Stack(codes, rest)
    if kind == "trend":
        label = c.text(raw["label"], f"{key}.label") if "label" in raw else None
        return Trend(c.code(raw["code"], f"{key}.code", sums=True), label)
    if kind == "bands":
        return Bands(c.code(raw["code"], f"{key}.code"))
    return Criteria()


def _key_figure(c: _Check, raw: object, key: str) -> KeyFigure:
    raw = c.table(raw, key)
    c.keys(raw, key, ("title", "codes", "main"), ("detail",))
    codes = c.codes_of(raw["codes"], f"{key}.codes", sums=True)
    texts = {}
    for part in ("main", "detail"):
        text = c.text(raw.get(part, ""), f"{key}.{part}", empty=part == "detail")
        for n in re.findall(r"\{(\d+)\}", text):
            if int(n) >= len(codes):
                raise c.fail(f"{key}.{part}", f"{{{n}}} không ứng với mã nào trong codes "
                             f"(có {len(codes)} mã, đánh số từ 0).")
        if re.sub(r"\{\d+\}", "", text).count("{") or re.sub(r"\{\d+\}", "", text).count("}"):
            raise c.fail(f"{key}.{part}", "chỉ được dùng {0}, {1} … để chèn số liệu.")
        texts[part] = text
    return KeyFigure(c.text(raw["title"], f"{key}.title"), codes, texts["main"], texts["detail"])


def _bands(c: _Check, raw: object) -> tuple[Band, ...]:
    if not isinstance(raw, list):
        raise c.fail("bands", "phải là một danh sách các khoảng ([[bands]]).")
    out: list[Band] = []
    for n, b in enumerate(raw):
        key = f"bands[{n}]"
        b = c.table(b, key)
        c.keys(b, key, ("label", "low", "high"))
        band = Band(c.text(b["label"], f"{key}.label"), c.number(b["low"], f"{key}.low", True),
                    c.number(b["high"], f"{key}.high", True))
        if band.low > band.high:
            raise c.fail(key, f"low ({band.low}) lớn hơn high ({band.high}).")
        if any(o.low <= band.high and band.low <= o.high for o in out):
            raise c.fail(key, "khoảng này trùng với một khoảng ở trên.")
        out.append(band)
    return tuple(out)


@lru_cache(maxsize=4)
def load_report_spec(data_dir: Path = DATA_DIR) -> ReportSpec:
    path = Path(data_dir) / REPORT_FILE
    with path.open("rb") as f:
        raw = tomllib.load(f)
    c = _Check(path, load_catalogue(data_dir))
    c.keys(raw, "", (), TOP_KEYS)
    headlines = {c.area(k, f"headlines.{k}"): c.code(v, f"headlines.{k}")
                 for k, v in c.table(raw.get("headlines", {}), "headlines").items()}
    for k, v in headlines.items():
        c.within(v, k, f"headlines.{k}")
    lower = c.codes_of(raw.get("lower_is_better", []), "lower_is_better", empty=True)
    also = {c.area(k, f"also.{k}"): c.codes_of(v, f"also.{k}")
            for k, v in c.table(raw.get("also", {}), "also").items()}
    for k, v in also.items():
        c.within(v, k, f"also.{k}")
    rates = {}
    for code, r in c.table(raw.get("rank_rates", {}), "rank_rates").items():
        key = f"rank_rates.{code}"
        r = c.table(r, key)
        c.keys(r, key, ("per", "label"), ("scale", "unit"))
        rates[c.code(code, key)] = RankRate(
            code, c.code(r["per"], f"{key}.per"), float(c.number(r.get("scale", 100), f"{key}.scale")),
            c.text(r["label"], f"{key}.label"), c.text(r.get("unit", ""), f"{key}.unit", empty=True))
    charts = {}
    for area, plan in c.table(raw.get("charts", {}), "charts").items():
        c.area(area, f"charts.{area}")
        if not isinstance(plan, list):
            raise c.fail(f"charts.{area}", "phải là một danh sách biểu đồ.")
        charts[area] = tuple(_chart(c, p, f"charts.{area}[{n}]") for n, p in enumerate(plan))
        for n, chart in enumerate(charts[area]):
            codes = [getattr(chart, f, None) for f in ("code", "mean_code")]
            codes += [*getattr(chart, "codes", ()), *(getattr(chart, "rest", None) or ())[:1]]
            c.within(tuple(x for x in codes if x), area, f"charts.{area}[{n}]")
    figures = raw.get("key_figures", [])
    if not isinstance(figures, list):
        raise c.fail("key_figures", "phải là một danh sách ([[key_figures]]).")
    bands = _bands(c, raw.get("bands", []))
    if not bands and any(isinstance(s, Bands) for p in charts.values() for s in p):
        raise c.fail("bands", "biểu đồ bands cần danh sách các khoảng ([[bands]]).")
    try:
        share = parse_share(raw.get("min_coverage", "2/3"))
    except ValueError as exc:
        raise c.fail("min_coverage", str(exc)) from exc
    return ReportSpec(headlines=headlines, lower_is_better=frozenset(lower), rank_rates=rates,
                      also=also, min_coverage=share, charts=charts,
                      key_figures=tuple(_key_figure(c, f, f"key_figures[{n}]")
                                        for n, f in enumerate(figures)),
                      bands=bands)


def parse_share(value: object) -> float:
    """A share between 0 and 1 written `2/3`, `0,75` or `0.75`."""
    try:
        share = float(Fraction(str(value).strip().replace(",", ".")))
    except (ValueError, ZeroDivisionError) as exc:
        raise ValueError(f"min_coverage: {value!r} is not a share such as 2/3 or 0.75") from exc
    if not 0 <= share <= 1:
        raise ValueError(f"min_coverage: {value!r} is not a share between 0 and 1")
    return share
