"""Two runs of the same period never write at once: a lock file per period under the
reports root. A second run waits up to `timeout` seconds (saying so, through `on_wait`),
then stops with a clear message. A lock held by a process that died is released by the
operating system (flock), so a killed run never blocks the next one.

Runs of different periods share the record (one DuckDB file that one process at a time may
open): `pipelines.record.db` takes its own short lock around every connection, so they
interleave there."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from filelock import FileLock, Timeout


class PeriodBusy(RuntimeError):
    """Another run of the same period holds the lock."""


def lock_file(reports_dir: Path, period: str) -> Path:
    return Path(reports_dir) / f".{period}.lock"


@contextmanager
def period_lock(reports_dir: Path, period: str, timeout: float,
                on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the period's lock while the block runs; `on_wait()` is called once when
    another run holds it (before waiting for it)."""
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_file(reports_dir, period)))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait is not None:
            on_wait()
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise PeriodBusy(f"kỳ {period} đang được một lần chạy khác xử lý; đã chờ "
                             f"{timeout:g} giây. Hãy chờ lần chạy đó xong rồi chạy lại.") from None
    try:
        yield
    finally:
        lock.release()
