"""The record (pipelines/record/db.py): a period's writes in one transaction, aggregates
computed from the frames the run records, and one process at a time on the DuckDB file,
waited for, never a silent failure."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from builders import edit, write_clean

from pipelines.record import db as record
from pipelines.record.aggregate import aggregate
from pipelines.check.period import period_tables
from pipelines.flows import aggregate_tables
from pipelines.check.checker import check_workbooks
from schemas.catalogue import load_catalogue
from schemas.periods import parse_period
from schemas.units import load_registry

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2017"


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict:
    """A period's tables from real workbooks: two clean districts, one with a rejected sheet
    (a text in a number cell, R01) and a second, newer file of a district (superseded)."""
    raw = tmp_path_factory.mktemp("record-raw")
    books = [write_clean(raw / "Bach Long Vi.xlsx", "318", PERIOD),
             write_clean(raw / "Cat Hai.xlsx", "317", PERIOD),
             edit(write_clean(raw / "Tien Lang.xlsx", "315", PERIOD),
                  **{"4. Giảm nghèo!D7": "sai"})]
    results = check_workbooks([(p, p.name) for p in books], catalogue=load_catalogue(),
                              registry=load_registry(), expected_period=parse_period(PERIOD))
    out = period_tables(results, PERIOD)
    assert set(out["sheets"]["status"]) > {"accepted"}  # some sheet was not accepted
    return out


def _write(db: Path, tables: dict, run_id: str, period: str = PERIOD, **kw) -> None:
    record.write_period(db, period, run_id, submissions=tables["submissions"],
                        sheets=tables["sheets"], values=tables["values"],
                        findings=tables["findings"], **kw)


def _count(db: Path, sql: str) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["period", "level", "org_unit_code", "indicator"]
    return frame.sort_values(keys).reset_index(drop=True)[list(frame.columns)]


def test_aggregates_from_the_frames_are_those_from_the_record(tmp_path, tables):
    """The run sums the frames it records instead of reading them back: the same sums as
    from what the record holds afterwards."""
    db = tmp_path / "thongke.duckdb"
    _write(db, tables, "r1")
    values, accepted = record.read_period(db, PERIOD)
    from_record = aggregate(values, accepted, load_registry(), parse_period(PERIOD),
                            load_catalogue())
    from_frames = aggregate_tables(tables, PERIOD)
    assert len(from_frames) > 0 and from_frames["value"].notna().any()
    pd.testing.assert_frame_equal(_sorted(from_frames), _sorted(from_record))


def test_a_period_is_written_in_one_transaction(tmp_path, tables):
    """Values, sheets, findings, submissions, the log, the run and the aggregates: a rerun
    replaces them (each value once); a write that fails anywhere leaves all as they were."""
    db = tmp_path / "thongke.duckdb"
    agg = aggregate_tables(tables, PERIOD)
    _write(db, tables, "r1", aggregates=agg)
    _write(db, tables, "r2", aggregates=agg)
    n_values, n_files = len(tables["values"]), len(tables["submissions"])
    assert _count(db, "SELECT count(*) FROM unit_values") == n_values
    assert _count(db, "SELECT count(*) FROM aggregates") == len(agg)
    for table, key in (("unit_values", "period, unit_code, indicator"),
                       ("aggregates", "period, level, org_unit_code, indicator")):
        assert _count(db, f"SELECT count(*) FROM (SELECT {key} FROM {table} "
                          "GROUP BY ALL HAVING count(*) > 1)") == 0
    assert _count(db, "SELECT count(*) FROM submission_log") == 2 * n_files  # append-only
    assert _count(db, "SELECT count(*) FROM runs") == 2
    before = {t: _count(db, f"SELECT count(*) FROM {t}")
              for t in ("unit_values", "aggregates", "sheets", "findings", "submissions",
                        "submission_log", "runs")}
    broken = agg.assign(value="not a number")  # fails on the last insert of the transaction
    with pytest.raises(duckdb.Error):
        _write(db, tables, "r3", aggregates=broken)
    after = {t: _count(db, f"SELECT count(*) FROM {t}") for t in before}
    assert after == before
    assert _count(db, "SELECT count(*) FROM runs WHERE run_id = 'r3'") == 0


def test_without_aggregates_the_old_ones_go(tmp_path, tables):
    db = tmp_path / "thongke.duckdb"
    _write(db, tables, "r1", aggregates=aggregate_tables(tables, PERIOD))
    _write(db, tables, "r2")
    assert _count(db, "SELECT count(*) FROM aggregates") == 0


HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold(db: Path, seconds: float) -> subprocess.Popen:
    """Another process with the DuckDB file open, outside the record's lock (a DuckDB
    shell, a notebook)."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_process_outside_the_lock_is_waited_for(tmp_path, tables, monkeypatch):
    """Today's failure ("Could not set lock on file") becomes a wait; past the timeout, a
    clear message."""
    db = tmp_path / "thongke.duckdb"
    _write(db, tables, "r1")
    holder = _hold(db, 1.5)
    try:
        t0 = time.monotonic()
        values = record.read_values(db)
        assert time.monotonic() - t0 > 0.5 and len(values) == len(tables["values"])
    finally:
        holder.wait(10)
    holder = _hold(db, 5)
    try:
        with pytest.raises(record.RecordBusy, match="đang được một tiến trình khác sử dụng"):
            _write(db, tables, "r2", wait=0.5)
    finally:
        holder.kill()
        holder.wait(10)
    assert _count(db, "SELECT count(*) FROM runs") == 1


