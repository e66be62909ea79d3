"""The report's programme knowledge as data (`data/report.toml`): each content area's headline
indicator, the indicators where less is better, the counts ranked by a rate because they grow
with a district's size, the further indicators an area's sentences state, and the coverage
below which no change between periods is stated."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from schemas.catalogue import DATA_DIR


@dataclass(frozen=True)
class RankRate:
    code: str  # the count, e.g. GN03
    per: str  # what it is divided by, e.g. GN02
    scale: float
    label: str  # the rate in a sentence: "số hộ thoát nghèo trên 100 hộ nghèo đầu kỳ"
    unit: str = ""  # "%" for a percentage; else the rate is shown as a plain number


@dataclass(frozen=True)
class ReportSpec:
    headlines: dict[str, str]
    lower_is_better: frozenset[str]
    rank_rates: dict[str, RankRate]
    also: dict[str, tuple[str, ...]]
    min_coverage: float


@lru_cache(maxsize=4)
def load_report_spec(data_dir: Path = DATA_DIR) -> ReportSpec:
    with (Path(data_dir) / "report.toml").open("rb") as f:
        raw = tomllib.load(f)
    rates = {code: RankRate(code, str(r["per"]), float(r.get("scale", 100)), str(r["label"]),
                          str(r.get("unit", "")))
             for code, r in raw.get("rank_rates", {}).items()}
    share = parse_share(raw.get("min_coverage", "2/3"))
    return ReportSpec(headlines=dict(raw.get("headlines", {})),
                      lower_is_better=frozenset(raw.get("lower_is_better", ())),
                      rank_rates=rates,
                      also={k: tuple(v) for k, v in raw.get("also", {}).items()},
                      min_coverage=share)


def parse_share(value: object) -> float:
    """A share between 0 and 1 written `2/3`, `0,75` or `0.75`."""
    try:
        share = float(Fraction(str(value).strip().replace(",", ".")))
    except (ValueError, ZeroDivisionError) as exc:
        raise ValueError(f"min_coverage: {value!r} is not a share such as 2/3 or 0.75") from exc
    if not 0 <= share <= 1:
        raise ValueError(f"min_coverage: {value!r} is not a share between 0 and 1")
    return share
