"""Checking a period's files, with the record's history: the one path that the period flow,
the daily check (`validate-arrivals`), the watcher and `thongke check` go through.

- `list_files`: every file of a period folder (nothing skipped: every file is accounted for);
- `discover` and `check_batch`: which files need reading (the check cache: content hash and
  rules' version, `pipelines/base/cache.py`) and the reading of a batch, where the settings
  say (this process or the worker pool, `batches`);
- `add_history`: R14-R16, against the earlier periods on record and the period's peers;
- `period_tables`: what counts (submissions, sheet statuses, values, findings, completeness);
- `check_one`: one workbook alone, its peers on record (`thongke check`).
- `accepted_values`: the values and accepted sheets of the tables, which aggregation sums.

The Prefect tasks in `pipelines/flows.py` and the watcher (`pipelines/service/watch.py`) do
the I/O around these; the rules are in `checker`, `rules` and `history`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from pipelines.base import cache
from pipelines.check import batches, history
from pipelines.check.completeness import completeness
from pipelines.check.result import ACCEPTED, WorkbookResult
from pipelines.check.submissions import (
    counted_results,
    decide_statuses,
    findings_frame,
    submissions_frame,
)
from pipelines.read.workbook import sha256_of
from pipelines.settings import RECORD_TIMEOUT, Limits, Settings
from schemas.periods import Period, parse_period
from schemas.programme import Programme, load_programme

SHEET_COLUMNS = ["district_code", "sheet", "status", "file", "sha256"]
VALUE_COLUMNS = ["district_code", "unit_code", "sheet", "indicator", "value", "cell", "file",
                 "sha256"]


def list_files(folder: Path) -> list[Path]:
    """Every regular file under the period folder, in name order (nothing is skipped)."""
    return sorted((p for p in Path(folder).rglob("*") if p.is_file()), key=lambda p: str(p))


# ----------------------------------------------------------------------- reading the files

@dataclass(frozen=True)
class Discovered:
    files: list[batches.FileToCheck]  # every file of the folder, with its cache key
    cached: dict[str, WorkbookResult]  # cache key -> the result of an unchanged file


def discover(raw_period: Path, period: str, settings: Settings, programme: Programme,
             known: dict[str, str], refresh: bool = False) -> Discovered:
    """Every file of the period folder with its cache key and a label for its task (the
    district it came from last time its content was seen, `known`: sha256 -> district code,
    or `mới`: new), and the cached results of the files that have not changed (none with
    `refresh`)."""
    root = Path(raw_period)
    names = {d.code: d.name for d in programme.registry.districts(parse_period(period))}
    limits = settings.limits
    files, cached = [], {}
    store = batches.cache_dir(settings.reports_dir)
    for p in list_files(root):
        name = str(p.relative_to(root))
        try:
            content = sha256_of(p)
        except OSError:
            content = ""
        code = known.get(content, "")
        who = f"{code} {names.get(code, '')}".strip() if code else "mới"
        key = cache.check_key_of(content, name, period, limits.max_file_mb, limits.max_rows,
                                 limits.max_unpacked_mb, settings.units_path,
                                 settings.checks_path)
        files.append(batches.FileToCheck(str(p), name, f"{who} – {name}", key))
        hit = None if refresh or not content else batches.load_cached(store, key)
        if hit is not None:
            cached[key] = hit
    return Discovered(files, cached)


def check_batch(files: list[batches.FileToCheck], period: str, settings: Settings,
                workers: int = 0) -> list[WorkbookResult]:
    """Check a batch of files (in this process, or in the worker pool) and cache each result
    (not a file that could not even be opened: it is looked at again)."""
    results = batches.check_in(workers, [(f.path, f.name) for f in files], period, settings)
    store = batches.cache_dir(settings.reports_dir)
    for f, result in zip(files, results):
        if result.sha256:
            batches.store(store, f.key, result)
    return results


# ------------------------------------------------------------------------- the history

def add_history(results: list[WorkbookResult], per: Period, programme: Programme,
                on_record: pd.DataFrame | None, among: list[WorkbookResult] | None = None
                ) -> list[WorkbookResult]:
    """R14-R16 added to `results`: each workbook against the earlier periods' values on
    record (`on_record`, every accepted value: `record.read_values`; None: no record) and the
    period's peers, the counted workbooks of `among` (default: `results` themselves)."""
    group = results if among is None else among
    peers = history.peer_values(counted_results(group, decide_statuses(group)))
    return _add_history(results, per, programme, on_record, peers)


