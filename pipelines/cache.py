"""Incremental runs: a file's check is cached by what it is, not where it is.

The key of the per-file task is the file's content hash (sha256), the name it has in the
period folder (findings name it), the period it was sent for, the reader's limits, and the
version of the rules: a hash of the code and the data that decide a check. A rerun with
nothing changed reads no workbook; a file resent under the same name has another hash and
is read again; a change of any rule, threshold or catalogue entry invalidates every entry.
The cache lives in the result store under the reports root (`<reports>/.cache`), with the
data it was computed from, and can be deleted at any time.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from pipelines.ingest import sha256_of

ROOT = Path(__file__).resolve().parent.parent
# What a check depends on: the reading and the rules, the catalogue and thresholds.
RULE_SOURCES = ("pipelines/ingest.py", "pipelines/values.py", "pipelines/rules.py",
                "pipelines/validate.py", "pipelines/findings.py", "pipelines/text.py",
                "schemas/catalogue.py", "schemas/checks.py", "schemas/models.py",
                "schemas/periods.py", "schemas/units.py")
RULE_DATA = ("schemas/data",)
NOT_RULES = {"schedules.toml"}  # when runs happen does not change what a check finds


@lru_cache(maxsize=1)
def rules_version() -> str:
    """A hash of every source and data file a check depends on."""
    digest = hashlib.sha256()
    files = [ROOT / p for p in RULE_SOURCES]
    for folder in RULE_DATA:
        files += sorted(p for p in (ROOT / folder).rglob("*")
                        if p.is_file() and p.name not in NOT_RULES)
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def check_key(path: str, name: str, period: str, max_file_mb: float, max_rows: int) -> str:
    """The cache key of one file's check (the file is hashed, not parsed)."""
    try:
        content = sha256_of(Path(path))
    except OSError:
        content = "unreadable"  # the check itself reports it (R18); do not cache a guess
    parts = (content, name, period, f"{max_file_mb:g}", str(max_rows), rules_version())
    return "check-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def task_key(context, parameters: dict) -> str | None:
    """Prefect `cache_key_fn` of the check-file task."""
    if parameters.get("refresh"):
        return None
    return check_key(parameters["path"], parameters["name"], parameters["period"],
                     parameters.get("max_file_mb", 50.0), parameters.get("max_rows", 20_000))


def storage_dir(reports_dir: Path) -> Path:
    return Path(reports_dir) / ".cache"
