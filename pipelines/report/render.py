"""The leaders' report of a period run: `bao_cao.html`, `tong_hop.xlsx` and the charts.

Input is the run's contract frames (FORM.md section 6); nothing here reads files.
One section per content area in catalogue order (`tables`), its charts
(`plans`), the city's key figures on the first page, the completeness of
submissions, the findings by rule and a note on method. What is specific to this
programme is data (`schemas/data/report.toml`, read by `schemas.presentation`): the key
figures (`key_figure_specs`), the headlines and the charts (`plans.plan_for`).

At national scale (more districts than `plans.MAX_DISTRICTS`) the report shows
selections with a note where the full lists are (the summary workbook and the CSVs keep
everything): the areas' tables and charts (see `tables`), the completeness table
(the districts with something amiss), the files received (those not fully accepted or with
errors) and the names of districts that have not reported. The top level is named by the
registry: `Thành phố Hải Phòng` / `Toàn thành phố`, or `Cả nước`.

Speed: where the machine has two cores and can fork, a helper process (a fork of this one,
`pipelines/report/helper.py`) draws charts alongside this process, then the SVGs of all of
them and the summary workbook while this one makes the HTML and the PDF. Whatever the
helper fails at, this process does itself: the outputs are the same either way, byte for
byte.
"""
from __future__ import annotations

import logging
import math
import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from pipelines.report import claims, compare, drawing, narrative
from pipelines.report import helper as render_helper
from pipelines.report import plans
from pipelines.report import official
from pipelines.base.atomic import write_text
from pipelines.check.findings import shipped_rules
from pipelines.record.boundaries import boundary_changes
from pipelines.report.plans import MAX_DISTRICTS
from pipelines.report.tables import (  # noqa: F401  (re-exported: tests, summary workbook)
    CITY_ROW,
    MISSING,
    Cell,
    Chart,
    Column,
    Row,
    Section,
    Values,
    _attained,
    _basis,
    _change,
    _clean,
    _code_key,
    _districts,
    _is_flow,
    _section,
    _top_change,
    _unit_of,
    cat_label,
    fmt_value,
    in_sentence,
    subject,
    value_fmt,
)
from pipelines.base.text import vn_number
from schemas.catalogue import Catalogue, load_catalogue
from schemas.periods import Period, PeriodError, parse_period
from schemas.presentation import load_report_spec
from schemas.units import Registry, load_registry

if TYPE_CHECKING:
    from pipelines.check.targets import Targets

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_LISTED = 30  # at national scale: districts or files listed in the report, at most
INCOMPLETE_NOTE = compare.INCOMPLETE_NOTE_ANY  # where sums, rates and averages stand together
SEVERITY = {"error": "Lỗi", "warning": "Cảnh báo"}


def key_figure_specs() -> tuple[tuple[str, tuple[str, ...], str, str], ...]:
    """City key figures (`[[key_figures]]` of `schemas/data/report.toml`, read when asked):
    (title, codes, main text, detail text); `{n}` is codes[n] formatted. A code `A+B` is the
    sum of A and B. The first code gets the change column."""
    return tuple((k.title, k.codes, k.main, k.detail) for k in load_report_spec().key_figures)


def _key_figures(cat: Catalogue, values: Values, period: Period | None,
                 history: dict[Period, Values], goals: dict[tuple[str, str], float],
                 districts: dict[str, str], min_coverage: float, registry: Registry
                 ) -> list[dict]:
    top = registry.top_code
    out = []
    for title, codes, main, detail in key_figure_specs():
        if not all(c in cat.indicators or any(d.code == c for d in cat.derived)
                   for code in codes for c in code.split("+")):
            continue
        pairs = [values.get(registry.top_level, top, c) for c in codes]
        texts = [fmt_value(v, value_fmt(c, cat)) for c, (v, _) in zip(codes, pairs)]
        basis = _basis(period, history, codes[0], cat)
        change = None
        if basis is not None:
            sc = claims.scope(codes[0], cat, districts, registry, period)
            ch = claims.change(subject(codes[0], cat), values, history[basis.period], basis, cat,
                               sc, min_coverage)
            change = _key_change(ch, value_fmt(codes[0], cat))
        target = None
        if (top, codes[0]) in goals and period is not None:
            goal = goals[(top, codes[0])]
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


