"""The leaders' report of a period run: `bao_cao.html`, `tong_hop.xlsx` and the charts.

Input is the run's contract frames (FORM.md section 6); nothing here reads files.
Everything is built from the catalogue: one section per content area in catalogue
order, its table from the sheet's summable indicators and derived indicators.
What is specific to this programme (the key figures, the chart of each area) is
kept in small tables: `KEY_FIGURES` and `HEADLINES` below, and `report_charts.PLANS`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipelines import narrative, report_charts
from pipelines.atomic import write_text
from pipelines.findings import RULES
from pipelines.submissions import STATUS_VI
from pipelines.text import vn_number
from schemas.catalogue import Catalogue, load_catalogue
from schemas.periods import Period, PeriodError, parse_period
from schemas.units import CITY_CODE, load_registry

if TYPE_CHECKING:
    from pipelines.targets import Targets

TEMPLATES = Path(__file__).resolve().parent / "templates"
MISSING = "–"
CITY_ROW = "Toàn thành phố"
INCOMPLETE_NOTE = ("Chưa đầy đủ: có đơn vị chưa báo cáo hoặc biểu bị loại, số liệu là cận dưới "
                   "(tỷ lệ và bình quân chỉ tính trên các đơn vị đã báo cáo đủ).")
SEVERITY = {"error": "Lỗi", "warning": "Cảnh báo"}

# Content area -> its headline indicator: the one with the "change since" column, the
# generated sentences and the target. An area not listed takes its first rate, else its
# first indicator. Which charts each area gets: `report_charts.PLANS`.
HEADLINES: dict[str, str] = {"TT": "TT_TL_GDVH", "NL": "NL_TONG", "AS": "AS01",
                             "GN": "GN_TL_NGHEO", "NTM": "NTM_TL_XA_DAT", "VM": "VM_SO_DAT",
                             "MH": "MH01", "GS": "GS_TL_GIAI_QUYET"}
CHART_ONLY = {"share_flag"}  # derived methods shown in the chart, not the table

# City key figures: (title, codes, main text, detail text); `{n}` is codes[n] formatted.
# A code `A+B` is the sum of A and B. The first code gets the change column.
KEY_FIGURES: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("Tỷ lệ hộ nghèo", ("GN_TL_NGHEO", "GN06"), "{0}", "{1} hộ nghèo cuối kỳ"),
    ("Tỷ lệ hộ cận nghèo", ("GN_TL_CAN_NGHEO", "GN07"), "{0}", "{1} hộ cận nghèo cuối kỳ"),
    ("Hộ thoát nghèo trong kỳ", ("GN03", "GN05"), "{0} hộ", "{1} hộ nghèo phát sinh trong kỳ"),
    ("Xã đạt chuẩn nông thôn mới", ("NTM_TL_XA_DAT", "NTM_SO_XA_DAT", "NTM_SO_XA"),
     "{1}/{2} xã ({0})", "Mục tiêu năm 2020: một nửa số xã đạt chuẩn"),
    ("Số tiêu chí đạt bình quân một xã", ("NTM_TB_TC",), "{0} tiêu chí",
     "Mục tiêu năm 2020: bình quân 15 tiêu chí/xã"),
    ("Phường, thị trấn đạt chuẩn văn minh đô thị", ("VM_SO_DAT", "VM_SO_DV"),
     "{0}/{1} đơn vị", ""),
    ("Tổng nguồn lực huy động", ("NL_TONG",), "{0} triệu đồng", ""),
    ("Nhà Đại đoàn kết xây mới và sửa chữa", ("AS01+AS02", "AS01", "AS02"), "{0} nhà",
     "xây mới {1}, sửa chữa {2}"),
)


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
    text: str

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
    rows: list[Row]  # districts by code, then the city total
    change_header: str | None = None
    change_fmt: str = "int"
    headline: str | None = None
    target_header: str | None = None
    sentences: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)

    @property
    def has_incomplete(self) -> bool:
        return any(c.incomplete for r in self.rows
                   for c in (*r.cells, *([r.change] if r.change else [])))


def fmt_value(value: float, fmt: str, signed: bool = False) -> str:
    """Vietnamese display of a value: ints no decimals; money, rates (with %) and means with
    exactly 2, so that a table's column lines up."""
    if value is None or math.isnan(value):
        return MISSING
    shown = round(value, 0 if fmt == "int" else 2)  # the sign of what is shown: no `−0,00`
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
    if code in cat.indicators or "+" in code:
        return all(cat.indicators[c].kind == "flow" for c in code.split("+"))
    d = next((d for d in cat.derived if d.code == code), None)
    if d is None or d.unit == "%" or not d.numerator:
        return False
    return all(_is_flow(c, cat) for c in (*d.numerator, *d.denominator))


