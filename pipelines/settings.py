"""Paths, limits and switches, in one place: the only module that reads the environment.

Defaults are built from this file's location (the project root), then overridden by
`THONGKE_*` environment variables, then by CLI options. Nothing is read at import time:
call `get_settings()` once where a run starts, and hand the `Settings` (or the values it
holds) down. The process environment is also written here only (`prefect_defaults`,
`set_env`): Prefect reads its own settings from it.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

from schemas.presentation import parse_share

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DATA = PROJECT_ROOT / "schemas" / "data"
OFF = ("0", "false", "no", "off")
RECORD_TIMEOUT = 120.0  # seconds a run waits for the record (another period's run)


@dataclass(frozen=True)
class Limits:
    """What a workbook may be at most (FORM.md R18: "too large"; `pipelines/read/limits.py`)."""
    max_file_mb: float = 50.0
    max_rows: int = 20_000
    max_unpacked_mb: float = 200.0  # a workbook's parts unpacked, in total (zip bombs)


@dataclass(frozen=True)
class Settings:
    raw_dir: Path
    reports_dir: Path
    db_path: Path | None = None  # default: <reports_dir>/thongke.duckdb
    max_file_mb: float = 50.0
    max_rows: int = 20_000
    max_unpacked_mb: float = 200.0  # a workbook's parts unpacked, in total (zip bombs)
    file_workers: int | None = None  # processes that check files (None: automatic, 0: none)
    pdf: bool = True  # write bao_cao.pdf (THONGKE_PDF=0 leaves it out: faster test runs)
    lock_timeout: float = 600.0  # seconds a run waits for another run of the same period
    record_timeout: float = RECORD_TIMEOUT
    # the report states a change only over at least this share of the districts complete in
    # both periods (None: schemas/data/report.toml)
    min_coverage: float | None = None
    # the report's issuing body, recipients and signer (None: schemas/data/official.toml;
    # pipelines/report/official.py)
    official_path: Path | None = None
    units_path: Path | None = None  # another units file (None: Hải Phòng's registry)
    checks_path: Path = SCHEMAS_DATA / "checks.toml"  # thresholds of R14-R17, the deadline
    schedules_path: Path = SCHEMAS_DATA / "schedules.toml"  # when the deployments run
    render_helper: bool = True  # draw the charts in a helper process (pipelines/report/render)
    dask_address: str | None = None  # an existing Dask cluster (`--task-runner dask`)
    temporary_server: bool = True  # the CLI's own Prefect server (pipelines/service/tempserver)

    @property
    def record_path(self) -> Path:
        return self.db_path or self.reports_dir / "thongke.duckdb"

    @property
    def limits(self) -> Limits:
        return Limits(self.max_file_mb, self.max_rows, self.max_unpacked_mb)

    def programme(self):
        """The catalogue, the registry and the thresholds these settings name
        (`schemas.programme.Programme`)."""
        from schemas.programme import load_programme

        return load_programme(self.units_path, self.checks_path)

    def with_overrides(self, **kw) -> "Settings":
        clean = {k: (Path(v) if k.endswith(("_dir", "_path")) and v is not None else v)
                 for k, v in kw.items() if v is not None}
        return replace(self, **clean)


def _flag(env, name: str, default: bool = True) -> bool:
    value = env.get(name, "").strip().lower()
    return default if not value else value not in OFF


def _path(env, name: str) -> Path | None:
    value = env.get(name, "").strip()
    return Path(value).resolve() if value else None


def get_settings(**overrides) -> Settings:
    env = os.environ
    s = Settings(
        raw_dir=Path(env.get("THONGKE_RAW_DIR", PROJECT_ROOT / "raw")),
        reports_dir=Path(env.get("THONGKE_REPORTS_DIR", PROJECT_ROOT / "reports")),
        db_path=Path(env["THONGKE_DB"]) if env.get("THONGKE_DB") else None,
        max_file_mb=float(env.get("THONGKE_MAX_FILE_MB", 50)),
        max_rows=int(env.get("THONGKE_MAX_ROWS", 20_000)),
        max_unpacked_mb=float(env.get("THONGKE_MAX_UNPACKED_MB", 200)),
        file_workers=(int(env["THONGKE_FILE_WORKERS"]) if env.get("THONGKE_FILE_WORKERS", "").strip()
                      else None),
        pdf=_flag(env, "THONGKE_PDF"),
        lock_timeout=float(env.get("THONGKE_LOCK_TIMEOUT", 600)),
        record_timeout=_number(env, "THONGKE_RECORD_TIMEOUT", RECORD_TIMEOUT),
        min_coverage=(parse_share(env["THONGKE_MIN_COVERAGE"])
                      if env.get("THONGKE_MIN_COVERAGE", "").strip() else None),
        official_path=_path(env, "THONGKE_OFFICIAL"),
        units_path=_path(env, "THONGKE_UNITS"),
        checks_path=_path(env, "THONGKE_CHECKS") or SCHEMAS_DATA / "checks.toml",
        schedules_path=_path(env, "THONGKE_SCHEDULES") or SCHEMAS_DATA / "schedules.toml",
        render_helper=_flag(env, "THONGKE_RENDER_HELPER"),
        dask_address=env.get("THONGKE_DASK_ADDRESS", "").strip() or None,
        temporary_server=_flag(env, "THONGKE_TEMPORARY_SERVER"),
    )
    return s.with_overrides(**overrides)


def _number(env, name: str, default: float) -> float:
    try:
        return float(env.get(name, default))
    except ValueError:
        return default


# --------------------------------------------------------------- test hooks (kill tests)

@dataclass(frozen=True)
class PauseHook:
    """Where a run pauses for a test to kill it (`pipelines/base/timings.py`): read when a
    pause point is reached, in the process that reaches it."""
    at: str = ""  # THONGKE_PAUSE_AT: comma-separated shell patterns of step names
    folder: Path | None = None  # THONGKE_PAUSE_DIR: where the marker is written
    seconds: float = 3600.0  # THONGKE_PAUSE_SECONDS: the longest pause


def pause_hook() -> PauseHook:
    env = os.environ
    return PauseHook(at=env.get("THONGKE_PAUSE_AT", ""), folder=_path(env, "THONGKE_PAUSE_DIR"),
                     seconds=_number(env, "THONGKE_PAUSE_SECONDS", 3600.0))


# --------------------------------------------------------------- the process environment

def environment() -> dict[str, str]:
    """A copy of this process's environment (for a child process)."""
    return dict(os.environ)


def env_value(name: str) -> str:
    """A variable another program reads (Prefect's `PREFECT_*`), "" when unset."""
    return os.environ.get(name, "")


def set_defaults(values: dict[str, str]) -> None:
    """Set these variables where they are not set yet (Prefect's, before it is imported)."""
    for key, value in values.items():
        os.environ.setdefault(key, value)


@contextmanager
def set_env(name: str, value: str) -> Iterator[None]:
    """`name` set to `value` for the block (processes started inside inherit it)."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before
