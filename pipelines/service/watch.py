"""Event-driven checking: a watcher on `raw/` that, when a workbook lands or changes in a
period folder, checks it at once, rewrites that district's feedback (`phan_hoi/<folder>/`)
and emits a Prefect event (`EVENT`) a deployment trigger can use to rerun the period.

Shape: `relevant`, `group_changes`, `event_payload` and `describe` are pure; `handle` does
one period's I/O (under the period's lock, the batch's check and feedback:
`pipelines/service/watch_batch.py`; then the event); `watch` is the loop.

Choices:
- What triggers: a workbook (`.xlsx`, `.xlsm`, `.xls`) directly in or under a period folder
  named canonically (`raw/2017/`, `raw/2017-H1/Tiên Lãng/`), never a temp or lock file
  (`~$…`, `.~lock.…#`, `*.tmp`, `.#…`, hidden files or folders, `~…`, `*.crdownload`,
  `*.part`). Other files (a PDF, a photo of the form) do not trigger: the period's run
  accounts for every file (R18), and the event starts that run for the next workbook.
  The targets file in the raw root (`raw/muc_tieu.xlsx`) is not watched.
- What is checked and written, deletions: see `pipelines/service/watch_batch.py` (every file
  of the period folder but temporary ones, like the run; the feedback of the districts the
  batch touches only). Checking and writing hold the period's lock (`pipelines.base.lock`),
  like a run: while a run of the period is going, the watcher waits for it (so a run that
  started before the file came never overwrites the watcher's newer feedback with its older
  view).
- A file still being written: the watcher waits for `step_ms` of quiet (at most
  `debounce_ms`) before handling a batch; a changed workbook that still cannot be read (R18:
  a half-written zip) is checked once more after `retry_wait` seconds before reporting.
- Events: one per period and batch, after its feedback is written. Sent only when a Prefect
  API is configured (`PREFECT_API_URL`): with none, `prefect.events.emit_event` starts a
  temporary server inside the call (13-24 s measured) that nobody listens to and that dies
  with the process, so the watcher logs once and skips. A failure to send is logged, never
  raised.
- Folders: a folder copied or moved into `raw/<period>/` is expanded into its workbooks (its
  files may land before the new folder is watched). On a network share where the system
  sends no change notifications, set `WATCHFILES_FORCE_POLLING=1` (or `force_polling=True`).
"""
from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path
from typing import Callable, Iterable

from pipelines.service.watch_batch import Cache, check_and_write, is_temporary
from pipelines.settings import Settings, get_settings
from schemas.periods import PeriodError, parse_period

log = logging.getLogger(__name__)

EVENT = "thongke.submission.changed"
WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls"})
RETRY_WAIT = 1.0  # seconds before checking an unreadable (perhaps half-written) workbook again


# --------------------------------------------------------------------------- pure helpers


def _parts_under(path: Path, raw_dir: Path) -> tuple[str, ...] | None:
    """The path's parts below raw_dir (pure: no resolving of links), or None."""
    try:
        rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(raw_dir))
    except ValueError:
        return None
    return rel.parts


def period_of_folder(name: str) -> str | None:
    """The period of a folder under raw/ when its name is the period written canonically
    (`2017`, `2017-H1`, the folder the period's run reads), else None."""
    try:
        period = str(parse_period(name))
    except (PeriodError, ValueError):
        return None
    return period if period == name else None


def relevant(path: Path, raw_dir: Path) -> str | None:
    """The period a changed path belongs to when the watcher should handle it, else None:
    a workbook (`.xlsx`, `.xlsm`, `.xls`) directly in or in a sub-folder of a period folder
    (`raw/2017/x.xlsx`, `raw/2017-H1/Tiên Lãng/x.xlsx`), neither temporary nor inside a
    hidden folder. Pure: the path need not exist (a deletion is judged the same way)."""
    parts = _parts_under(Path(path), Path(raw_dir))
    if parts is None or len(parts) < 2:
        return None
    period = period_of_folder(parts[0])
    if period is None or any(p.startswith(".") for p in parts[1:-1]):
        return None
    name = parts[-1]
    if is_temporary(name) or os.path.splitext(name)[1].lower() not in WORKBOOK_SUFFIXES:
        return None
    return period


def in_period_folder(path: Path, raw_dir: Path) -> str | None:
    """The period of a folder at or under a period folder (`raw/2017`, `raw/2017/Tiên Lãng`),
    for folders copied in whole; None for anything else. Pure."""
    parts = _parts_under(Path(path), Path(raw_dir))
    if not parts or any(p.startswith(".") for p in parts[1:]):
        return None
    return period_of_folder(parts[0])


