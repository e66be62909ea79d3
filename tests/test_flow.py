"""The whole period flow on the real Prefect engine, a real DuckDB file and real workbooks."""
import asyncio
import csv
import hashlib
import json
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


def test_period_flow(prefect_harness, period_dir, monkeypatch):
    monkeypatch.setenv("THONGKE_PDF", "1")  # the one flow test that makes the PDF too
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
    assert (out / "bao_cao.pdf").read_bytes()[:5] == b"%PDF-" and summary["report"]["pdf"]
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


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    """A period folder with one of each fate, and files that are no workbook at all."""
    root = tmp_path_factory.mktemp("all")
    raw = root / "raw" / "2017"
    write_clean(raw / "Bach Long Vi.xlsx", "318", "2017")  # accepted
    edit(write_clean(raw / "Do Son.xlsx", "308", "2017"), **{"4. Giảm nghèo!D7": -5})  # partial
    edit(write_clean(raw / "nhap.xlsx", "308", "2017"), **{"Thông tin!B1": "999", "Thông tin!B2": None})
    old = edit(write_clean(raw / "Cat Hai.xlsx", "317", "2017"), **{"Thông tin!B6": "01/01/2018"})
    new = edit(write_clean(raw / "thang 1" / "Cat Hai sua.xlsx", "317", "2017"),
               **{"Thông tin!B6": "05/01/2018"})  # in a sub-folder: still counted
    (raw / "Cat Hai sua - Copy.xlsx").write_bytes(new.read_bytes())
    (raw / "rong.xlsx").write_bytes(b"")
    (raw / "anh.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (raw / ".~lock.Do Son.xlsx#").write_text("office lock", encoding="utf-8")
    assert old.exists()
    return root


def test_every_file_is_accounted_for(prefect_harness, everything):
    raw = everything / "raw" / "2017"
    files_in = sorted(str(p.relative_to(raw)) for p in raw.rglob("*") if p.is_file())
    before = _hashes(raw)
    summary = asyncio.run(period_report("2017", str(everything / "raw"), str(everything / "reports")))
    assert _hashes(raw) == before
    out = everything / "reports" / "2017"
    subs = _csv(out / "submissions.csv")
    assert sorted(r["file"] for r in subs) == files_in == sorted(summary["file_status"])
    by = {r["file"]: r["status"] for r in subs}
    counts = {s: sum(v == s for v in by.values()) for s in
              ("accepted", "partial", "rejected", "superseded", "duplicate")}
    assert len(files_in) == sum(counts.values()) == summary["files"]
    assert counts == {"accepted": 2, "partial": 1, "rejected": 4, "superseded": 1, "duplicate": 1}
    assert by["Cat Hai.xlsx"] == "superseded" and by["thang 1/Cat Hai sua.xlsx"] == "duplicate"
    assert by["Cat Hai sua - Copy.xlsx"] == "accepted"
    # every rejected file says why, with a finding of its own
    findings = _csv(out / "findings.csv")
    for f in (f for f, s in by.items() if s == "rejected"):
        assert any(x["file"] == f and x["severity"] == "error" for x in findings), f
    # completeness: 3 districts received of 15, the draft with a bad code counts for nobody
    comp = {r["district_code"]: r for r in _csv(out / "completeness.csv")}
    assert comp["31"]["received"] == "3" and comp["31"]["expected"] == "15"
    assert comp["308"]["status"] == "partial" and comp["308"]["files"] == "1"
    assert summary["completeness"]["received"] == 3
    # feedback: a folder per district expected, a marked copy for each file with findings
    feedback = out / "phan_hoi"
    assert len([d for d in feedback.iterdir() if d.is_dir() and d.name[:3].isdigit()]) == 15
    assert list((feedback / "308_quan_do_son").glob("*_danh_dau.xlsx"))
    assert (feedback / "305_quan_le_chan" / "tom_tat.html").exists()  # sent nothing
    html = (out / "bao_cao.html").read_text(encoding="utf-8")
    assert "Hạn nộp: 15/01/2018" in html and "Chưa nộp" in html


def test_history_rules_run_in_the_flow(prefect_harness, tmp_path):
    """The flow compares with earlier periods on record: R14 from last year's report."""
    from builders import clean_values

    raw = tmp_path / "raw"
    write_clean(raw / "2016" / "a.xlsx", "318", "2016")
    v = clean_values("318", "2017")
    row = v["GN"]["318"]
    row["GN02"] += 3
    row["GN06"] = row["GN02"] - row["GN03"] + row["GN04"] + row["GN05"]
    write_clean(raw / "2017" / "a.xlsx", "318", "2017", values=v)
    for period in ("2016", "2017"):
        summary = asyncio.run(period_report(period, str(raw), str(tmp_path / "reports")))
    assert summary["by_rule"].get("R14") == 1
    assert summary["file_status"] == {"a.xlsx": "accepted"}
    con = duckdb.connect(str(tmp_path / "reports" / "thongke.duckdb"), read_only=True)
    log = con.execute("SELECT period, file, status FROM submission_log ORDER BY period").fetchall()
    con.close()
    assert log == [("2016", "a.xlsx", "accepted"), ("2017", "a.xlsx", "accepted")]


def test_rerun_reads_only_what_changed(prefect_harness, tmp_path, monkeypatch):
    """The second run reads no workbook; a file resent under the same name is read again."""
    import pipelines.flows as flows

    raw, reports = tmp_path / "raw", tmp_path / "reports"
    write_clean(raw / "2017" / "a.xlsx", "318", "2017")
    write_clean(raw / "2017" / "b.xlsx", "317", "2017")
    reads: list[str] = []
    real = flows.batches.check

    def counting(files, *args):
        reads.extend(name for _, name in files)
        return real(files, *args)

    monkeypatch.setattr(flows.batches, "check", counting)
    run = lambda: asyncio.run(period_report("2017", str(raw), str(reports)))  # noqa: E731
    note = lambda: json.loads((reports / "2017" / "run.json").read_text("utf-8"))  # noqa: E731
    first = run()
    assert sorted(reads) == ["a.xlsx", "b.xlsx"]
    assert (note()["files_read"], note()["files_cached"]) == (2, 0)
    assert note()["render_skipped"] == 0
    html = reports / "2017" / "bao_cao.html"
    made = html.stat().st_mtime_ns
    reads.clear()
    second = run()
    assert reads == []  # nothing changed: no workbook read
    assert (note()["files_read"], note()["files_cached"]) == (0, 2)
    assert note()["render_skipped"] == 1  # same inputs today: the report stands
    assert second["file_status"] == first["file_status"] and second["by_rule"] == first["by_rule"]
    assert html.stat().st_mtime_ns == made and second["report"] == first["report"]
    assert len(list((reports / ".cache" / "checks").glob("*.pkl"))) == 2
    edit(raw / "2017" / "b.xlsx", **{"4. Giảm nghèo!D7": "sai"})  # resent, same name
    reads.clear()
    third = run()
    assert reads == ["b.xlsx"]
    assert (note()["files_read"], note()["files_cached"]) == (1, 1)
    assert note()["render_skipped"] == 0 and html.stat().st_mtime_ns != made  # data changed
    assert third["file_status"]["b.xlsx"] == "partial" and third["by_rule"].get("R01") == 1
    timing = note()
    assert set(timing["steps"]) >= {"discover", "check", "history", "record", "render"}
    assert timing["pipeline_seconds"] + timing["prefect_overhead_seconds"] == pytest.approx(
        timing["flow_seconds"], abs=0.01)


def test_artifacts_for_the_ui(prefect_harness, period_dir):
    from prefect.artifacts import Artifact

    _run(period_dir)
    table = Artifact.get(f"nop-bao-cao-{PERIOD.lower()}")
    note = Artifact.get(f"bao-cao-{PERIOD.lower()}")
    assert table is not None and table.type == "table"
    rows = {r["Tệp"]: r for r in json.loads(table.data)}
    assert set(rows) == set(_csv_files(period_dir))  # every file of the folder, once
    assert rows["Cat Hai (sua lan 2).xlsx"]["Trạng thái"] == "Bản trùng"
    assert rows["Cat Hai (sua lan 2) - Copy.xlsx"]["Quận, huyện"] == "Huyện Cát Hải"
    assert note is not None and note.type == "markdown"
    assert "Số liệu chính" in note.data and "bao_cao.html" in note.data


def _csv_files(root: Path) -> list[str]:
    return [r["file"] for r in _csv(root / "reports" / PERIOD / "submissions.csv")]


def test_two_runs_of_a_period_never_write_at_once(prefect_harness, period_dir, monkeypatch):
    from pipelines.base.lock import PeriodBusy, period_lock

    monkeypatch.setenv("THONGKE_LOCK_TIMEOUT", "1")
    with period_lock(period_dir / "reports", PERIOD, timeout=5):
        with pytest.raises(PeriodBusy, match="đang được một lần chạy khác xử lý"):
            _run(period_dir)
    _run(period_dir)  # released: runs


@pytest.mark.slow
@pytest.mark.concurrency
def test_files_checked_on_a_dask_cluster(prefect_harness, tmp_path):
    """The same run on a local Dask cluster (worker processes) through prefect-dask."""
    from pipelines.flows import with_task_runner

    raw = tmp_path / "raw"
    write_clean(raw / "2017" / "a.xlsx", "318", "2017")
    edit(write_clean(raw / "2017" / "b.xlsx", "317", "2017"), **{"4. Giảm nghèo!D7": "sai"})
    flow_on_dask = with_task_runner("dask")
    summary = asyncio.run(flow_on_dask("2017", str(raw), str(tmp_path / "reports"), refresh=True))
    assert summary["file_status"] == {"a.xlsx": "accepted", "b.xlsx": "partial"}
    assert summary["by_rule"] == {"R01": 1}
    with pytest.raises(ValueError):
        with_task_runner("spark")
