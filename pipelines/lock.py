"""Two runs of the same period never write at once: a lock file per period under the
reports root. A second run waits up to `timeout` seconds, then stops with a clear message.
A lock held by a process that died is released by the operating system (flock)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout


class PeriodBusy(RuntimeError):
    """Another run of the same period holds the lock."""


@contextmanager
def period_lock(reports_dir: Path, period: str, timeout: float) -> Iterator[None]:
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(reports_dir / f".{period}.lock"))
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise PeriodBusy(f"kỳ {period} đang được một lần chạy khác xử lý; đã chờ {timeout:g} giây. "
                         "Hãy chờ lần chạy đó xong rồi chạy lại.") from None
    try:
        yield
    finally:
        lock.release()