WRITER = """
import sys, pandas as pd
from pipelines.record import db as record
db, period, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
tables = pd.read_pickle(sys.argv[4])
for i in range(n):
    record.write_period(db, period, f"{period}-{i}", submissions=tables["submissions"],
                        sheets=tables["sheets"], values=tables["values"],
                        findings=tables["findings"])
    record.read_values(db)
    record.districts_by_hash(db)
print("ok", flush=True)
"""


def test_processes_writing_other_periods_take_turns(tmp_path, tables):
    """Two processes writing and reading different periods as fast as they can, the way
    two runs would: no 'Could not set lock', every write on record once."""
    db = tmp_path / "thongke.duckdb"
    frames = tmp_path / "tables.pkl"
    pd.to_pickle({k: tables[k] for k in ("submissions", "sheets", "values", "findings")}, frames)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), period, "12", str(frames)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for period in ("2016", "2017")]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    assert _count(db, "SELECT count(*) FROM runs") == 24
    assert _count(db, "SELECT count(*) FROM unit_values") == 2 * len(tables["values"])


PAUSED = """
import sys, pandas as pd
from pipelines.record import db as record
tables = pd.read_pickle(sys.argv[2])
record.write_period(sys.argv[1], "2017", "killed", submissions=tables["submissions"],
                    sheets=tables["sheets"], values=tables["values"].iloc[:5],
                    findings=tables["findings"])
"""


def test_killed_inside_the_transaction_nothing_of_it_is_kept(tmp_path, tables):
    """SIGKILL after every row of a period was written, before COMMIT: the record opens
    with the period as the last finished write left it; the next write goes through."""
    db = tmp_path / "thongke.duckdb"
    agg = aggregate_tables(tables, PERIOD)
    _write(db, tables, "r1", aggregates=agg)
    frames = tmp_path / "tables.pkl"
    pd.to_pickle({k: tables[k] for k in ("submissions", "sheets", "values", "findings")}, frames)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "THONGKE_PAUSE_AT": "record-transaction",
           "THONGKE_PAUSE_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", PAUSED, str(db), str(frames)], env=env)
    marker = tmp_path / ".paused-record-transaction"
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "never paused"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert _count(db, "SELECT count(*) FROM unit_values") == len(tables["values"])
    assert _count(db, "SELECT count(*) FROM aggregates") == len(agg)
    assert _count(db, "SELECT count(*) FROM runs WHERE run_id = 'killed'") == 0
    _write(db, tables, "r2", aggregates=agg)  # its lock went with it
    assert _count(db, "SELECT count(*) FROM runs") == 2


def test_threads_take_turns_and_a_thread_reenters(tmp_path, tables):
    """Threads of one process (Prefect's tasks) wait for each other like processes; a
    connection opened inside another in the same thread does not wait for itself."""
    import threading

    db = tmp_path / "thongke.duckdb"
    _write(db, tables, "r1")
    with record.connect(db) as outer:
        with record.connect(db) as inner:  # same thread: reentrant
            assert inner.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
        seen = []
        other = threading.Thread(target=lambda: seen.append(len(record.read_values(db))))
        other.start()
        other.join(0.5)
        assert other.is_alive() and seen == []  # waits for this thread's connection
        outer.execute("SELECT 1")
    other.join(30)
    assert seen == [len(tables["values"])]


def test_a_record_that_stayed_busy_is_not_retried():
    """The wait for the record was the retry: a task that failed with RecordBusy fails."""
    from prefect.states import Failed

    from pipelines.flows import _worth_retrying

    assert _worth_retrying(None, None, Failed(data=record.RecordBusy("bận"))) is False
    assert _worth_retrying(None, None, Failed(data=OSError("disk"))) is True
