"""The whole period flow on the real Prefect engine, a real DuckDB file and real workbooks."""
import asyncio
import csv
import hashlib
import os
import time
from pathlib import Path

import duckdb
import pytest
from builders import edit, write_clean

from pipelines.flows import period_report

PERIOD = "2017-H1"


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def period_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("flow")
    raw = root / "raw" / PERIOD
    write_clean(raw / "Bao cao Bach Long Vi.xlsx", "318", PERIOD)
    old = write_clean(raw / "Cat Hai (ban cu).xlsx", "317", PERIOD)
    edit(old, **{"Thông tin!B6": "01/07/2017"})
    new = write_clean(raw / "Cat Hai (sua lan 2).xlsx", "317", PERIOD)
    edit(new, **{"Thông tin!B6": "05/07/2017", "4. Giảm nghèo!D7": "abc"})
    (raw / "Cat Hai (sua lan 2) - Copy.xlsx").write_bytes(new.read_bytes())
    (raw / "ghi chu.txt").write_text("không phải bảng tính", encoding="utf-8")
    os.utime(old, (time.time() + 60, time.time() + 60))  # newer mtime must not beat Ngày lập
    return root


def _run(root: Path) -> dict:
    return asyncio.run(period_report(PERIOD, str(root / "raw"), str(root / "reports")))


def test_period_flow(prefect_harness, period_dir):
    before = _hashes(period_dir / "raw")
    summary = _run(period_dir)
    assert _hashes(period_dir / "raw") == before  # raw/ untouched
    out = period_dir / "reports" / PERIOD
    subs = {r["file"]: r for r in _csv(out / "submissions.csv")}
    assert {f: r["status"] for f, r in subs.items()} == {
        "Bao cao Bach Long Vi.xlsx": "accepted",
        "Cat Hai (ban cu).xlsx": "superseded",
        "Cat Hai (sua lan 2) - Copy.xlsx": "partial",  # sorts before its identical twin
        "Cat Hai (sua lan 2).xlsx": "duplicate",
        "ghi chu.txt": "rejected",
    }
    assert summary["files"] == 5 == sum(summary["by_status"].values())
    header = (out / "aggregates.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "period,level,org_unit_code,org_unit_name,indicator,value,complete"
    assert (out / "submissions.csv").read_text(encoding="utf-8").splitlines()[0] == \
        "file,sha256,district_code,period,status,errors,warnings"
    assert (out / "findings.csv").read_text(encoding="utf-8").splitlines()[0] == \
        "file,district_code,sheet,cell,rule,severity,value,message"
    findings = _csv(out / "findings.csv")
    assert {(f["file"], f["rule"], f["sheet"], f["cell"]) for f in findings if f["rule"] != "R18"} >= {
        ("Cat Hai (sua lan 2) - Copy.xlsx", "R01", "4. Giảm nghèo", "D7")}
    assert [f["rule"] for f in findings if f["file"] == "ghi chu.txt"] == ["R18"]
    agg = {(r["level"], r["org_unit_code"], r["indicator"]): r for r in _csv(out / "aggregates.csv")}
    # Cát Hải's GN sheet is rejected: no values of its own, city sum is a lower bound.
    assert agg[("district", "317", "GN01")]["value"] == ""
    assert agg[("district", "317", "GN01")]["complete"] == "false"
    blv = agg[("district", "318", "GN01")]["value"]
    assert agg[("city", "31", "GN01")]["value"] == blv  # only Bạch Long Vĩ's GN counted
    assert agg[("unit", "318", "GN01")]["value"] == blv
    assert agg[("district", "317", "TT03")]["complete"] == "true"
    assert (out / "bao_cao.html").exists() and (out / "tong_hop.xlsx").exists()
    assert not list(out.glob(".*.tmp"))


def test_rerun_replaces_the_period(prefect_harness, period_dir):
    _run(period_dir)
    first = (period_dir / "reports" / PERIOD / "aggregates.csv").read_bytes()
    _run(period_dir)
    assert (period_dir / "reports" / PERIOD / "aggregates.csv").read_bytes() == first
    con = duckdb.connect(str(period_dir / "reports" / "thongke.duckdb"), read_only=True)
    dupes = con.execute("SELECT count(*) FROM (SELECT period, unit_code, indicator FROM unit_values "
                        "GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
    runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    subs = con.execute("SELECT count(*) FROM submissions").fetchone()[0]
    con.close()
    assert dupes == 0 and runs >= 2 and subs == 5