def _key_change(ch: claims.Change, fmt: str) -> str | None:
    """A key figure's change, from the same claim as the sentences: over the districts
    complete in both periods, which it names when fewer than all."""
    if not ch.stated:
        return f"Không so sánh với {ch.basis.phrase}: chỉ {narrative.coverage(ch)}"
    cell = _top_change(ch, fmt)
    if cell.missing:
        return None
    text = f"{cell.text} so với {ch.basis.phrase}"
    return text if ch.full else f"{text} (trên {narrative.coverage(ch)})"


def _targets_note(targets: "Targets | None", period: Period | None) -> dict | None:
    """What the method note says about the targets file: where from, how many used, problems."""
    if targets is None:
        return None
    used = len(targets.of(period.year)) if period is not None else 0
    return {"source": targets.source, "used": used, "problems": [str(p) for p in targets.problems]}


def _submissions(subs: pd.DataFrame, districts: dict[str, str]) -> list[dict]:
    from pipelines.check.submissions import STATUS_VI  # in a run already loaded; costly alone

    rows = []
    for r in subs.to_dict("records"):
        code = _text(r.get("district_code")).removesuffix(".0")
        status = _text(r.get("status"))
        rows.append({"code": code, "district": districts.get(code, code or MISSING),
                     "file": _text(r.get("file")), "status": STATUS_VI.get(status, status),
                     "state": status,
                     "errors": _count(r.get("errors")), "warnings": _count(r.get("warnings")),
                     "sha256": _text(r.get("sha256")), "period": _text(r.get("period"))})
    return sorted(rows, key=lambda r: (_code_key(r["code"]) if r["code"] else (10**10, ""),
                                       r["file"]))


def _files_shown(subs: list[dict], large: bool) -> tuple[list[dict], str]:
    """The files the report lists, and a note when not all: at national scale those not
    fully accepted or with errors, at most MAX_LISTED."""
    if not large:
        return subs, ""
    amiss = [s for s in subs if s["state"] != "accepted" or (s["errors"] or 0) > 0]
    where = "tệp submissions.csv và trang “Nộp báo cáo” của tong_hop.xlsx."
    if not amiss:
        return [], (f"Cả {vn_number(len(subs))} tệp đã nhận đều được tiếp nhận đầy đủ, không có "
                    f"lỗi. Danh sách: {where}")
    note = (f"Bảng chỉ nêu các tệp không được tiếp nhận đầy đủ hoặc có lỗi ({vn_number(len(amiss))} "
            f"trong tổng số {vn_number(len(subs))} tệp")
    if len(amiss) > MAX_LISTED:
        note += f"; {MAX_LISTED} tệp đầu tiên theo mã quận, huyện"
    return amiss[:MAX_LISTED], f"{note}). Danh sách đầy đủ: {where}"


def _names_text(names: list[str]) -> str:
    """Names joined for a sentence; at most MAX_LISTED, then how many more."""
    if len(names) <= MAX_LISTED:
        return ", ".join(names)
    return (", ".join(names[:MAX_LISTED])
            + f" và {vn_number(len(names) - MAX_LISTED)} quận, huyện khác")


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _count(value) -> int | None:
    try:
        num = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(num) or math.isinf(num) else int(num)


def _findings_by_rule(findings: pd.DataFrame) -> list[dict]:
    if findings.empty:
        return []
    f = findings.assign(rule=findings["rule"].map(_text),
                        severity=findings["severity"].map(_text))
    g = f.groupby(["rule", "severity"], sort=True).agg(
        n=("rule", "size"), files=("file", "nunique"), districts=("district_code", "nunique"))
    return [{"rule": rule, "title": shipped_rules().get(rule, ("", ""))[1],
             "severity": SEVERITY.get(sev, sev), "count": int(r.n), "files": int(r.files),
             "districts": int(r.districts)}
            for (rule, sev), r in g.iterrows()]