def group_changes(paths: Iterable[Path | str], raw_dir: Path) -> dict[str, list[Path]]:
    """period -> the relevant changed paths of a batch, each once, in name order."""
    out: dict[str, set[Path]] = {}
    for p in paths:
        period = relevant(Path(p), raw_dir)
        if period is not None:
            out.setdefault(period, set()).add(Path(p))
    return {k: sorted(v, key=str) for k, v in sorted(out.items())}


def event_resource(period: str) -> dict[str, str]:
    return {"prefect.resource.id": f"thongke.period.{period}", "thongke.period": period}


def event_payload(period: str, results: list[dict]) -> dict:
    """The event's payload: the period, the districts whose feedback changed, and per changed
    file its name (relative to the period folder), sha256, district, status and counts."""
    keys = ("file", "sha256", "district_code", "status", "errors", "warnings", "deleted")
    files = [{k: r.get(k) for k in keys} for r in results if not r.get("failed")]
    return {"period": period, "files": files,
            "districts": sorted({r["district_code"] for r in files if r["district_code"]})}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def _shown(text: str) -> str:
    """A file name as printed on a terminal: no control or direction characters."""
    return _CONTROL.sub("?", str(text))


def _where(folder: Path | str | None, base: Path | None) -> str:
    if folder is None:
        return "(chưa ghi)"
    folder = Path(folder)
    if base is not None:
        try:
            return folder.relative_to(base).as_posix()
        except ValueError:
            pass
    return str(folder)


def describe(results: list[dict], base: Path | None = None) -> list[str]:
    """Vietnamese lines for the terminal, one per changed file; feedback folders are shown
    relative to `base` (e.g. the current folder) when under it."""
    from pipelines.check.submissions import STATUS_VI
    from pipelines.base.text import vn_number

    lines = []
    for r in results:
        name = _shown(r.get("file", ""))
        if r.get("failed"):
            lines.append(f"Không xử lý được “{name}” (kỳ {r.get('period', '')}): {_shown(r['failed'])}")
            continue
        who = _shown(r.get("district_name") or "") or "chưa xác định được đơn vị"
        where = _where(r.get("feedback"), base)
        if r.get("deleted"):
            lines.append(f"Đã bỏ “{name}” khỏi thư mục ({who}); phản hồi cập nhật: {where}"
                         if r.get("feedback") else
                         f"Đã bỏ “{name}” khỏi thư mục (tệp chưa được kiểm tra trước đó).")
            continue
        status = STATUS_VI.get(r.get("status", ""), r.get("status", "")).lower()
        lines.append(f"Đã kiểm tra “{name}” ({who}): {vn_number(r.get('errors', 0))} lỗi, "
                     f"{vn_number(r.get('warnings', 0))} cảnh báo, {status}; phản hồi: {where}")
        if r.get("history") is False:
            lines.append("  (Không đọc được sổ lưu số liệu lúc này: chưa so sánh với các kỳ trước.)")
    return lines


# --------------------------------------------------------------------------- one period


def handle(period: str, changed_paths: Iterable[Path | str], settings: Settings | None = None, *,
           emit: bool = True, cache: Cache | None = None, retry_wait: float = RETRY_WAIT
           ) -> list[dict]:
    """Check the period folder after `changed_paths` changed, rewrite the feedback of the
    districts they touch, and (with `emit`) send one `EVENT` for the period.

    Holds the period's lock (`pipelines.base.lock`) while it reads and writes, waiting up to
    `settings.lock_timeout` for a running job of the period (`PeriodBusy` after that).

    Returns one dict per changed path: file (relative to the period folder), period, sha256,
    district_code, district_name, status (final, after duplicates and supersession), errors,
    warnings, feedback (the district's feedback folder), deleted, history (False when the
    record could not be read).
    """
    from pipelines.base.lock import period_lock

    settings = settings or get_settings()
    cache = cache if cache is not None else Cache()
    per = parse_period(period)
    period = str(per)
    folder = settings.raw_dir / period

    def name_of(p: Path) -> str:
        return str(Path(os.path.abspath(p)).relative_to(os.path.abspath(folder)))

    changed = {}
    for p in changed_paths:
        try:
            changed[name_of(Path(p))] = Path(p)
        except ValueError:  # not in this period's folder
            log.warning("%s is not in %s: ignored", p, folder)
    with period_lock(settings.reports_dir, period, settings.lock_timeout):
        report = check_and_write(per, folder, changed, settings, cache, retry_wait, name_of)
    if emit:
        emit_change(period, report)
    return report