class Values:
    """(level, org unit, indicator) -> (value, complete) of one period's aggregates."""

    def __init__(self, frame: pd.DataFrame):
        f = frame[frame["level"].isin(["district", "city"])]
        self._d = {(lv, str(c), str(i)): (float(v), bool(k)) for lv, c, i, v, k in zip(
            f["level"], f["org_unit_code"], f["indicator"], f["value"], f["complete"])}

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


def _districts(agg: pd.DataFrame, subs: pd.DataFrame, period: Period | None) -> dict[str, str]:
    """District code -> full name: those in the aggregates, the submissions and the registry."""
    names: dict[str, str] = {}
    if period is not None:
        names.update({d.code: d.name for d in load_registry().districts(period)})
    known = agg[agg["level"] == "district"].drop_duplicates("org_unit_code")
    names.update(zip(known["org_unit_code"], known["org_unit_name"]))
    for code in subs["district_code"].dropna().astype(str):
        code = code.removesuffix(".0")
        if code and code != "nan":
            names.setdefault(code, f"Mã {code}")
    return dict(sorted(names.items(), key=lambda kv: _code_key(kv[0])))


def _previous(period: Period | None, history: dict[Period, Values], flow: bool) -> Period | None:
    if period is None:
        return None
    earlier = [p for p in history
               if p.sort_key < period.sort_key and (not flow or p.h1 == period.h1)]
    return max(earlier, key=lambda p: p.sort_key, default=None)


def _cell(pair: tuple[float, bool], fmt: str) -> Cell:
    return Cell(pair[0], pair[1], fmt_value(pair[0], fmt))


def _change(cur: tuple[float, bool], old: tuple[float, bool], fmt: str) -> Cell:
    diff = cur[0] - old[0]  # NaN if either is missing
    return Cell(diff, cur[1] and old[1], fmt_value(diff, fmt, signed=True))


