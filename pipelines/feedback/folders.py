"""Feedback to the districts: for each district of the period a folder with a one-page
summary (`tom_tat.html`: what was accepted, what was rejected and why, what to fix and
resend) and a marked-up copy of each of its workbooks with findings (`pipelines.feedback.annotate`).
They are sent as they are, so all text a person reads is Vietnamese.

Nothing from a workbook becomes markup or a path: the summary is rendered with Jinja2
autoescape, and output paths come from the registry and counters only.
"""
from __future__ import annotations

import logging
import os
import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.check.findings import rule_title
from pipelines.feedback.annotate import annotate_copy, period_label
from pipelines.base.atomic import write_text
from pipelines.check.findings import Finding
from pipelines.base.text import vn_number
from pipelines.read.limits import Limits
from schemas.names import ascii_fold
from schemas.periods import parse_period

if TYPE_CHECKING:
    from pipelines.check.result import WorkbookResult

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"
UNKNOWN_FOLDER = "khong_xac_dinh"
SUMMARY_NAME = "tom_tat.html"
COPY_NAME = re.compile(r"\d+_danh_dau\.xlsx")
MAX_PER_SHEET = 15


def folder_name(code: str, name: str) -> str:
    """`315`, `Huyện Tiên Lãng` -> `315_huyen_tien_lang` (registry text only, never a file's)."""
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_fold(name)).strip("_")
    return f"{code}_{slug}" if slug else code



# --------------------------------------------------------------------------- summary


def _groups(findings: list[Finding]) -> list[dict]:
    """Findings grouped by sheet (in order), each capped at MAX_PER_SHEET."""
    by_sheet: dict[str, list[Finding]] = {}
    for f in findings:
        by_sheet.setdefault(f.sheet, []).append(f)
    return [{"sheet": sheet or "Toàn tệp", "items": items[:MAX_PER_SHEET],
             "more": vn_number(len(items) - MAX_PER_SHEET) if len(items) > MAX_PER_SHEET else ""}
            for sheet, items in by_sheet.items()]


def _file_view(r: "WorkbookResult", status: str, copy_name: str | None) -> dict:
    from pipelines.check.submissions import DUPLICATE, STATUS_VI, SUPERSEDED

    rules = {f.rule for f in r.findings}
    return {
        "file": r.file, "status": STATUS_VI.get(status, status), "state": status,
        "counted": status not in (SUPERSEDED, DUPLICATE),
        "made_on": r.made_on.strftime("%d/%m/%Y") if r.made_on else "",
        "errors": vn_number(r.errors), "warnings": vn_number(r.warnings),
        "marked": copy_name, "no_copy": bool(r.findings) and copy_name is None,
        "unreadable": "R18" in rules, "cover": "R05" in rules,
        "accepted": [s.name for s in r.sheets.values() if s.status == "accepted"],
        "rejected": [s.name for s in r.sheets.values() if s.status == "rejected"],
        "error_groups": _groups([f for f in r.findings if f.is_error]),
        "warning_groups": _groups([f for f in r.findings if not f.is_error]),
    }


def render_district_summary(period: str, district_code: str, district_name: str,
                            results: list["WorkbookResult"], statuses: dict[str, str],
                            copies: dict[str, str | None] | None = None) -> str:
    """One district's one-page summary (HTML). `district_code` "" is the page of the files
    whose district is unknown; `copies` maps a result's file to its marked copy's name."""
    copies = copies or {}
    label = period_label(period)
    views = [_file_view(r, statuses.get(r.file, r.status), copies.get(r.file))
             for r in sorted(results, key=lambda r: r.file)]
    unknown = not district_code
    heading = ("Tệp chưa xác định được đơn vị gửi" if unknown
               else f"{district_name} (mã {district_code})")
    return _summary_template().render(
        heading=heading, district_name=district_name, period_label=label, unknown=unknown,
        made=date.today().strftime("%d/%m/%Y"), files=views, rule_title=rule_title)


@lru_cache(maxsize=1)
def _summary_template():
    """The summary page's template, compiled once per process (not once per district)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("district_summary.html.j2")


# --------------------------------------------------------------------------- writing


def write_feedback(out_dir: Path, period: str, results: list["WorkbookResult"],
                   statuses: dict[str, str], raw_period_dir: Path, registry,
                   limits: Limits = Limits()) -> dict[str, list[Path]]:
    """One folder per district of the period (and `khong_xac_dinh/` for files of no known
    district): `tom_tat.html` and `<n>_danh_dau.xlsx` per workbook with findings."""
    out_dir, raw_period_dir = Path(out_dir), Path(raw_period_dir)
    districts = registry.districts(parse_period(period))
    by_code: dict[str, list[WorkbookResult]] = {d.code: [] for d in districts}
    unknown: list[WorkbookResult] = []
    for r in sorted(results, key=lambda r: r.file):
        (by_code[r.district_code] if r.district_code in by_code else unknown).append(r)
    jobs = [(folder_name(d.code, d.name), d.code, d.name, by_code[d.code]) for d in districts]
    if unknown:
        jobs.append((UNKNOWN_FOLDER, "", "", unknown))
    return {folder: _write_folder(out_dir / folder, period, code, name, rs, statuses,
                                  raw_period_dir, limits) for folder, code, name, rs in jobs}


def _write_folder(folder: Path, period: str, code: str, name: str, results: list["WorkbookResult"],
                  statuses: dict[str, str], raw_period_dir: Path, limits: Limits
                  ) -> list[Path]:
    written: list[Path] = []
    copies: dict[str, str | None] = {}
    for r in results:
        if not r.findings:
            continue
        copies[r.file] = None
        source = Path(os.path.normpath(raw_period_dir / r.file))
        if not source.is_relative_to(os.path.normpath(raw_period_dir)):
            continue  # `file` names a file inside the period folder, nothing else
        dest = folder / f"{len(written) + 1}_danh_dau.xlsx"
        try:
            made = annotate_copy(source, dest, r, statuses.get(r.file, r.status), period=period,
                                 limits=limits)
        except Exception:  # one odd workbook must cost its copy, not the run
            log.exception("marking a copy of %s failed", r.file)
            made = None
        if made is not None:
            copies[r.file] = made.name
            written.append(made)
    summary = folder / SUMMARY_NAME
    write_text(summary, render_district_summary(period, code, name, results, statuses, copies))
    written.append(summary)
    for old in folder.iterdir():  # marked copies left by an earlier run of the period
        if COPY_NAME.fullmatch(old.name) and old not in written:
            old.unlink()
    return written
