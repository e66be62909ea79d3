"""Atomic output: write to a temporary file beside the target, then rename over it.

A reader (or a rerun after the process was killed) finds either the old file or the whole
new one, never a part. What a killed writer leaves is its temporary file,
`.<target name>.<8 random characters>.tmp` in the target's folder: hidden, never read by
anything, and removed by `sweep_temps` (a run sweeps its period folder, which no one else
writes while it holds the period's lock, and the shared check cache, there only temporary
files old enough that no live writer can own them).
"""
from __future__ import annotations

import os
import re
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipelines.base import timings

# What `atomic_path` names its temporary files (mkstemp: 8 of [a-z0-9_]).
TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
MAX_NAME_BYTES = 200  # of the target's name in the temporary name (the limit is 255 in all)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_prefix(name: str) -> str:
    raw = name.encode("utf-8")
    if len(raw) > MAX_NAME_BYTES:  # a long name must not make the temporary name too long
        name = raw[:MAX_NAME_BYTES].decode("utf-8", "ignore")
    return f".{name}."


@contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it to `target`.

    On an exception the temporary file is removed and the target is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(target.name), suffix=".tmp",
                               dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are shared files
    try:
        yield tmp_path
        timings.pause_point(f"write:{target.name}")  # fault injection (kill tests) only
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text(target: Path | str, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(target: Path | str, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def is_temp(path: Path | str) -> bool:
    """Whether `path` is named as `atomic_path` names its temporary files."""
    return TEMP_NAME.fullmatch(Path(path).name) is not None


def sweep_temps(folder: Path | str, older_than: float = 0.0) -> list[Path]:
    """Remove the temporary files `atomic_path` left under `folder` (a killed writer's),
    in every subfolder; with `older_than`, only those last changed that many seconds ago or
    more. Returns what was removed. Only call it where no live writer can own them."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    now, removed = time.time(), []
    for root, _dirs, files in os.walk(folder):  # symbolic links to folders are not followed
        for name in files:
            if TEMP_NAME.fullmatch(name) is None:
                continue
            path = Path(root) / name
            try:
                info = path.lstat()
                if older_than and now - info.st_mtime < older_than:
                    continue
                path.unlink()
            except OSError:  # gone already, or not ours to remove: harmless either way
                continue
            removed.append(path)
    return removed