# Completeness statuses, most in need of attention first (at national scale the report lists
# only the districts with something amiss).
ATTENTION = {"missing": 0, "rejected": 1, "partial": 2, "accepted": 3}


def _reporting(frame: pd.DataFrame | None, large: bool = False) -> dict | None:
    """The completeness table as the report shows it (Vietnamese numbers and dates); at
    national scale (`large`) the districts not fully accepted on time, at most MAX_LISTED."""
    if frame is None or frame.empty:
        return None
    from pipelines.check.completeness import STATUS_TEXT

    def day(v) -> str:
        return v.strftime("%d/%m/%Y") if hasattr(v, "strftime") and not pd.isna(v) else "–"

    districts = frame[frame["level"] == "district"]
    note = ""
    if large:
        amiss = districts[(districts["status"] != "accepted") | (districts["on_time"] == 0)]
        amiss = amiss.iloc[sorted(range(len(amiss)), key=lambda i: (
            ATTENTION.get(amiss["status"].iloc[i], 4), i))]
        note = (f"Bảng chỉ nêu các quận, huyện chưa nộp, bị từ chối, tiếp nhận một phần hoặc "
                f"nộp quá hạn ({vn_number(len(amiss))} trong tổng số "
                f"{vn_number(len(districts))} quận, huyện")
        if len(amiss) > MAX_LISTED:
            note += f"; {MAX_LISTED} quận, huyện đầu tiên, chưa nộp trước"
        note += ("). Danh sách đầy đủ: tệp completeness.csv và trang “Tiến độ nộp” của "
                 "tong_hop.xlsx.")
        districts = amiss.head(MAX_LISTED)
    rows = [{"name": r.district_name, "files": vn_number(r.files), "received": day(r.first_received),
             "on_time": "Đúng hạn" if r.on_time else ("Quá hạn" if r.received else "–"),
             "status": STATUS_TEXT.get(r.status, r.status),
             "sheets": f"{r.sheets_accepted}/{r.sheets_expected}" if r.sheets_expected else "–"}
            for r in districts.itertuples(index=False)]
    city = frame[frame["level"] == "city"].iloc[0]
    rate = lambda v: "–" if pd.isna(v) else f"{vn_number(v, 1)}\u00a0%"  # noqa: E731  (no break)
    return {"rows": rows, "note": note, "deadline": day(city["deadline"]),
            "expected": int(city["expected"]),
            "received": int(city["received"]), "on_time": int(city["on_time"]),
            "accepted": int(city["accepted"]), "partial": int(city["partial"]),
            "rejected": int(city["rejected"]), "missing": int(city["missing"]),
            "reporting_rate": rate(city["reporting_rate"]), "on_time_rate": rate(city["on_time_rate"]),
            "accepted_rate": rate(city["accepted_rate"])}


def _status_counts(subs: list[dict]) -> dict[str, int]:
    from pipelines.check.submissions import STATUS_VI

    counts: dict[str, int] = {}
    for s in subs:
        counts[s["status"]] = counts.get(s["status"], 0) + 1
    order = list(STATUS_VI.values())
    return dict(sorted(counts.items(), key=lambda kv: (order.index(kv[0])
                                                       if kv[0] in order else len(order))))


def _changes_shown(registry: Registry, per: Period | None, hist: dict) -> list:
    """The boundary changes between the earliest period shown and `per`."""
    if per is None or not hist:
        return []
    return boundary_changes(registry, [*hist, per])


def _district_of(registry: Registry, per: Period | None) -> dict[str, str]:
    """Unit code -> its district's name in `per`."""
    if per is None:
        return {}
    return {u.code: d.name for d in registry.districts(per) for u in registry.units(d.code, per)}


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
                catalogue: Catalogue | None = None, targets: "Targets | None" = None,
                registry: Registry | None = None, min_coverage: float | None = None
                ) -> list[dict]:
    """The city's key figures of a period, as the report's first page shows them."""
    registry = registry or load_registry()
    per = parse_period(period)
    agg = _clean(aggregates)
    goals = targets.of(per.year) if targets is not None else {}
    agg = agg[agg["period"] == str(period)]
    districts = _districts(agg, pd.DataFrame({"district_code": []}), per, registry)
    return _key_figures(catalogue or load_catalogue(), Values(agg), per,
                        _history_values(history, per), goals, districts,
                        _min_coverage(min_coverage), registry)


