"""Kill tests: `thongke run` killed (SIGKILL) at chosen points, then run again.

Each test starts from a finished run of two districts (copied, so each test has its own
reports folder), adds a third district's workbook, starts the real command as a
subprocess with `THONGKE_PAUSE_AT=<point>` (pipelines/base/timings.py: the run writes
`<reports>/.paused-<point>` and waits there), kills it when the marker appears, and checks:
every output there is whole (CSVs read with pandas, workbooks open with openpyxl, the PDF
runs from `%PDF` to `%%EOF`, the HTML to `</html>`...), the record holds each value once and
as the last finished run left it (or as the killed run committed it), no process the run
started outlives it, and a rerun completes, sweeps the temporary files the killed run left
and ends with all three districts once on record.

They must pass many times in a row; check with
    for i in $(seq 10); do .venv/bin/python -m pytest -q tests/test_kill.py || break; done
(about 4 minutes a pass on two slow cores: each test is a killed run and a full one).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import psutil
import pytest
from builders import write_clean

from pipelines.base import atomic, timings
from pipelines.check import batches
from pipelines.record import db as record
from pipelines.record.aggregate import aggregate
from schemas.catalogue import load_catalogue
from schemas.periods import parse_period
from schemas.units import load_registry

ROOT = Path(__file__).resolve().parent.parent
ENTRY = Path(sys.executable).parent / "thongke"  # the installed command, as officers run it
THONGKE = [str(ENTRY)] if ENTRY.exists() else [sys.executable, "-c",
                                               "from pipelines.cli import main; main()"]
PERIOD = "2017"
BOOKS = {"318": "Bach Long Vi.xlsx", "317": "Cat Hai.xlsx", "315": "Tien Lang.xlsx"}
FIRST = ("318", "317")  # the finished run each test starts from; the killed run adds 315
RUN_TIMEOUT = 600
PAUSE_TIMEOUT = 300  # for a run to reach its pause point, on a busy machine


# --------------------------------------------------------------------------- running

def clean_env(base: Path, **extra: str) -> dict[str, str]:
    """A fresh officer's shell: no Prefect or thongke setting of this process; one Prefect
    home for the module (its database is made once), the PDF on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "THONGKE_"))}
    env.update({"PREFECT_HOME": str(base / "prefect-home"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "THONGKE_PDF": "1",
                "PYTHONPATH": str(ROOT), **extra})
    return env


def start(raw: Path, reports: Path, env: dict[str, str], period: str = PERIOD,
          pause: str | None = None, log: Path | None = None) -> subprocess.Popen:
    env = {**env, **({"THONGKE_PAUSE_AT": pause} if pause else {})}
    log = log or reports.parent / f"run-{period}-{time.monotonic_ns()}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen([*THONGKE, "run", "-p", period, "--raw-dir", str(raw),
                                 "--reports-dir", str(reports)], env=env, cwd=reports.parent,
                                stdout=out, stderr=subprocess.STDOUT)
    proc.log = log  # type: ignore[attr-defined]
    return proc


def output_of(proc: subprocess.Popen) -> str:
    return Path(proc.log).read_text(encoding="utf-8", errors="replace")  # type: ignore[attr-defined]


def finish(proc: subprocess.Popen, timeout: float = RUN_TIMEOUT) -> str:
    """Wait for a run; its output (it must have succeeded)."""
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    text = output_of(proc)
    assert proc.returncode == 0, text[-4000:]
    return text


def wait_paused(proc: subprocess.Popen, reports: Path, point: str) -> Path:
    """The marker of a run paused at `point` (the run's own process, not a helper)."""
    marker = reports / (".paused-" + point.replace("/", "_"))
    deadline = time.monotonic() + PAUSE_TIMEOUT
    while True:
        found = sorted(reports.glob(".paused-*"))
        pid = found[0].read_text().strip() if found else ""
        if pid:
            assert int(pid) == proc.pid, f"paused in another process: {found[0]}"
            return found[0]
        assert proc.poll() is None, f"the run ended before {point}:\n{output_of(proc)[-4000:]}"
        assert time.monotonic() < deadline, f"the run never reached {point} ({marker})"
        time.sleep(0.1)