# --------------------------------------------------------------------------- the event

_no_api_logged = False


def api_configured() -> bool:
    """Whether a Prefect API is configured (`PREFECT_API_URL`, in the environment, the
    profile or a settings context). Without one, `emit_event` would start a temporary
    server inside the call and send the event where no trigger listens."""
    from prefect.settings import get_current_settings

    return bool(get_current_settings().api.url)


def emit_change(period: str, results: list[dict]) -> bool:
    """Send one `EVENT` for the period's batch; True when handed to Prefect's events worker
    (which sends it in the background). Never raises: the watcher goes on without it."""
    global _no_api_logged
    try:
        if not api_configured():
            if not _no_api_logged:
                log.warning("no Prefect API configured (PREFECT_API_URL): events %s are not sent",
                            EVENT)
                _no_api_logged = True
            return False
        from prefect.events import emit_event

        sent = emit_event(event=EVENT, resource=event_resource(period),
                          payload=event_payload(period, results))
        return sent is not None
    except Exception:
        log.exception("emitting %s for %s failed", EVENT, period)
        return False


# --------------------------------------------------------------------------- the loop


def _warm_up(settings: Settings) -> None:
    """Import the checking stack and load the programme while the watcher already listens
    (about 1.5 s): the first workbook dropped is then handled as fast as the next ones."""
    try:
        from pipelines.check import checker, period  # noqa: F401
        from pipelines.feedback import annotate, folders  # noqa: F401
        from pipelines.record import db  # noqa: F401

        settings.programme()
    except Exception:  # the first batch will say what is wrong
        log.debug("warm-up failed", exc_info=True)


def _wanted(change, path: str, raw_dir: Path) -> bool:
    """watchfiles filter: a relevant workbook, or a folder added in a period folder."""
    p = Path(path)
    if relevant(p, raw_dir) is not None:
        return True
    if in_period_folder(p, raw_dir) is None:
        return False
    from watchfiles import Change

    return change != Change.deleted and p.is_dir()


def _expand(paths: Iterable[str], raw_dir: Path) -> list[Path]:
    """A batch's paths with folders replaced by the workbooks under them."""
    out = []
    for s in paths:
        p = Path(s)
        if relevant(p, raw_dir) is not None:
            out.append(p)
        elif p.is_dir():
            out.extend(f for f in p.rglob("*") if relevant(f, raw_dir) is not None and f.is_file())
    return out


def watch(raw_dir: Path | str | None = None, settings: Settings | None = None, *,
          debounce_ms: int = 2000, step_ms: int = 400, stop_event: threading.Event | None = None,
          emit: bool = True, on_batch: Callable[[list[dict]], None] | None = None,
          retry_wait: float = RETRY_WAIT, force_polling: bool | None = None) -> None:
    """Watch `raw_dir` (default: the settings' raw folder) until `stop_event` is set (or
    Ctrl-C): for each batch of changes, `handle` each period, then `on_batch(results)`.

    A batch is yielded once the folder has been quiet for `step_ms`, or after `debounce_ms`
    at the most while changes keep coming. One failing period (a full disk, a locked
    folder) is logged and reported as `failed` in its results; the watcher goes on.
    """
    import watchfiles

    settings = settings or get_settings()
    raw = Path(os.path.abspath(raw_dir if raw_dir is not None else settings.raw_dir))
    if not raw.is_dir():
        raise FileNotFoundError(f"không có thư mục {raw}")
    settings = settings.with_overrides(raw_dir=raw)
    cache = Cache()
    threading.Thread(target=_warm_up, args=(settings,), name="thongke-watch-warm-up",
                     daemon=True).start()
    for changes in watchfiles.watch(raw, watch_filter=lambda c, p: _wanted(c, p, raw),
                                    debounce=debounce_ms, step=step_ms, stop_event=stop_event,
                                    force_polling=force_polling):
        for period, paths in group_changes(_expand({p for _, p in changes}, raw), raw).items():
            try:
                results = handle(period, paths, settings, emit=emit, cache=cache,
                                 retry_wait=retry_wait)
            except Exception as exc:
                log.exception("handling %s in %s failed", [p.name for p in paths], period)
                results = [{"file": os.path.relpath(p, raw / period), "period": period,
                            "failed": f"{type(exc).__name__}: {exc}"} for p in paths]
            if on_batch is not None:
                try:
                    on_batch(results)
                except Exception:
                    log.exception("on_batch failed")