def _add_history(results: list[WorkbookResult], per: Period, programme: Programme,
                 on_record: pd.DataFrame | None, peers: pd.DataFrame) -> list[WorkbookResult]:
    """R14-R16 added to `results` against the record's earlier periods and `peers`."""
    context = history.Context.of(per, programme.registry)
    if on_record is not None:
        context.earlier = history.earlier_values(on_record, per)
        context.own_history = history.on_current_boundaries(
            context.earlier, per, programme.registry, programme.catalogue)
    context.peers = peers
    history.add_history_findings(results, context, programme.catalogue, programme.checks)
    return results


# -------------------------------------------------------------------------- the tables

def period_tables(results: list[WorkbookResult], period: str,
                  programme: Programme | None = None, deadline: str | None = None) -> dict:
    """What a period's run records and writes: submissions, sheet statuses, values,
    findings, and the completeness table (deadline: ISO date, default from the thresholds
    file; `programme` default: Hải Phòng's, `schemas/data/`)."""
    programme = programme or load_programme()
    per = parse_period(period)
    due = date.fromisoformat(deadline) if deadline else programme.checks.deadline.of(per)
    statuses = decide_statuses(results)
    counted = counted_results(results, statuses)
    sheets, values = [], []
    for r in counted:
        for s in r.sheets.values():
            sheets.append({"district_code": r.district_code, "sheet": s.key, "status": s.status,
                           "file": r.file, "sha256": r.sha256})
        v = r.values()
        if not v.empty:
            values.append(v.assign(district_code=r.district_code, file=r.file, sha256=r.sha256))
    return {
        "submissions": submissions_frame(results, statuses, period),
        "sheets": pd.DataFrame(sheets, columns=SHEET_COLUMNS),
        "values": (pd.concat(values, ignore_index=True)[VALUE_COLUMNS] if values
                   else pd.DataFrame(columns=VALUE_COLUMNS)),
        "findings": findings_frame(results),
        "completeness": completeness(results, statuses, programme.registry, per, due),
        "statuses": statuses,
    }


def accepted_values(tables: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, accepted sheets) of the period's tables: what aggregation sums, the very
    rows the record keeps."""
    values = tables["values"][["district_code", "unit_code", "sheet", "indicator", "value"]]
    sheets = tables["sheets"]
    accepted = sheets.loc[sheets["status"] == ACCEPTED, ["district_code", "sheet"]]
    return values.reset_index(drop=True), accepted.reset_index(drop=True)


# ------------------------------------------------------------------------- one workbook

def check_one(path: Path, record_path: Path | None, *, programme: Programme | None = None,
              limits: Limits = Limits(), wait: float = RECORD_TIMEOUT,
              expected_period: Period | None = None, name: str | None = None) -> WorkbookResult:
    """Every rule for one workbook, the history rules against the record at `record_path`
    when there is one. Its peers are the other districts' accepted values of the same period
    on record, and the workbook's own units. Raises `record.RecordBusy` when the record stays
    in use for longer than `wait` seconds (the settings' `record_timeout`)."""
    from pipelines.check.checker import check_workbook

    programme = programme or load_programme()
    result = check_workbook(Path(path), catalogue=programme.catalogue,
                            registry=programme.registry, expected_period=expected_period,
                            name=name, checks=programme.checks, max_file_mb=limits.max_file_mb,
                            max_rows=limits.max_rows, max_unpacked_mb=limits.max_unpacked_mb)
    if not result.period or not result.district_code:
        return result
    per = parse_period(result.period)
    on_record, peers = None, history.peer_values([result])
    if record_path is not None and Path(record_path).exists():
        from pipelines.record import db as record  # duckdb: only when there is a record to read

        on_record = record.read_values(Path(record_path), wait=wait)
        same = on_record[(on_record["period"] == str(per))
                         & (on_record["district_code"] != result.district_code)]
        peers = pd.concat([same[history.PEER_COLUMNS], peers], ignore_index=True)
    return _add_history([result], per, programme, on_record, peers)[0]