def kill(proc: subprocess.Popen) -> list[str]:
    """SIGKILL the run (only it: what it started is left to itself); what it started that is
    still running 20 s later (then killed, so nothing leaks from the test)."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    _, alive = psutil.wait_procs(children, timeout=20)
    left = []
    for p in alive:
        try:
            if p.status() == psutil.STATUS_ZOMBIE:
                continue
            left.append(" ".join(p.cmdline()[:6]))
            p.kill()
        except psutil.Error:
            continue
    return left


# --------------------------------------------------------------------------- checking

class _Html(HTMLParser):
    pass


def check_whole(path: Path) -> None:
    """The file is a whole one of its kind (raises otherwise)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert len(frame.columns) > 1, path
    elif suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        assert book.sheetnames, path
        book.close()
    elif suffix == ".pdf":
        data = path.read_bytes()
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"), path
    elif suffix == ".html":
        text = path.read_text(encoding="utf-8")
        assert text.rstrip().lower().endswith("</html>"), path
        _Html().feed(text)
    elif suffix == ".json":
        json.loads(path.read_text(encoding="utf-8"))
    elif suffix == ".svg":
        ET.parse(path)
    elif suffix == ".png":
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82"), path
    elif suffix == ".pkl":
        assert batches.load_cached(path.parent, path.stem) is not None, path
    else:
        raise AssertionError(f"an output of unknown kind: {path}")


def outputs(reports: Path) -> tuple[list[Path], list[Path]]:
    """Every output under the reports root checked whole; (outputs, temporary files)."""
    whole, temps = [], []
    for path in sorted(p for p in reports.rglob("*") if p.is_file()):
        name = path.name
        if atomic.is_temp(path):
            temps.append(path)
        elif (name.startswith((".paused-", "thongke.duckdb")) or path.suffix in (".lock", ".log")):
            continue  # test markers, locks, the server's log; the record is checked apart
        else:
            check_whole(path)
            whole.append(path)
    return whole, temps


def on_record(db: Path, period: str = PERIOD) -> dict:
    """What the record holds for a period, after checking that it holds each value and
    each aggregate once, and aggregates that are the sums of its values."""
    with duckdb.connect(str(db), read_only=True) as con:
        def one(sql: str):
            return con.execute(sql, [period]).fetchone()[0]

        for table, key in (("unit_values", "period, unit_code, indicator"),
                           ("aggregates", "period, level, org_unit_code, indicator")):
            twice = one(f"SELECT count(*) FROM (SELECT {key} FROM {table} WHERE period = ? "
                        "GROUP BY ALL HAVING count(*) > 1)")
            assert twice == 0, f"{twice} keys twice in {table}"
        state = {
            "districts": {r[0] for r in con.execute(
                "SELECT DISTINCT district_code FROM unit_values WHERE period = ?",
                [period]).fetchall()},
            "values": one("SELECT count(*) FROM unit_values WHERE period = ?"),
            "aggregates": one("SELECT count(*) FROM aggregates WHERE period = ?"),
            "runs": one("SELECT count(*) FROM runs WHERE period = ?"),
            "log": one("SELECT count(*) FROM submission_log WHERE period = ?"),
        }
    values, accepted = record.read_period(db, period)
    sums = aggregate(values, accepted, load_registry(), parse_period(period), load_catalogue())
    kept = record.read_aggregates(db, [period])
    keys = ["level", "org_unit_code", "indicator"]
    pd.testing.assert_frame_equal(
        sums.sort_values(keys).reset_index(drop=True)[["value", "complete"]],
        kept.sort_values(keys).reset_index(drop=True)[["value", "complete"]], check_dtype=False)
    return state


# --------------------------------------------------------------------------- the places

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The workbooks, the environment, and a finished run of two districts."""
    base = tmp_path_factory.mktemp("kill")
    books = base / "books"
    for code, name in BOOKS.items():
        write_clean(books / name, code, PERIOD)
    env = clean_env(base)
    raw = base / "first" / "raw"
    (raw / PERIOD).mkdir(parents=True)
    for code in FIRST:
        shutil.copy(books / BOOKS[code], raw / PERIOD / BOOKS[code])
    reports = base / "first" / "reports"
    finish(start(raw, reports, env))
    first = on_record(reports / "thongke.duckdb")
    assert first["districts"] == set(FIRST) and first["runs"] == 1
    return {"base": base, "books": books, "env": env, "raw": raw, "reports": reports,
            "first": first}


@pytest.fixture
def place(world, tmp_path):
    """This test's copy of the finished run, and its raw folder with the third workbook."""
    raw, reports = tmp_path / "raw", tmp_path / "reports"
    shutil.copytree(world["raw"], raw)
    shutil.copy(world["books"] / BOOKS["315"], raw / PERIOD / BOOKS["315"])
    shutil.copytree(world["reports"], reports)
    return raw, reports


