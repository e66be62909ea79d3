"""Golden scenarios: raw workbooks in, the run's CSVs compared with independently computed ones."""
import asyncio
import csv
import hashlib
import shutil
from pathlib import Path

import pytest

from pipelines.flows import period_report

GOLDEN = Path(__file__).parent / "data" / "golden"
SCENARIOS = sorted(p.name for p in GOLDEN.iterdir() if (p / "expected").is_dir())


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def _close(expected: str, got: str) -> bool:
    if expected == "" or got == "":
        return expected == got
    a, b = float(expected), float(got)
    return abs(a - b) <= 1e-6 * max(1.0, abs(a))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden_scenario(scenario, prefect_harness, tmp_path):
    source = GOLDEN / scenario
    raw = tmp_path / "raw"
    shutil.copytree(source / "raw", raw)
    before = _hashes(raw)
    (period,) = [p.name for p in raw.iterdir()]
    asyncio.run(period_report(period, str(raw), str(tmp_path / "reports")))
    assert _hashes(raw) == before
    out = tmp_path / "reports" / period

    want = {r["file"]: (r["district_code"], r["status"], r["sha256"]) for r in _rows(source / "expected" / "submissions.csv")}
    got = {r["file"]: (r["district_code"], r["status"], r["sha256"]) for r in _rows(out / "submissions.csv")}
    assert got == want

    key = ("file", "sheet", "cell", "rule", "severity")
    want_f = {tuple(r[k] for k in key) for r in _rows(source / "expected" / "findings.csv")}
    got_f = {tuple(r[k] for k in key) for r in _rows(out / "findings.csv")}
    assert got_f == want_f

    got_a = {(r["level"], r["org_unit_code"], r["indicator"]): r for r in _rows(out / "aggregates.csv")}
    expected = _rows(source / "expected" / "aggregates.csv")
    wrong = [(k, r["value"], got_a.get(k, {}).get("value"), r["complete"], got_a.get(k, {}).get("complete"))
             for r in expected
             for k in [(r["level"], r["org_unit_code"], r["indicator"])]
             if k not in got_a or not _close(r["value"], got_a[k]["value"])
             or r["complete"] != got_a[k]["complete"]]
    assert wrong == []
    above_unit = {k for k in got_a if k[0] != "unit"}
    assert above_unit == {(r["level"], r["org_unit_code"], r["indicator"]) for r in expected
                          if r["level"] != "unit"}
