"""Incremental runs: a file's check is cached by what it is, not where it is.

The key of the per-file task is the file's content hash (sha256), the name it has in the
period folder (findings name it), the period it was sent for, the reader's limits, and the
version of the rules: a hash of the code and the data that decide a check. A rerun with
nothing changed reads no workbook; a file resent under the same name has another hash and
is read again; a change of any rule, threshold or catalogue entry invalidates every entry.
The cache lives under the reports root (`<reports>/.cache/checks`, one pickle per check,
`pipelines.check.batches`), with the data it was computed from, and can be deleted at any time.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What a check depends on: its stage and every stage below it (tests/test_layout.py keeps
# imports pointing down, so nothing a check runs lives elsewhere), with the catalogue,
# rules and thresholds under schemas/. Whole folders, read from disk: a new module is in.
RULE_PARTS = ("schemas", "pipelines/settings.py", "pipelines/base", "pipelines/read",
              "pipelines/forms", "pipelines/record", "pipelines/check")
# What the report depends on besides its input frames: the same, the report stage, its
# templates and the report's own knowledge.
RENDER_PARTS = RULE_PARTS + ("pipelines/report",)
# What does not change what a check finds: when runs happen, and the report's own knowledge.
NOT_RULES = frozenset({"schedules.toml", "report.toml", "official.toml"})
NOT_RENDER = frozenset({"schedules.toml"})
SOURCE_SUFFIXES = frozenset({".py", ".csv", ".toml", ".j2", ".css", ".html"})


def part_files(parts: tuple[str, ...], skip: frozenset[str] = frozenset()) -> list[Path]:
    """The source, template and data files under `parts` (folders or files), sorted."""
    files = []
    for part in parts:
        path = ROOT / part
        found = [path] if path.is_file() else path.rglob("*")
        files += [f for f in found if f.is_file() and f.suffix in SOURCE_SUFFIXES
                  and f.name not in skip and "__pycache__" not in f.parts]
    return sorted(set(files))


def _version(parts: tuple[str, ...], skip: frozenset[str]) -> str:
    digest = hashlib.sha256()
    for path in part_files(parts, skip):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=1)
def rules_version() -> str:
    """A hash of every source and data file a check depends on."""
    return _version(RULE_PARTS, NOT_RULES)


@lru_cache(maxsize=1)
def render_version() -> str:
    """A hash of every source, template and data file the report depends on."""
    return _version(RENDER_PARTS, NOT_RENDER)


def frame_digest(frame) -> str:
    """A hash of a frame's columns and values (NaN included), in row order."""
    import pandas as pd

    if frame is None:
        return "none"
    digest = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode())
    try:
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    except TypeError:  # mixed types in a column: hash the text
        digest.update(frame.to_csv(index=False).encode())
    return digest.hexdigest()


def render_key(*parts: str) -> str:
    """The key of a report: the digests of its inputs, and the rendering code's version."""
    return hashlib.sha256("\x1f".join((*parts, render_version())).encode()).hexdigest()


def check_key_of(content: str, name: str, period: str, max_file_mb: float, max_rows: int,
                 max_unpacked_mb: float = 200.0, *sources: Path | None) -> str:
    """The cache key of one file's check, from the file's sha256 (empty: unreadable, never
    looked up), every limit the reader applies and the data files the rules read from
    outside the rules' folders (`sources`: another units file, another thresholds file)."""
    parts = (content or "unreadable", name, period, f"{max_file_mb:g}", str(max_rows),
             f"{max_unpacked_mb:g}", rules_version(), *map(source_digest, sources))
    return "check-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def source_digest(path: Path | None) -> str:
    """A data file as a cache key sees it: its path and a digest of its content."""
    if path is None:
        return "-"
    try:
        stat = Path(path).stat()
    except OSError:
        return f"{path}:missing"
    return _digest(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=16)
def _digest(path: str, mtime_ns: int, size: int) -> str:  # an edited file is read again
    return f"{path}:{hashlib.sha256(Path(path).read_bytes()).hexdigest()}"
