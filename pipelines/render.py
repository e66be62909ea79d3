"""The leaders' report of a period run: `bao_cao.html`, `tong_hop.xlsx` and the charts.

Input is the run's contract frames (FORM.md section 6); nothing here reads files.
One section per content area in catalogue order (`report_tables`), its charts
(`report_charts`), the city's key figures on the first page, the completeness of
submissions, the findings by rule and a note on method. What is specific to this
programme is kept in small tables: `KEY_FIGURES` below, `report_tables.HEADLINES` and
`report_charts.PLANS`.
"""
from __future__ import annotations

import logging
import math
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipelines import report_charts
from pipelines.atomic import write_text
from pipelines.report_tables import (  # noqa: F401  (re-exported: tests, summary workbook)
    CITY_ROW, MISSING, Cell, Chart, Column, Row, Section, Values, _attained, _change, _clean,
    _code_key, _districts, _is_flow, _previous, _section, _unit_of, cat_label, fmt_value,
    in_sentence, value_fmt)
from pipelines.findings import RULES
from pipelines.submissions import STATUS_VI
from pipelines.text import vn_number
from schemas.catalogue import Catalogue, load_catalogue
from schemas.periods import Period, PeriodError, parse_period
from schemas.units import CITY_CODE, load_registry

if TYPE_CHECKING:
    from pipelines.targets import Targets

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"
INCOMPLETE_NOTE = ("Chưa đầy đủ: có đơn vị chưa báo cáo hoặc biểu bị loại, số liệu là cận dưới "
                   "(tỷ lệ và bình quân chỉ tính trên các đơn vị đã báo cáo đủ).")
SEVERITY = {"error": "Lỗi", "warning": "Cảnh báo"}

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
            change = None if cell.missing else f"{cell.text} so với {in_sentence(prev.label)}"
        target = None
        if (CITY_CODE, codes[0]) in goals and period is not None:
            goal = goals[(CITY_CODE, codes[0])]
            verdict = _attained(pairs[0], goal, codes[0])
            target = (f"Mục tiêu năm {period.year}: {fmt_value(goal, value_fmt(codes[0], cat))}"
                      + (f" – {verdict.lower()}" if verdict else ""))
        shown = MISSING if texts[0] == MISSING else main.format(*texts)
        used = {int(n) for n in re.findall(r"\{(\d+)\}", detail)}
        told = "" if any(texts[n] == MISSING for n in used) else detail.format(*texts)
        out.append({"title": title, "main": shown, "detail": told,
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


def _history_values(history: pd.DataFrame | None, current: Period | None) -> dict[Period, Values]:
    """Earlier periods' aggregates by period (the current one left out)."""
    hist: dict[Period, Values] = {}
    if history is not None and not history.empty:
        for p, part in _clean(history).groupby("period"):
            try:
                hist[parse_period(p)] = Values(part)
            except PeriodError:
                continue
        hist.pop(current, None)
    return hist


def key_figures(period: str, aggregates: pd.DataFrame, *, history: pd.DataFrame | None = None,
                catalogue: Catalogue | None = None, targets: "Targets | None" = None) -> list[dict]:
    """The city's key figures of a period, as the report's first page shows them."""
    per = parse_period(period)
    agg = _clean(aggregates)
    goals = targets.of(per.year) if targets is not None else {}
    return _key_figures(catalogue or load_catalogue(), Values(agg[agg["period"] == str(period)]),
                        per, _history_values(history, per), goals)


def render_report(period: str, aggregates: pd.DataFrame, submissions: pd.DataFrame,
                  findings: pd.DataFrame, out_dir: Path, *, catalogue: Catalogue | None = None,
                  history: pd.DataFrame | None = None,
                  completeness: pd.DataFrame | None = None,
                  targets: "Targets | None" = None, pdf: bool = True) -> dict[str, Path]:
    """Write `bao_cao.html`, `bao_cao.pdf` (unless `pdf` is False), `tong_hop.xlsx` and
    `charts/*.png|svg` into `out_dir`. A PDF that cannot be made is logged and left out:
    the HTML and the workbook still stand."""
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
    hist = _history_values(history, per)
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
    html = env.get_template("report.html.j2").render(**context)
    write_text(html_path, html)
    write_summary(xlsx_path, period_label=label, sections=sections, submissions=subs,
                  aggregates=agg, catalogue=cat, incomplete_note=INCOMPLETE_NOTE,
                  not_sent=not_sent, completeness=completeness)
    paths = {"html": html_path, "xlsx": xlsx_path, "charts": chart_dir}
    if pdf:
        from pipelines.pdf import PdfError, write_pdf

        try:
            write_pdf(html, out_dir / "bao_cao.pdf")
            paths["pdf"] = out_dir / "bao_cao.pdf"
        except PdfError:
            log.exception("the PDF of %s could not be made", period)
    return paths
