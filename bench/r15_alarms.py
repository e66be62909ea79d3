"""How often R15 (outliers) cries wolf, and how often it catches a typo, on the demo data.

Generates the demo submissions for several years (so that the units' own history builds
up), checks each period in order against a real DuckDB record as the flow does, and counts:

- false alarms: R15 findings on values nobody tampered with (the demo's one deliberate
  outlier, TT02 typed with two zeros too many, is counted apart), over the values scored;
- detection: for a random sample of accepted values per period, the value multiplied by
  10, 100 or 1000 (extra zeros, the wrong unit) or divided by 10 (a digit lost), re-scored
  against the same references: the share flagged.

    .venv/bin/python bench/r15_alarms.py [--years 2016-2019] [--sample 300] [--keep DIR]

Prints one line per period and the totals. Thresholds come from schemas/data/checks.toml
(or THONGKE_CHECKS).
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.check import history
from pipelines.record import db as record# noqa: E402
from pipelines.check.period import list_files, period_tables  # noqa: E402
from pipelines.forms.sample import generate  # noqa: E402
from pipelines.check.submissions import counted_results, decide_statuses  # noqa: E402
from pipelines.check.checker import WorkbookResult, check_workbook  # noqa: E402
from schemas.catalogue import load_catalogue  # noqa: E402
from schemas.checks import load_checks  # noqa: E402
from schemas.periods import parse_period  # noqa: E402
from schemas.units import load_registry  # noqa: E402

FACTORS = {"×10": 10.0, "×100": 100.0, "×1000": 1000.0, "÷10": 0.1}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", default="2016-2019", help="first-last year, both halves each")
    ap.add_argument("--sample", type=int, default=300, help="values tampered with per period")
    ap.add_argument("--seed", type=int, default=2017)
    ap.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = ap.parse_args()
    first, last = (int(y) for y in args.years.split("-"))
    periods = [p for y in range(first, last + 1) for p in (f"{y}-H1", str(y))]
    root = args.keep or Path(tempfile.mkdtemp(prefix="r15-"))
    raw, db = root / "raw", root / "thongke.duckdb"
    t0 = time.perf_counter()
    manifest = generate(raw, periods=tuple(periods), seed=args.seed) if not raw.exists() else []
    planted = {(e["period"], e["file"], d["unit_code"], d["indicator"]) for e in manifest
               for d in e["defects"] if d["rule"] == "R15"}
    print(f"generated {len(manifest)} workbooks for {len(periods)} periods in "
          f"{time.perf_counter() - t0:.1f} s into {root}")
    cat, reg, checks = load_catalogue(), load_registry(), load_checks()
    scored_codes = {c for c, i in cat.indicators.items()
                    if i.type in checks.outliers.types and c not in checks.outliers.skip}
    rng = random.Random(args.seed)
    totals = {"scored": 0, "false": 0, "planted": 0, "planted_hit": 0,
              **{k: [0, 0] for k in FACTORS}}
    print(f"{'period':8} {'scored':>7} {'false':>5} {'rate':>8}  "
          + "  ".join(f"{k:>9}" for k in FACTORS))
    for p in periods:
        per = parse_period(p)
        results = [check_workbook(f, catalogue=cat, registry=reg, expected_period=per, name=f.name)
                   for f in list_files(raw / p)]
        statuses = decide_statuses(results)
        counted = counted_results(results, statuses)
        ctx = history.Context.empty(per, history.unit_types(reg, per))
        if db.exists():
            ctx.earlier = history.earlier_values(record.read_values(db), per)
        ctx.peers = history.peer_values(counted)
        history.add_history_findings(results, ctx, cat, checks)
        flagged, scored, hit = 0, 0, 0
        for r in counted:
            v = r.values()
            scored += int((v["indicator"].isin(scored_codes) & (v["value"] > 0)).sum())
            keys = {s.name: k for k, s in r.sheets.items()}
            where = {(s, c): (u, i) for s, c, u, i in zip(v["sheet"], v["cell"], v["unit_code"],
                                                          v["indicator"])}
            for f in r.findings:
                if f.rule != "R15":
                    continue
                unit, code = where[(keys[f.sheet], f.cell)]
                if (p, r.file, unit, code) in planted:
                    hit += 1
                else:
                    flagged += 1
        n_planted = sum(1 for x in planted if x[0] == p and x[1] in {r.file for r in counted})
        totals["scored"] += scored
        totals["false"] += flagged
        totals["planted"] += n_planted
        totals["planted_hit"] += hit
        detection = _detection(counted, ctx, cat, checks, scored_codes, rng, args.sample)
        for k, (caught, n) in detection.items():
            totals[k][0] += caught
            totals[k][1] += n
        print(f"{p:8} {scored:7d} {flagged:5d} {100 * flagged / max(scored, 1):7.3f}%  "
              + "  ".join(f"{100 * c / max(n, 1):8.1f}%" for c, n in detection.values()))
        t = period_tables(results, p)
        record.write_period(db, p, str(uuid.uuid4()), submissions=t["submissions"],
                            sheets=t["sheets"], values=t["values"], findings=t["findings"])
    print(f"total: {totals['false']} false alarms in {totals['scored']} values scored "
          f"({100 * totals['false'] / max(totals['scored'], 1):.3f} %); planted outliers caught "
          f"{totals['planted_hit']}/{totals['planted']}")
    print("detection: " + ", ".join(f"{k} {100 * c / max(n, 1):.1f} % ({c}/{n})"
                                    for k, (c, n) in ((k, totals[k]) for k in FACTORS)))


def _detection(counted: list[WorkbookResult], ctx, cat, checks, codes, rng, size) -> dict:
    """Tamper with `size` random accepted values, one at a time, and re-score each."""
    pool = pd.concat([r.values().assign(district=r.district_code) for r in counted],
                     ignore_index=True)
    pool = pool[pool["indicator"].isin(codes) & (pool["value"] > 0)]
    picks = pool.iloc[rng.sample(range(len(pool)), min(size, len(pool)))]
    out = {}
    for name, factor in FACTORS.items():
        frame = picks.assign(value=(picks["value"] * factor).round(2))
        fake = WorkbookResult(file="x", sha256="", mtime=0, district_code="x", period=str(ctx.period),
                              _values=frame.drop(columns="district").reset_index(drop=True))
        found = history.history_findings(fake, ctx, cat, checks)
        caught = sum(1 for f in found if f.rule == "R15")  # at most one per tampered value
        out[name] = (caught, len(frame))
    return out


if __name__ == "__main__":
    main()
