"""What became of the units that left the list: `schemas/data/successions.csv`.

One row per change: `effective` (the first day of the new structure), the old unit (code and
name, valid the day before), the new unit (code and name, valid from `effective`; blank when
the snapshots do not say where an `ended` unit went), `change` (absorbed, renamed, moved,
recoded, split, ended), `share` (the part of the old unit's values the new one takes, for a
partial transfer; blank = all of it) and `source` (kept as read, so that an officer can
correct a row without code).

A unit is known by code and validity: 11344 is Phường Lương Khánh Thiện until 2020-01-31 and
Phường Cầu Đất from 2025-01-01; a succession names the day, so the two never meet.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from schemas.catalogue import DATA_DIR

CHANGES = frozenset({"absorbed", "renamed", "moved", "recoded", "split", "ended"})
CARRIES = frozenset({"absorbed", "recoded", "split"})  # the new unit takes the old one's values


@dataclass(frozen=True)
class Succession:
    effective: date
    old_code: str
    old_name: str
    new_code: str
    new_name: str
    change: str
    share: float  # 1.0 unless a partial transfer
    source: str

    @property
    def last_day(self) -> date:
        """The old unit's last day."""
        return self.effective - timedelta(days=1)


def load_successions(data_dir: Path = DATA_DIR) -> tuple[Succession, ...]:
    """The successions file of `data_dir` (none if it has no such file)."""
    return _load(Path(data_dir) / "successions.csv")


@lru_cache(maxsize=4)
def _load(path: Path) -> tuple[Succession, ...]:
    if not path.exists():
        return ()
    out = []
    with path.open(encoding="utf-8", newline="") as f:
        for n, r in enumerate(csv.DictReader(f), 2):
            change = r["change"].strip()
            if change not in CHANGES:
                raise ValueError(f"{path.name} line {n}: unknown change {change!r}")
            share = float(r["share"]) if (r.get("share") or "").strip() else 1.0
            if not 0 < share <= 1:
                raise ValueError(f"{path.name} line {n}: share {share} not in (0, 1]")
            new_code = (r["new_code"] or "").strip()
            if change != "ended" and not new_code:
                raise ValueError(f"{path.name} line {n}: a {change} unit needs its new unit")
            out.append(Succession(date.fromisoformat(r["effective"]), r["old_code"].strip(),
                                  r["old_name"].strip(), new_code, (r["new_name"] or "").strip(),
                                  change, share, r["source"].strip()))
    return tuple(out)


def successor(successions: tuple[Succession, ...], code: str, after: date) -> Succession | None:
    """The change that ended unit `code` on or before `after` (the latest such), if any."""
    hits = [s for s in successions if s.old_code == code and s.effective <= after
            and s.change != "renamed" and s.change != "moved"]
    return max(hits, key=lambda s: s.effective) if hits else None


def carried(successions: tuple[Succession, ...], start: date, end: date,
            existing: frozenset[str]) -> dict[str, list[tuple[str, float]]]:
    """For changes effective in (start, end]: unit code on `end` -> [(code on `start`,
    share)] of the units of `start` whose values it carries on `end`'s boundaries (absorbed,
    recoded, split), for the units whose list changed. `existing`: the codes of the units
    valid on `start` (a reused code names another unit). Applied over chains (A into B into
    C: C carries A and B)."""
    step = sorted((s for s in successions if start < s.effective <= end and s.change in CARRIES),
                  key=lambda s: s.effective)
    into: dict[str, list[tuple[str, float]]] = {}
    gone: set[str] = set()  # codes whose unit of `start` has been carried into another
    for s in step:
        if s.old_code == s.new_code:
            continue

        def own(code: str) -> list[tuple[str, float]]:
            return [(code, 1.0)] if code in existing and code not in gone else []
        old = into.pop(s.old_code, None) or own(s.old_code)
        gone.add(s.old_code)
        # a reused code names a new unit: it does not carry the old unit of that code
        into.setdefault(s.new_code, own(s.new_code))
        into[s.new_code] += [(c, w * s.share) for c, w in old]
    return {k: v for k, v in into.items() if v != [(k, 1.0)]}
