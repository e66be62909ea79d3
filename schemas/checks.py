"""Thresholds of the history and plausibility rules (R14-R17) and the reporting deadline.

Configuration, not code: `schemas/data/checks.toml`, or another file passed to
`load_checks` (the setting `THONGKE_CHECKS`, `pipelines/settings.py`).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from schemas.periods import Period

DEFAULT_PATH = Path(__file__).parent / "data" / "checks.toml"


@dataclass(frozen=True)
class StartStock:  # R14
    start: str = "GN02"
    end: str = "GN06"


@dataclass(frozen=True)
class Outliers:  # R15
    z: float = 3.5
    min_history: int = 3
    min_peers: int = 8
    min_spread: float = 0.25
    min_difference: float = 20.0
    min_ratio: float = 5.0
    min_ratio_low: float = 10.0
    flows_below: bool = False
    types: tuple[str, ...] = ("int", "money")
    skip: tuple[str, ...] = ()


@dataclass(frozen=True)
class CostPerHouse:  # R17
    cost: str = "AS03"
    houses: tuple[str, ...] = ("AS01", "AS02")
    low: float = 5.0
    high: float = 300.0


@dataclass(frozen=True)
class Deadline:
    h1_days: int = 15
    year_days: int = 15

    def of(self, period: Period) -> date:
        return period.end + timedelta(days=self.h1_days if period.h1 else self.year_days)


@dataclass(frozen=True)
class Checks:
    start_stock: StartStock = field(default_factory=StartStock)
    outliers: Outliers = field(default_factory=Outliers)
    cost: CostPerHouse = field(default_factory=CostPerHouse)
    deadline: Deadline = field(default_factory=Deadline)


def _section(cls, data: dict):
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"khóa không hợp lệ trong cấu hình: {', '.join(sorted(unknown))}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def load_checks(path: Path | str | None = None) -> Checks:
    path = Path(path or DEFAULT_PATH).resolve()
    stat = path.stat()
    return _load(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int, size: int) -> Checks:  # an edited file is read again
    with path.open("rb") as f:
        data = tomllib.load(f)
    return Checks(start_stock=_section(StartStock, data.get("R14", {})),
                  outliers=_section(Outliers, data.get("R15", {})),
                  cost=_section(CostPerHouse, data.get("R17", {})),
                  deadline=_section(Deadline, data.get("deadline", {})))
