"""Paths and limits, in one place.

Defaults are built from this file's location (the project root), then overridden
by environment variables, then by CLI options. Nothing is read at import time:
call `get_settings()`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from schemas.report import parse_share

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
    # the report states a change only over at least this share of the districts complete in
    # both periods (None: schemas/data/report.toml)
    min_coverage: float | None = None
    # the report's issuing body, recipients and signer (None: schemas/data/official.toml;
    # pipelines/report/official.py)
    official_path: Path | None = None

    @property
    def record_path(self) -> Path:
        return self.db_path or self.reports_dir / "thongke.duckdb"

    def with_overrides(self, **kw) -> "Settings":
        clean = {k: (Path(v) if k.endswith(("_dir", "_path")) and v is not None else v)
                 for k, v in kw.items() if v is not None}
        return replace(self, **clean)


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
        pdf=env.get("THONGKE_PDF", "1").strip().lower() not in ("0", "false", "no", "off"),
        lock_timeout=float(env.get("THONGKE_LOCK_TIMEOUT", 600)),
        min_coverage=(parse_share(env["THONGKE_MIN_COVERAGE"])
                      if env.get("THONGKE_MIN_COVERAGE", "").strip() else None),
        official_path=(Path(env["THONGKE_OFFICIAL"]) if env.get("THONGKE_OFFICIAL", "").strip()
                       else None),
    )
    return s.with_overrides(**overrides)
