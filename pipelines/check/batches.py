"""Checking a period's files at any scale: cached results, batches, worker processes.

- Every file's check is cached by what it is (`cache.check_key`: content hash, name,
  period, limits, rules version) as one pickle under `<reports>/.cache/checks/`, so a
  rerun reads no workbook that has not changed and counts exactly what it read.
- The files still to read are cut into batches (`plan`): one Prefect task per batch, as a
  task costs about 0.1 s against a server and hundreds of them make the server's SQLite
  answer 503 (docs/PREFECT-NOTES); the pandera models run once per batch.
- A batch is checked in this process, or, when there are many files, in a pool of worker
  processes (Python threads share one core for this work). The pool forks its workers
  from a clean `forkserver` process that has already imported the checking code, so a
  worker starts in milliseconds and never inherits Prefect's threads.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pipelines.base.atomic import atomic_path
from pipelines.check.result import WorkbookResult
from pipelines.settings import Settings

MAX_TASKS = 16  # batches (Prefect tasks) per run at most
BATCH_FILES = 50  # files per batch, unless that would leave a worker idle or exceed MAX_TASKS
POOL_MIN_FILES = 60  # fewer files than this are checked in-process: a pool costs more
PRELOAD = ["pipelines.check.checker", "schemas.programme"]


@dataclass(frozen=True)
class FileToCheck:
    path: str
    name: str  # the file's name inside the period folder, as findings name it
    label: str  # how the UI names its task: district (when known) and name
    key: str  # the cache key of its check


def plan(files: list[FileToCheck], workers: int = 0, max_tasks: int = MAX_TASKS
         ) -> list[list[FileToCheck]]:
    """Consecutive batches: up to `BATCH_FILES` files each (a Prefect task costs about 0.1 s
    against a server, and the pandera models cost the same for 1 file or 50), at least one
    per worker process so that every core has work, and never more than `max_tasks`."""
    if not files:
        return []
    n = len(files)
    size = max(math.ceil(n / max_tasks), min(BATCH_FILES, math.ceil(n / max(workers, 1))))
    return [files[i:i + size] for i in range(0, n, size)]


def batch_label(batch: list[FileToCheck]) -> str:
    if len(batch) == 1:
        return batch[0].label
    return f"{len(batch)} tệp: {batch[0].name} … {batch[-1].name}"


def workers_for(files_to_read: int, configured: int | None) -> int:
    """Worker processes for checking: the setting, or (unset) one per core when there are
    enough files to pay for starting them; 0 means check in-process."""
    if configured is not None:
        return max(configured, 0)
    return (os.cpu_count() or 1) if files_to_read >= POOL_MIN_FILES else 0


# ----------------------------------------------------------------------------- cache


def cache_dir(reports_dir: Path) -> Path:
    return Path(reports_dir) / ".cache" / "checks"


def load_cached(folder: Path, key: str) -> WorkbookResult | None:
    """The cached result of a check, or None (absent, or unreadable: then it is redone)."""
    path = folder / f"{key}.pkl"
    try:
        with path.open("rb") as f:
            result = pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError):
        return None
    return result if isinstance(result, WorkbookResult) else None


def store(folder: Path, key: str, result: WorkbookResult) -> None:
    with atomic_path(folder / f"{key}.pkl") as tmp:
        tmp.write_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


# ----------------------------------------------------------------------------- checking


def check(files: list[tuple[str, str]], period: str, settings: Settings
          ) -> list[WorkbookResult]:
    """Check a batch of (path, name) in this process (also what a worker runs), with the
    programme and the limits `settings` name."""
    from pipelines.check.checker import check_workbooks
    from schemas.periods import parse_period

    programme, limits = settings.programme(), settings.limits
    return check_workbooks([(Path(p), n) for p, n in files], catalogue=programme.catalogue,
                           registry=programme.registry, expected_period=parse_period(period),
                           checks=programme.checks, max_file_mb=limits.max_file_mb,
                           max_rows=limits.max_rows, max_unpacked_mb=limits.max_unpacked_mb)


_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def pool(workers: int) -> ProcessPoolExecutor:
    """The process pool of this process (started on first use, kept for later runs)."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size != workers:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _pool, _pool_size = ProcessPoolExecutor(max_workers=workers, mp_context=context), workers
        return _pool


def check_in(workers: int, files: list[tuple[str, str]], period: str, settings: Settings
             ) -> list[WorkbookResult]:
    """Check a batch in-process (`workers` 0) or in the worker pool."""
    if workers <= 0:
        return check(files, period, settings)
    return pool(workers).submit(check, files, period, settings).result()
