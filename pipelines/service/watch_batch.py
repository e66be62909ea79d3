"""One batch of the watcher (`pipelines/service/watch.py`): a period folder checked after
some of its files changed, and the feedback of the districts they touch rewritten
(`check_and_write`, called by `watch.handle` under the period's lock).

- What is checked: every file of the period folder but temporary ones (`period_files`,
  `is_temporary`), like the period's run (statuses need them all: the newest `Ngày lập`
  wins, byte-identical files are duplicates), with the one-workbook rules cached by (name,
  sha256, mtime) so a batch only reads what changed (`Cache`). The history rules (R14-R16)
  are computed as the run computes them: earlier periods from the record, peers from the
  folder's counted workbooks; so the watcher's feedback is what the triggered run will
  write. A record locked by a running job is retried once, then the history rules are left
  out for that batch (logged).
- What is written: the feedback of the districts touched by the batch only (the changed
  files' districts, now and at their previous check); other districts' folders are left
  alone. Files of no known district touch `khong_xac_dinh/`.
- Deletions: a deleted workbook whose district this watcher has seen is dropped from that
  district's feedback (its summary is rewritten, stale marked copies removed); one never
  seen is ignored (the next run accounts for it).
- A changed workbook that still cannot be read (R18: a half-written zip) is checked once
  more after `retry_wait` seconds before reporting.
"""
from __future__ import annotations

import logging
import os
import time
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipelines.settings import Settings

log = logging.getLogger(__name__)

TEMP_SUFFIXES = frozenset({".tmp", ".temp", ".crdownload", ".part", ".partial", ".download",
                           ".filepart", ".swp"})

_sleep = time.sleep  # tests replace it to finish a half-written file "during" the wait


def is_temporary(name: str) -> bool:
    """A name that editors, office suites, browsers and copy tools use for files that are
    not (yet) a submission: Excel's owner file `~$…` and `~WRL….tmp`, LibreOffice's
    `.~lock.…#`, Emacs' `.#…`, any hidden dotfile, `~…` and `…~` backups, partial downloads
    and copies (`*.crdownload`, `*.part`, `*.tmp`, …)."""
    name = unicodedata.normalize("NFC", name).strip()
    if not name or name.startswith((".", "~")) or name.endswith(("~", "#")):
        return True
    return os.path.splitext(name)[1].lower() in TEMP_SUFFIXES


@dataclass
class Cache:
    """What a watcher remembers between batches: each file's one-workbook check result
    (reused while its sha256 and mtime are the same), and its district at its last check."""

    results: dict[tuple[str, str], object] = field(default_factory=dict)  # (period, name)
    districts: dict[tuple[str, str], str] = field(default_factory=dict)

    def get(self, period: str, name: str, sha256: str, mtime: float):
        """The one-workbook result of this file's content, or None."""
        r = self.results.get((period, name))
        return r if r is not None and (r.sha256, r.mtime) == (sha256, mtime) else None

    def forget_missing(self, period: str, names: set[str]) -> None:
        for key in [k for k in self.results if k[0] == period and k[1] not in names]:
            del self.results[key]


class _OnlyDistricts:
    """A registry view whose period districts are only `codes` (everything else is the
    registry's), so `feedback.write_feedback` writes those districts' folders only."""

    def __init__(self, registry, codes: set[str]):
        self._registry, self._codes = registry, codes

    def districts(self, period):
        return [d for d in self._registry.districts(period) if d.code in self._codes]

    def __getattr__(self, name):
        return getattr(self._registry, name)


def period_files(folder: Path) -> list[Path]:
    """Every file the watcher checks in a period folder: all regular files under it, as
    the run lists them, except temporary ones and those in hidden folders."""
    if not folder.is_dir():
        return []
    out = []
    for p in folder.rglob("*"):
        rel = p.relative_to(folder).parts
        if is_temporary(p.name) or any(x.startswith(".") for x in rel[:-1]):
            continue
        if p.is_file():
            out.append(p)
    return sorted(out, key=str)


def _check(path: Path, name: str, period, settings: Settings):
    """One file, as the run checks it (`pipelines.check.batches.check`: the programme and
    the limits of `settings`)."""
    from pipelines.check import batches

    return batches.check([(str(path), name)], str(period), settings)[0]


