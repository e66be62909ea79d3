"""Incremental runs: a file's check is cached by what it is, not where it is.

The key of the per-file task is the file's content hash (sha256), the name it has in the
period folder (findings name it), the period it was sent for, the reader's limits, and the
version of the rules: a hash of the code and the data that decide a check. A rerun with
nothing changed reads no workbook; a file resent under the same name has another hash and
is read again; a change of any rule, threshold or catalogue entry invalidates every entry.
The cache lives under the reports root (`<reports>/.cache/checks`, one pickle per check,
`pipelines.batches`), with the data it was computed from, and can be deleted at any time.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What a check depends on: the reading and the rules, the catalogue and thresholds.
RULE_SOURCES = ("pipelines/ingest.py", "pipelines/guard.py", "pipelines/ole.py",
                "pipelines/cells.py", "pipelines/values.py",
                "pipelines/rules.py", "pipelines/validate.py", "pipelines/findings.py",
                "pipelines/text.py",
                "schemas/catalogue.py", "schemas/checks.py", "schemas/models.py",
                "schemas/periods.py", "schemas/units.py")
RULE_DATA = ("schemas/data",)
# What does not change what a check finds: when runs happen, and the report's own knowledge.
NOT_RULES = frozenset({"schedules.toml", "report.toml", "official.toml"})


# What the report depends on besides its input frames: every module `render.py` imports,
# directly or not, at the top or inside a function (found from the source, never kept by
# hand), and the templates and data.
RENDER_ENTRY = "pipelines/render.py"
RENDER_DATA = ("schemas/data", "pipelines/templates")
NOT_RENDER = frozenset({"schedules.toml"})


def imported_sources(entry: str) -> tuple[str, ...]:
    """`entry` and every module of `pipelines` and `schemas` it imports, transitively."""
    import ast

    seen: set[str] = set()
    todo = [entry]
    while todo:
        source = todo.pop()
        if source in seen or not (ROOT / source).is_file():
            continue
        seen.add(source)
        for node in ast.walk(ast.parse((ROOT / source).read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.split(".")[0] in ("pipelines", "schemas"):
                    path = name.replace(".", "/")
                    todo += [f"{path}.py", f"{path}/__init__.py"]
    return tuple(sorted(seen))


def _version(sources: tuple[str, ...], folders: tuple[str, ...], skip: frozenset[str]) -> str:
    digest = hashlib.sha256()
    files = [ROOT / p for p in sources]
    for folder in folders:
        files += sorted(p for p in (ROOT / folder).rglob("*")
                        if p.is_file() and p.name not in skip)
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=1)
def rules_version() -> str:
    """A hash of every source and data file a check depends on."""
    return _version(RULE_SOURCES, RULE_DATA, NOT_RULES)


@lru_cache(maxsize=1)
def render_version() -> str:
    """A hash of every source, template and data file the report depends on."""
    return _version(imported_sources(RENDER_ENTRY), RENDER_DATA, NOT_RENDER)


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
                 max_unpacked_mb: float = 200.0) -> str:
    """The cache key of one file's check, from the file's sha256 (empty: unreadable, never
    looked up) and every limit the reader applies."""
    parts = (content or "unreadable", name, period, f"{max_file_mb:g}", str(max_rows),
             f"{max_unpacked_mb:g}", rules_version())
    return "check-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