def _section(sheet, cat: Catalogue, values: Values, districts: dict[str, str],
             period: Period | None, label: str, history: dict[Period, Values],
             inputs: "report_charts.Inputs | None", targets: dict[tuple[str, str], float]
             ) -> Section:
    cols = [Column(i.code, i.label, i.unit, value_fmt(i.code, cat))
            for i in sheet.indicators if i.summable]
    cols += [Column(d.code, d.label, d.unit, value_fmt(d.code, cat)) for d in cat.derived
             if d.sheet == sheet.key and d.method not in CHART_ONLY]
    headline = HEADLINES.get(sheet.key)
    if headline not in {c.code for c in cols}:
        rates = [c for c in cols if c.fmt == "rate"]
        headline = rates[0].code if rates else cols[0].code if cols else None
    sec = Section(sheet.key, sheet.display_name, sheet.title, cols, [], headline=headline)
    hfmt = value_fmt(headline, cat) if headline else "int"
    prev = _previous(period, history, _is_flow(headline, cat)) if headline else None
    if prev is not None:
        sec.change_header = f"{cat_label(headline, cat)}: thay đổi so với {prev.label}"
        sec.change_fmt = hfmt
    aimed = headline is not None and any(i == headline for _, i in targets)
    if aimed and period is not None:
        sec.target_header = f"Mục tiêu năm {period.year}: {cat_label(headline, cat)}"
    members = [("district", code, name, False) for code, name in districts.items()]
    for level, code, name, total in [*members, ("city", CITY_CODE, CITY_ROW, True)]:
        change = target = None
        attained = ""
        if prev is not None:
            change = _change(values.get(level, code, headline),
                             history[prev].get(level, code, headline), hfmt)
        if aimed:
            goal = targets.get((code, headline), math.nan)
            target = Cell(goal, True, fmt_value(goal, hfmt))
            attained = _attained(values.get(level, code, headline), goal, headline)
        cells = tuple(_cell(values.get(level, code, c.code), c.fmt) for c in cols)
        sec.rows.append(Row(code, name, cells, total, change, target, attained))
    if headline:
        sec.sentences = _sentences(sec, cat, values, districts, history, prev, hfmt)
    if inputs is not None:
        plan = report_charts.plan_for(sheet.key, headline, hfmt)
        sec.charts = [Chart(d.name, d.uri, d.alt) for d in report_charts.draw(sheet, plan, inputs)]
    return sec


def _attained(actual: tuple[float, bool], goal: float, code: str) -> str:
    """Đạt / Chưa đạt against a target; nothing when either is missing or the value is a
    lower bound that does not yet reach it."""
    value, complete = actual
    if math.isnan(goal) or math.isnan(value):
        return ""
    lower = code in narrative.LOWER_IS_BETTER
    met = value <= goal if lower else value >= goal
    if not complete and not (met and not lower):  # a lower bound proves only "at least"
        return ""
    return "Đạt" if met else "Chưa đạt"


def _sentences(sec: Section, cat: Catalogue, values: Values, districts: dict[str, str],
               history: dict[Period, Values], prev: Period | None, fmt: str) -> list[str]:
    code = sec.headline
    col = next((c for c in sec.columns if c.code == code), None)
    ind = narrative.Indicator(code, cat_label(code, cat), col.unit if col else "", fmt == "rate")
    show = lambda v, signed: fmt_value(v, fmt, signed)  # noqa: E731
    current = {n: values.get("district", c, code) for c, n in districts.items()}
    before = ({n: history[prev].get("district", c, code) for c, n in districts.items()}
              if prev is not None else None)
    out = narrative.sentences(
        ind, values.get("city", CITY_CODE, code), current, show,
        previous_city=history[prev].get("city", CITY_CODE, code) if prev is not None else None,
        previous=before, previous_label=prev.label if prev is not None else "")
    shares = _criteria_shares(sec.key, cat, values)
    if shares:
        lagging = narrative.lagging_criteria_sentence(shares, lambda v, s: fmt_value(v, "rate", s))
        if lagging:
            out.append(lagging)
    return out