def _min_coverage(given: float | None) -> float:
    """The share of districts complete in both periods below which no change is stated: as
    given (the setting `min_coverage`, THONGKE_MIN_COVERAGE), else `schemas/data/report.toml`."""
    return load_report_spec().min_coverage if given is None else given


def render_report(period: str, aggregates: pd.DataFrame, submissions: pd.DataFrame,
                  findings: pd.DataFrame, out_dir: Path, *, catalogue: Catalogue | None = None,
                  history: pd.DataFrame | None = None,
                  completeness: pd.DataFrame | None = None,
                  targets: "Targets | None" = None, pdf: bool = True,
                  min_coverage: float | None = None, registry: Registry | None = None,
                  official_path: Path | None = None, helper: bool = True,
                  unit_series: pd.DataFrame | None = None) -> dict[str, Path]:
    """Write `bao_cao.html`, `bao_cao.pdf` (unless `pdf` is False), `tong_hop.xlsx` and
    `charts/*.png|svg` into `out_dir`. `unit_series`: the series of the units a boundary
    change made (`record.series.changed_units_table`), a sheet of the workbook. A PDF that cannot be made is logged and left out:
    the HTML and the workbook still stand."""
    from pipelines.report.summary_xlsx import write_summary

    cat = catalogue or load_catalogue()
    out_dir = Path(out_dir)
    chart_dir = out_dir / "charts"
    chart_dir.mkdir(parents=True, exist_ok=True)
    try:
        per: Period | None = parse_period(period)
        label = per.label
    except PeriodError:
        per, label = None, str(period)
    registry = registry or load_registry()
    agg = _clean(aggregates)
    in_period = agg["period"] == str(period)
    units = agg[in_period & (agg["level"] == "unit")]
    if in_period.any() and not in_period.all():  # no copy (857,000 rows nationally) when
        agg = agg[in_period]  # every row is of the period
    hist = _history_values(history, per)
    values = Values(agg)
    districts = _districts(agg, submissions, per, registry)
    large = len(districts) > MAX_DISTRICTS
    goals = targets.of(per.year) if targets is not None and per is not None else {}
    inputs = plans.Inputs(
        catalogue=cat, values=values, history=hist, period=per, label=label, districts=districts,
        units=units, registry=registry if per is not None else None,
        label_of=lambda c: cat_label(c, cat), unit_of=lambda c: _unit_of(c, cat),
        fmt_of=lambda c: value_fmt(c, cat), is_flow=lambda c: _is_flow(c, cat), chart_dir=chart_dir,
        top_label=registry.top_label, top_code=registry.top_code, top_level=registry.top_level)
    share = _min_coverage(min_coverage)
    sections = [_section(s, cat, values, districts, per, label, hist, None, goals, registry,
                         share) for s in cat.sheets]
    subs = _submissions(submissions, districts)
    sent = {s["code"] for s in subs}
    not_sent = [n for c, n in districts.items() if c not in sent]
    html_path, xlsx_path = out_dir / "bao_cao.html", out_dir / "tong_hop.xlsx"

    def workbook() -> None:
        write_summary(xlsx_path, period_label=label, sections=sections, submissions=subs,
                      aggregates=agg, catalogue=cat, incomplete_note=INCOMPLETE_NOTE,
                      not_sent=not_sent, completeness=completeness,
                      top_label=registry.top_label, unit_series=unit_series)

    jobs = _chart_jobs(cat, sections)
    helper = (render_helper.Helper.start(jobs, inputs, workbook)
              if helper and render_helper.can_fork(len(jobs)) else None)
    later: list = []  # (figure, path): SVGs the helper draws while this process makes the PDF
    try:
        if helper is None:
            drawn = render_helper.draw(jobs, inputs)
        else:
            with drawing.svg_later() as later:
                drawn = render_helper.draw(jobs, inputs, helper.counter)
            theirs = helper.charts()
            drawn.update(theirs)
            helper.send_figures(later)
        for k, (_, sheet, name, spec) in enumerate(jobs):  # any the helper could not draw
            if k not in drawn:
                drawn[k] = plans.draw_one(sheet, name, spec, inputs)
        for k in sorted(drawn, key=lambda k: (jobs[k][0], jobs[k][2])):  # area, then plan order
            if (d := drawn[k]) is not None:
                sections[jobs[k][0]].charts.append(Chart(d.name, d.uri, d.alt))
        names = {d.name for d in drawn.values() if d is not None}
        for stale in chart_dir.iterdir():  # charts of an earlier run that this one did not draw
            if stale.suffix in (".png", ".svg") and stale.stem not in names:
                stale.unlink()
        files, files_note = _files_shown(subs, large)
        context = {
            "period": str(period), "period_label": label,
            "top_name": registry.top_name, "top_label": registry.top_label,
            "top_in_sentence": in_sentence(registry.top_label),
            "key_figures": _key_figures(cat, values, per, hist, goals, districts, share,
                                        registry),
            "sections": sections,
            "comparison_lines": compare.method_lines(per, hist, share,
                                                     in_sentence(registry.top_label)),
            "boundary_lines": compare.boundary_lines(_changes_shown(registry, per, hist),
                                                     _district_of(registry, per)),
            "submissions": files, "submissions_note": files_note, "n_submissions": len(subs),
            "findings": _findings_by_rule(findings),
            "not_sent": not_sent, "not_sent_text": _names_text(not_sent),
            "status_counts": _status_counts(subs),
            "incomplete_note": INCOMPLETE_NOTE, "n_findings": len(findings),
            "reporting": _reporting(completeness, large),
            "targets": _targets_note(targets, per),
            "official": official.load(official_path, made=date.today(),
                                      other_units=registry.source is not None),
        }
        html = _template("report.html.j2").render(**context)
        write_text(html_path, html)
        paths = {"html": html_path, "xlsx": xlsx_path, "charts": chart_dir}
        if pdf:
            from pipelines.report.pdf import PdfError, write_pdf

            try:
                write_pdf(html, out_dir / "bao_cao.pdf")
                paths["pdf"] = out_dir / "bao_cao.pdf"
            except PdfError:
                log.exception("the PDF of %s could not be made", period)
        if helper is not None:
            done = helper.finish()
            svgs, book = (set(done["svgs"]), done["workbook"]) if done else (set(), False)
            if done and done["problems"]:
                log.warning("the render helper failed; done here instead:\n%s",
                            "\n".join(done["problems"]))
            for fig, stem in later:  # what the helper did not do, done here
                if str(stem) not in svgs:
                    drawing.write_svg(fig, stem)
            for k in theirs:
                if str(chart_dir / jobs[k][2]) not in svgs and theirs[k] is not None:
                    plans.draw_one(*jobs[k][1:], inputs)
        if helper is None or not book:
            workbook()
    finally:
        if helper is not None:
            helper.close()
    return paths


# -- the charts to draw --------------------------------------------------------------------------

# Rough cost of a chart kind, for the order of drawing: the costly first, so that the two
# processes (this one and the render helper, `pipelines.report.helper`) end together.
COST = {"Bars": 3, "Stack": 3, "Bands": 3, "Trend": 2, "Criteria": 2}


def _chart_jobs(cat: Catalogue, sections: list[Section]) -> list[tuple[int, object, str, object]]:
    """Every chart of the report: (section index, sheet, file name, spec), costly first."""
    out = []
    for i, (sheet, sec) in enumerate(zip(cat.sheets, sections)):
        hfmt = value_fmt(sec.headline, cat) if sec.headline else "int"
        plan = plans.plan_for(sheet.key, sec.headline, hfmt)
        out += [(i, sheet, name, spec) for name, spec in plans.jobs(sheet, plan)]
    return sorted(out, key=lambda j: -_cost(j))  # stable


def _cost(job) -> float:
    return COST.get(type(job[3]).__name__, 3)


@lru_cache(maxsize=None)
def _template(name: str):
    """A template of `templates/`, compiled once per process."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["vn"] = vn_number  # every count a reader sees: `1.234`
    return env.get_template(name)