def killed_at(world, place, point: str) -> tuple[list[Path], list[Path], dict]:
    """Run, kill at `point`; the outputs (all whole), the temporary files left, the record."""
    raw, reports = place
    proc = start(raw, reports, world["env"], pause=point)
    try:
        marker = wait_paused(proc, reports, point)
    finally:
        left = kill(proc)
    assert left == [], f"still running after the run was killed: {left}"
    marker.unlink()
    whole, temps = outputs(reports)
    return whole, temps, on_record(reports / "thongke.duckdb")


def rerun(world, place, runs: int, log: int, swept: int) -> None:
    """The next run completes: nothing left half-written or lying around, the three
    districts once on record, the report made again."""
    raw, reports = place
    text = finish(start(raw, reports, world["env"]))
    assert "Bản PDF:" in text
    whole, temps = outputs(reports)
    assert [t for t in temps if batches.cache_dir(reports) not in t.parents] == []
    now = on_record(reports / "thongke.duckdb")
    assert now["districts"] == set(BOOKS) and now["runs"] == runs and now["log"] == log
    out = reports / PERIOD
    run = json.loads((out / "run.json").read_text())
    assert run["temps_swept"] == swept
    assert ("tệp tạm do một lần chạy bị dừng giữa chừng để lại" in text) == (swept > 0)
    subs = pd.read_csv(out / "submissions.csv", dtype=str)
    assert sorted(subs["file"]) == sorted(BOOKS.values()) and set(subs["status"]) == {"accepted"}
    assert len(pd.read_csv(out / "aggregates.csv", dtype=str)) == now["aggregates"]
    for name in ("bao_cao.html", "bao_cao.pdf", "tong_hop.xlsx", "aggregates.csv",
                 "findings.csv", "completeness.csv", "run.json"):
        assert out / name in whole


def unchanged(world, state: dict) -> None:
    first = world["first"]
    assert state == first, "the record changed, though the killed run never committed"


# --------------------------------------------------------------------------- the kills

@pytest.mark.slow
@pytest.mark.kill
def test_killed_while_checking(world, place):
    """Killed while the new workbook is read and checked: nothing was written yet."""
    whole, temps, state = killed_at(world, place, "check")
    assert temps == []
    unchanged(world, state)
    rerun(world, place, runs=2, log=2 + 3, swept=0)


@pytest.mark.slow
@pytest.mark.kill
def test_killed_inside_the_record_transaction(world, place):
    """Killed after every row of the period (values, sheets, findings, submissions, the
    log, the run, the aggregates) was written, before COMMIT: none of it is on record."""
    whole, temps, state = killed_at(world, place, "record-transaction")
    assert temps == []
    unchanged(world, state)
    rerun(world, place, runs=2, log=2 + 3, swept=0)


@pytest.mark.slow
@pytest.mark.kill
def test_killed_while_writing_the_tables(world, place):
    """Killed with findings.csv complete in its temporary file, not yet renamed: the record
    committed (three districts), the CSVs written so far are the new ones, findings.csv the
    old one; the rerun sweeps the temporary file."""
    whole, temps, state = killed_at(world, place, "write:findings.csv")
    out = place[1] / PERIOD
    assert [t.parent for t in temps] == [out] and temps[0].name.startswith(".findings.csv.")
    assert state["districts"] == set(BOOKS) and state["runs"] == 2
    assert len(pd.read_csv(out / "submissions.csv")) == 3
    rerun(world, place, runs=3, log=2 + 3 + 3, swept=1)