def _criteria_shares(key: str, cat: Catalogue, values: Values) -> dict[str, tuple[float, bool]]:
    """The NTM criteria shares at city level, by criterion label (empty for other areas)."""
    crit = [d for d in cat.derived if d.sheet == key and d.method in CHART_ONLY]
    return {cat.indicators[d.numerator[0]].label: values.get("city", CITY_CODE, d.code)
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


def _key_figures(cat: Catalogue, values: Values, period: Period | None,
                 history: dict[Period, Values], goals: dict[tuple[str, str], float]) -> list[dict]:
    out = []
    for title, codes, main, detail in KEY_FIGURES:
        if not all(c in cat.indicators or any(d.code == c for d in cat.derived)
                   for code in codes for c in code.split("+")):
            continue
        pairs = [values.get("city", CITY_CODE, c) for c in codes]
        texts = [fmt_value(v, value_fmt(c, cat)) for c, (v, _) in zip(codes, pairs)]
        prev = _previous(period, history, _is_flow(codes[0], cat))
        change = None
        if prev is not None:
            cell = _change(pairs[0], history[prev].get("city", CITY_CODE, codes[0]),
                           value_fmt(codes[0], cat))
            change = None if cell.missing else f"{cell.text} so với {prev.label}"
        target = None
        if (CITY_CODE, codes[0]) in goals and period is not None:
            goal = goals[(CITY_CODE, codes[0])]
            verdict = _attained(pairs[0], goal, codes[0])
            target = (f"Mục tiêu năm {period.year}: {fmt_value(goal, value_fmt(codes[0], cat))}"
                      + (f" – {verdict.lower()}" if verdict else ""))
        out.append({"title": title, "main": main.format(*texts), "detail": detail.format(*texts),
                    "incomplete": any(not k and not math.isnan(v) for v, k in pairs),
                    "change": change, "target": target})
    return out


def _targets_note(targets: "Targets | None", period: Period | None) -> dict | None:
    """What the method note says about the targets file: where from, how many used, problems."""
    if targets is None:
        return None
    used = len(targets.of(period.year)) if period is not None else 0
    return {"source": targets.source, "used": used, "problems": [str(p) for p in targets.problems]}


def _submissions(subs: pd.DataFrame, districts: dict[str, str]) -> list[dict]:
    rows = []
    for r in subs.to_dict("records"):
        code = _text(r.get("district_code")).removesuffix(".0")
        status = _text(r.get("status"))
        rows.append({"code": code, "district": districts.get(code, code or MISSING),
                     "file": _text(r.get("file")), "status": STATUS_VI.get(status, status),
                     "errors": _count(r.get("errors")), "warnings": _count(r.get("warnings")),
                     "sha256": _text(r.get("sha256")), "period": _text(r.get("period"))})
    return sorted(rows, key=lambda r: (_code_key(r["code"]) if r["code"] else (10**10, ""),
                                       r["file"]))


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _count(value) -> int | None:
    num = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return None if pd.isna(num) else int(num)


def _findings_by_rule(findings: pd.DataFrame) -> list[dict]:
    if findings.empty:
        return []
    f = findings.assign(rule=findings["rule"].map(_text),
                        severity=findings["severity"].map(_text))
    g = f.groupby(["rule", "severity"], sort=True).agg(
        n=("rule", "size"), files=("file", "nunique"), districts=("district_code", "nunique"))
    return [{"rule": rule, "title": RULES.get(rule, ("", ""))[1],
             "severity": SEVERITY.get(sev, sev), "count": int(r.n), "files": int(r.files),
             "districts": int(r.districts)}
            for (rule, sev), r in g.iterrows()]


def _reporting(frame: pd.DataFrame | None) -> dict | None:
    """The completeness table as the report shows it (Vietnamese numbers and dates)."""
    if frame is None or frame.empty:
        return None
    from pipelines.completeness import STATUS_TEXT

    def day(v) -> str:
        return v.strftime("%d/%m/%Y") if hasattr(v, "strftime") and not pd.isna(v) else "–"

    rows = [{"name": r.district_name, "files": vn_number(r.files), "received": day(r.first_received),
             "on_time": "Đúng hạn" if r.on_time else ("Quá hạn" if r.received else "–"),
             "status": STATUS_TEXT.get(r.status, r.status),
             "sheets": f"{r.sheets_accepted}/{r.sheets_expected}" if r.sheets_expected else "–"}
            for r in frame[frame["level"] == "district"].itertuples(index=False)]
    city = frame[frame["level"] == "city"].iloc[0]
    rate = lambda v: "–" if pd.isna(v) else f"{vn_number(v, 1)} %"  # noqa: E731
    return {"rows": rows, "deadline": day(city["deadline"]), "expected": int(city["expected"]),
            "received": int(city["received"]), "on_time": int(city["on_time"]),
            "accepted": int(city["accepted"]), "partial": int(city["partial"]),
            "rejected": int(city["rejected"]), "missing": int(city["missing"]),
            "reporting_rate": rate(city["reporting_rate"]), "on_time_rate": rate(city["on_time_rate"]),
            "accepted_rate": rate(city["accepted_rate"])}


def _status_counts(subs: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in subs:
        counts[s["status"]] = counts.get(s["status"], 0) + 1
    order = list(STATUS_VI.values())
    return dict(sorted(counts.items(), key=lambda kv: (order.index(kv[0])
                                                       if kv[0] in order else len(order))))


def render_report(period: str, aggregates: pd.DataFrame, submissions: pd.DataFrame,
                  findings: pd.DataFrame, out_dir: Path, *, catalogue: Catalogue | None = None,
                  history: pd.DataFrame | None = None,
                  completeness: pd.DataFrame | None = None,
                  targets: "Targets | None" = None) -> dict[str, Path]:
    """Write `bao_cao.html`, `tong_hop.xlsx` and `charts/*.png|svg` into `out_dir`."""
    from pipelines.summary_xlsx import write_summary

    cat = catalogue or load_catalogue()
    out_dir = Path(out_dir)
    chart_dir = out_dir / "charts"
    chart_dir.mkdir(parents=True, exist_ok=True)
    try:
        per: Period | None = parse_period(period)
        label = per.label
    except PeriodError:
        per, label = None, str(period)
    agg = _clean(aggregates)
    agg = agg[agg["period"] == str(period)] if (agg["period"] == str(period)).any() else agg
    hist: dict[Period, Values] = {}
    if history is not None and not history.empty:
        h = _clean(history)
        for p, part in h.groupby("period"):
            try:
                hist[parse_period(p)] = Values(part)
            except PeriodError:
                continue
        hist.pop(per, None)
    values = Values(agg)
    districts = _districts(agg, submissions, per)
    goals = targets.of(per.year) if targets is not None and per is not None else {}
    full = _clean(aggregates)
    inputs = report_charts.Inputs(
        catalogue=cat, values=values, history=hist, period=per, label=label, districts=districts,
        units=full[(full["level"] == "unit") & (full["period"] == str(period))],
        registry=load_registry() if per is not None else None,
        label_of=lambda c: cat_label(c, cat), unit_of=lambda c: _unit_of(c, cat),
        fmt_of=lambda c: value_fmt(c, cat), is_flow=lambda c: _is_flow(c, cat), chart_dir=chart_dir)
    sections = [_section(s, cat, values, districts, per, label, hist, inputs, goals)
                for s in cat.sheets]
    drawn = {c.name for sec in sections for c in sec.charts}
    for stale in chart_dir.iterdir():  # charts of an earlier run that this one did not draw
        if stale.suffix in (".png", ".svg") and stale.stem not in drawn:
            stale.unlink()
    subs = _submissions(submissions, districts)
    sent = {s["code"] for s in subs}
    not_sent = [n for c, n in districts.items() if c not in sent]
    context = {
        "period": str(period), "period_label": label, "made": date.today().strftime("%d/%m/%Y"),
        "key_figures": _key_figures(cat, values, per, hist, goals), "sections": sections,
        "submissions": subs, "findings": _findings_by_rule(findings),
        "not_sent": not_sent, "status_counts": _status_counts(subs),
        "incomplete_note": INCOMPLETE_NOTE, "n_findings": len(findings),
        "reporting": _reporting(completeness),
        "targets": _targets_note(targets, per),
    }
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    html_path, xlsx_path = out_dir / "bao_cao.html", out_dir / "tong_hop.xlsx"
    write_text(html_path, env.get_template("report.html.j2").render(**context))
    write_summary(xlsx_path, period_label=label, sections=sections, submissions=subs,
                  aggregates=agg, catalogue=cat, incomplete_note=INCOMPLETE_NOTE,
                  not_sent=not_sent, completeness=completeness)
    return {"html": html_path, "xlsx": xlsx_path, "charts": chart_dir}
