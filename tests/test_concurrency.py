"""Runs at the same time, as the real command (`thongke run` subprocesses, each with its own
temporary Prefect server, one Prefect home).

- Two runs of one period: the second waits on the period's lock (and says so), then runs;
  both succeed, one consistent record, one whole report.
- Two runs of different periods: they share the record (one DuckDB file, one process at a
  time), taking turns on it through the record's lock; both succeed, both periods on record.
  Before that lock, the second run failed with DuckDB's "Could not set lock on file"
  whenever its record access met the other's (or a retry absorbed it by luck).
"""
from __future__ import annotations

import json
import shutil
import time

import pytest
from builders import write_clean
from test_kill import BOOKS, clean_env, finish, on_record, outputs, start, wait_paused

pytestmark = [pytest.mark.slow, pytest.mark.concurrency]

WAITING = "đang được một lần chạy khác xử lý"


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    folder = tmp_path_factory.mktemp("concurrency")
    out = {}
    for period in ("2016", "2017"):
        for code, name in BOOKS.items():
            out[period, code] = write_clean(folder / "books" / period / name, code, period)
    return {"base": folder, "books": out, "env": clean_env(folder)}


def _raw(books, tmp_path, periods=("2016", "2017")):
    raw = tmp_path / "raw"
    for (period, code), path in books["books"].items():
        if period in periods:
            (raw / period).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, raw / period / BOOKS[code])
    return raw


def _whole(reports, period):
    whole, temps = outputs(reports)
    assert temps == []
    out = reports / period
    for name in ("aggregates.csv", "submissions.csv", "findings.csv", "completeness.csv",
                 "bao_cao.html", "tong_hop.xlsx", "run.json"):
        assert out / name in whole, name
    state = on_record(reports / "thongke.duckdb", period)
    assert state["districts"] == set(BOOKS)
    return state


def test_two_runs_of_one_period_started_together(books, tmp_path):
    raw, reports = _raw(books, tmp_path, ("2017",)), tmp_path / "reports"
    runs = [start(raw, reports, books["env"], "2017", log=tmp_path / f"run{i}.log")
            for i in (1, 2)]
    texts = [finish(p) for p in runs]
    assert sum(WAITING in t for t in texts) == 1, texts  # the second waited for the first
    state = _whole(reports, "2017")
    assert (reports / "2017" / "bao_cao.pdf").read_bytes().rstrip().endswith(b"%%EOF")
    assert state["runs"] == 2 and state["log"] == 2 * len(BOOKS)
    run = json.loads((reports / "2017" / "run.json").read_text())
    assert run["files_read"] + run["files_cached"] == len(BOOKS)


def test_two_runs_of_different_periods_started_together(books, tmp_path):
    raw, reports = _raw(books, tmp_path), tmp_path / "reports"
    env = {**books["env"], "THONGKE_PDF": "0"}
    runs = [start(raw, reports, env, period, log=tmp_path / f"{period}.log")
            for period in ("2016", "2017")]
    for text in (finish(p) for p in runs):
        assert WAITING not in text
    for period in ("2016", "2017"):
        assert _whole(reports, period)["runs"] == 1


def test_a_run_waits_while_another_period_holds_the_record(books, tmp_path):
    """Deterministic overlap: the 2016 run stops inside its record transaction (holding the
    record); the 2017 run is let go only then, reaches the record at once (its first step
    reads it) and must wait there, not fail, until 2016 commits; then both finish."""
    raw, reports = _raw(books, tmp_path), tmp_path / "reports"
    env = {**books["env"], "THONGKE_PDF": "0"}
    first = start(raw, reports, env, "2016", pause="record-transaction",
                  log=tmp_path / "2016.log")
    try:
        held = wait_paused(first, reports, "record-transaction")
        second = start(raw, reports, env, "2017", pause="discover", log=tmp_path / "2017.log")
        try:
            deadline = time.monotonic() + 300
            while not (reports / ".paused-discover").exists():
                assert second.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
            (reports / ".paused-discover").unlink()  # on to the record, held by 2016
            time.sleep(3)
            assert second.poll() is None  # waiting, not failed
            held.unlink()  # 2016 commits
            finish(first)
            finish(second)
        finally:
            if second.poll() is None:
                second.kill()
    finally:
        if first.poll() is None:
            first.kill()
    waited = json.loads((reports / "2017" / "run.json").read_text())["steps"]["discover"]
    assert waited >= 2.5
    for period in ("2016", "2017"):
        assert _whole(reports, period)["runs"] == 1