@pytest.mark.slow
@pytest.mark.kill
def test_killed_while_rendering_the_pdf(world, place):
    """Killed with the new PDF complete in its temporary file: the old PDF stands whole,
    the new HTML is there; the rerun makes the report again and sweeps the PDF's
    temporary file."""
    whole, temps, state = killed_at(world, place, "write:bao_cao.pdf")
    out = place[1] / PERIOD
    assert [t.name.startswith(".bao_cao.pdf.") for t in temps] == [True]
    assert out / "bao_cao.pdf" in whole and "Tiên Lãng" in (out / "bao_cao.html").read_text()
    assert state["districts"] == set(BOOKS)
    rerun(world, place, runs=3, log=2 + 3 + 3, swept=1)
    assert json.loads((out / "run.json").read_text())["render_skipped"] == 0


@pytest.mark.slow
@pytest.mark.kill
def test_killed_while_drawing_the_charts(world, place):
    """Killed at its first chart, while the render helper (a forked process) draws the
    others: the charts are whole or the old ones, and nothing the run started lives on."""
    raw, reports = place
    proc = start(raw, reports, world["env"], pause="write:*.png")
    try:
        marker = wait_paused(proc, reports, "write:*.png")
    finally:
        left = kill(proc)
    marker.unlink()
    whole, temps, state = outputs(reports) + (on_record(reports / "thongke.duckdb"),)
    # the paused chart's temp file, and the helper's, if it was writing one when it died
    assert 1 <= len(temps) <= 2 and any(t.parent.name == "charts" for t in temps), temps
    assert left == []  # the render helper and the server die with the run
    rerun(world, place, runs=3, log=2 + 3 + 3, swept=len(temps))


# --------------------------------------------------------------------------- the parts

def test_sweep_takes_only_atomic_temps(tmp_path):
    folder = tmp_path / "2017"
    (folder / "charts").mkdir(parents=True)
    stale = [folder / ".bao_cao.pdf.k2j4h_9a.tmp", folder / "charts" / ".01_tt_1.png.abcdefgh.tmp"]
    kept = [folder / "bao_cao.pdf", folder / "ghi chu.tmp", folder / ".x.tmp",
            folder / ".bao_cao.pdf.TOOLONGNAME.tmp"]
    for p in stale + kept:
        p.write_text("x")
    assert sorted(atomic.sweep_temps(folder)) == sorted(stale)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in stale)
    young = folder / ".c.pkl.abcdefgh.tmp"
    old = folder / ".d.pkl.abcdefgh.tmp"
    young.write_text("x")
    old.write_text("x")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert atomic.sweep_temps(folder, older_than=600) == [old]
    assert young.exists()
    assert atomic.sweep_temps(tmp_path / "none") == []


def test_an_atomic_write_that_fails_leaves_the_old_file(tmp_path):
    target = tmp_path / "a.csv"
    atomic.write_text(target, "old\n")
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError
    assert target.read_text() == "old\n" and list(tmp_path.iterdir()) == [target]
    long_name = tmp_path / ("ư" * 120 + ".xlsx")  # 245 bytes: the temporary name is cut
    atomic.write_bytes(long_name, b"data")
    assert long_name.read_bytes() == b"data"


def test_pause_point_waits_for_its_marker(tmp_path, monkeypatch):
    """Unset: nothing. Set: the marker (with the pid), then a wait that ends when the
    marker is deleted; a forked process (another pid) never pauses."""
    import threading

    timings.pause_point("record")  # THONGKE_PAUSE_AT unset: returns at once
    monkeypatch.setenv("THONGKE_PAUSE_AT", "nothing,write:*.pdf")
    monkeypatch.setenv("THONGKE_PAUSE_DIR", str(tmp_path))
    timings.pause_point("record")  # not named
    done = threading.Event()
    worker = threading.Thread(target=lambda: (timings.pause_point("write:bao_cao.pdf"),
                                              done.set()))
    worker.start()
    marker = tmp_path / ".paused-write:bao_cao.pdf"
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    assert marker.read_text() == str(os.getpid()) and not done.is_set()
    marker.unlink()
    worker.join(5)
    assert done.is_set()
    monkeypatch.setitem(timings._pause, "pid", os.getpid() + 1)  # as in a forked helper
    timings.pause_point("write:bao_cao.pdf")
    assert not marker.exists()