def _read_record(settings: Settings) -> tuple[object, bool]:
    """Every accepted value on record (None when there is no record yet); `False` when the
    record exists but cannot be read now (locked by a running job)."""
    from pipelines.record import db as record

    db = settings.record_path
    if not db.exists():
        return None, True
    for attempt in (1, 2):
        try:
            return record.read_values(db, wait=settings.record_timeout), True
        except Exception as exc:  # a DuckDB lock held by a running period job
            if attempt == 2:
                log.warning("record %s not readable (%s): history rules left out", db, exc)
            else:
                _sleep(0.5)
    return None, False


def check_and_write(per, folder: Path, changed: dict[str, Path], settings: Settings,
                     cache: Cache, retry_wait: float, name_of) -> list[dict]:
    """`watch.handle`'s work under the period's lock, so that a run of the period and the
    watcher never write its feedback at once, and the watcher's is never older than the
    run's. `changed`: name (relative to the period folder, `name_of`) -> path; returns one
    dict per changed name (see `watch.handle`)."""
    from pipelines.check import period as period_checks
    from pipelines.check.submissions import decide_statuses
    from pipelines.feedback import folders as feedback
    from pipelines.read.workbook import sha256_of

    period = str(per)
    programme = settings.programme()
    registry = programme.registry
    files = period_files(folder)
    names = {name_of(p) for p in files}
    results = []
    for path in files:
        name = name_of(path)
        try:
            cached = cache.get(period, name, sha256_of(path), path.stat().st_mtime)
        except OSError:
            cached = None
        if cached is None:
            cached = _check(path, name, per, settings)
            if name in changed and any(f.rule == "R18" for f in cached.findings) and retry_wait:
                _sleep(retry_wait)  # perhaps still being written: once more before reporting
                cached = _check(path, name, per, settings)
            cached.values()  # computed once, and kept by the copies below
            cache.results[(period, name)] = cached
        results.append(replace(cached, findings=list(cached.findings)))  # history adds to a copy
    cache.forget_missing(period, names)

    statuses = decide_statuses(results)
    by_name = {r.file: r for r in results}
    districts = {d.code: d for d in registry.districts(per)}

    def code_of(r) -> str:  # "" is the folder of files of no known district
        return r.district_code if r.district_code in districts else ""

    before = {name: cache.districts.get((period, name)) for name in changed}
    touched = {code for code in before.values() if code is not None}
    touched |= {code_of(by_name[name]) for name in changed if name in by_name}
    for key in [k for k in cache.districts if k[0] == period and k[1] not in names]:
        del cache.districts[key]
    for r in results:
        cache.districts[(period, r.file)] = code_of(r)

    # R14-R16 as the run computes them, for the workbooks whose feedback is rewritten
    mine = [r for r in results if code_of(r) in touched]
    on_record, history_ok = _read_record(settings)
    period_checks.add_history(mine, per, programme, on_record, among=results)

    out_dir = settings.reports_dir / period / "phan_hoi"
    feedback.write_feedback(out_dir, period, mine, statuses, folder,
                            _OnlyDistricts(registry, touched - {""}), settings.limits)
    if "" in touched and not any(code_of(r) == "" for r in mine):
        _clear_unknown(out_dir / feedback.UNKNOWN_FOLDER)

    def folder_of(code: str | None) -> Path | None:
        if code is None:
            return None
        if code in districts:
            return out_dir / feedback.folder_name(code, districts[code].name)
        return out_dir / feedback.UNKNOWN_FOLDER

    report = []
    for name in sorted(changed):
        r = by_name.get(name)
        if r is None:  # deleted (or gone again before we looked): its district as last seen
            code = before[name]
            report.append({"file": name, "period": period, "sha256": "",
                           "district_code": code or "",
                           "district_name": districts[code].name if code in districts else "",
                           "status": "", "errors": 0, "warnings": 0,
                           "feedback": folder_of(code), "deleted": True, "history": history_ok})
            continue
        code = code_of(r)
        report.append({"file": name, "period": period, "sha256": r.sha256,
                       "district_code": r.district_code,
                       "district_name": districts[code].name if code else "",
                       "status": statuses[name], "errors": r.errors, "warnings": r.warnings,
                       "feedback": folder_of(code), "deleted": False, "history": history_ok})
    return report


def _clear_unknown(folder: Path) -> None:
    """The files of no known district are all gone or fixed: remove what feedback wrote for
    them (`write_feedback` writes no `khong_xac_dinh/` then, and would leave the old one)."""
    from pipelines.feedback.folders import COPY_NAME, SUMMARY_NAME

    if not folder.is_dir():
        return
    for old in folder.iterdir():
        if old.name == SUMMARY_NAME or COPY_NAME.fullmatch(old.name):
            old.unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:
        pass  # something else is in it: leave it
