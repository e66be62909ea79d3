"""The record: accepted numbers of every period, in a DuckDB file under the reports root.

A period is written in one transaction (`write_period`: its submissions, sheets, values,
findings, aggregates, the run and the submission log) that first deletes what an earlier
run wrote for it, so rerunning a period replaces its values and never duplicates them, and
a run killed or failing anywhere leaves the period as the last run that finished left it.
`submission_log` is the exception: every run appends what it saw (each version of
each file, its status, when it was received), and nothing is ever deleted from it,
so which file was used for which period, and when, stays on record.

One process at a time: DuckDB lets a single process open the file read-write, and no other
process open it at all meanwhile (not even read-only: "Could not set lock on file"). Runs of
different periods, the watcher and `thongke check` share the file, so every connection
here is taken under a lock file beside it (`.<name>.lock`, flock: released by the system
when its holder dies) and held only as long as one read or one write: they interleave.
A process that opens the file without that lock (the DuckDB shell, a notebook) is waited
for too, by retrying the open. Either wait ends after `wait` seconds (the setting
`record_timeout`, `THONGKE_RECORD_TIMEOUT`: 120) with `RecordBusy`, a message in
Vietnamese: never a silent failure.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd
from filelock import FileLock, Timeout

from pipelines.base import timings
from pipelines.settings import RECORD_TIMEOUT

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR, period VARCHAR, finished_at TIMESTAMP, files INTEGER);
CREATE TABLE IF NOT EXISTS submissions (
    period VARCHAR, file VARCHAR, sha256 VARCHAR, district_code VARCHAR, status VARCHAR,
    errors INTEGER, warnings INTEGER, made_on DATE, run_id VARCHAR);
CREATE TABLE IF NOT EXISTS sheets (
    period VARCHAR, district_code VARCHAR, sheet VARCHAR, status VARCHAR, file VARCHAR,
    sha256 VARCHAR);
CREATE TABLE IF NOT EXISTS unit_values (
    period VARCHAR, district_code VARCHAR, unit_code VARCHAR, sheet VARCHAR, indicator VARCHAR,
    value DOUBLE, cell VARCHAR, file VARCHAR, sha256 VARCHAR);
CREATE TABLE IF NOT EXISTS findings (
    period VARCHAR, file VARCHAR, district_code VARCHAR, sheet VARCHAR, cell VARCHAR,
    rule VARCHAR, severity VARCHAR, value VARCHAR, message VARCHAR);
CREATE TABLE IF NOT EXISTS submission_log (
    run_id VARCHAR, run_at TIMESTAMP, period VARCHAR, file VARCHAR, sha256 VARCHAR,
    district_code VARCHAR, made_on DATE, received_at TIMESTAMP, status VARCHAR);
CREATE TABLE IF NOT EXISTS aggregates (
    period VARCHAR, level VARCHAR, org_unit_code VARCHAR, org_unit_name VARCHAR,
    indicator VARCHAR, value DOUBLE, complete BOOLEAN);
CREATE TABLE IF NOT EXISTS units (
    unit_code VARCHAR, unit_name VARCHAR, unit_type VARCHAR, district_code VARCHAR,
    valid_from DATE, valid_to DATE);
CREATE TABLE IF NOT EXISTS successions (
    effective DATE, old_code VARCHAR, old_name VARCHAR, new_code VARCHAR, new_name VARCHAR,
    change VARCHAR, share DOUBLE, source VARCHAR);
ALTER TABLE unit_values ADD COLUMN IF NOT EXISTS unit_valid_from DATE;
"""
# A unit is its code and its validity: `unit_values.unit_valid_from` is the first day of the
# registry row the value was reported for (11344 is Phường Lương Khánh Thiện from 2016-01-01
# and Phường Cầu Đất from 2025-01-01); `units` and `successions` are the registry's copy as
# the last run used it, so the record can be read on its own.
PERIOD_TABLES = ("submissions", "sheets", "unit_values", "findings", "aggregates")
DEFAULT_TIMEOUT = RECORD_TIMEOUT  # seconds to wait for the record (settings.record_timeout)


class RecordBusy(RuntimeError):
    """The record stayed in use by another process for longer than the timeout."""



def lock_path(path: Path) -> Path:
    path = Path(path)
    return path.parent / f".{path.name}.lock"


_locks: dict[str, FileLock] = {}
_locks_guard = threading.Lock()


def _lock_of(path: Path) -> FileLock:
    """One lock object per record file and process: reentrant in a thread (a nested
    connection does not wait for itself); each thread has its own, so threads wait for
    each other like processes do."""
    key = os.path.abspath(lock_path(path))
    with _locks_guard:
        if key not in _locks:
            _locks[key] = FileLock(key, thread_local=True)
        return _locks[key]


def _busy(path: Path, waited: float) -> RecordBusy:
    return RecordBusy(f"sổ lưu số liệu {path} đang được một tiến trình khác sử dụng; đã chờ "
                      f"{waited:g} giây. Hãy thử lại khi tiến trình đó xong.")


@contextmanager
def _held(path: Path, read_only: bool, wait: float) -> Iterator[None]:
    """The record's lock, for one connection."""
    lock, held = _lock_of(path), True
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise _busy(path, wait) from None
    except OSError:
        if not read_only:  # a reader of a folder it may not write to reads without the lock
            raise
        held = False
    try:
        yield
    finally:
        if held:
            lock.release()


def _is_lock_conflict(exc: Exception) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


def _open(path: Path, read_only: bool, deadline: float, wait: float
          ) -> duckdb.DuckDBPyConnection:
    """Open the file, retrying while a process outside our lock holds it."""
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            left = deadline - time.monotonic()
            if not _is_lock_conflict(exc):
                raise
            if left <= 0:
                raise _busy(path, wait) from exc
            time.sleep(min(delay, left))
            delay = min(delay * 2, 1.0)


@contextmanager
def connect(path: Path, read_only: bool = False, wait: float = DEFAULT_TIMEOUT
            ) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the record, under its lock (see the module doc). Read-only with no
    record yet: an empty in-memory one with the tables."""
    path = Path(path)
    if read_only and not path.exists():
        con = duckdb.connect(":memory:")
        try:
            con.execute(SCHEMA)
            yield con
        finally:
            con.close()
        return
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    with _held(path, read_only, wait):
        con = _open(path, read_only, deadline, wait)
        try:
            if not read_only:
                con.execute(SCHEMA)
            yield con
        finally:
            con.close()


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, period: str) -> None:
    if frame.empty:
        return
    cols = [c[0] for c in con.execute(f"DESCRIBE {table}").fetchall()]
    frame = frame.assign(period=period).reindex(columns=cols)
    con.register("_frame", frame)
    con.execute(f"INSERT INTO {table} SELECT * FROM _frame")
    con.unregister("_frame")


def _insert_all(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    cols = [c[0] for c in con.execute(f"DESCRIBE {table}").fetchall()]
    con.register("_frame", frame.reindex(columns=cols))
    con.execute(f"INSERT INTO {table} SELECT * FROM _frame")
    con.unregister("_frame")


@contextmanager
def _transaction(path: Path, wait: float) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection whose work commits as a whole or not at all."""
    with connect(path, wait=wait) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
            con.execute("COMMIT")
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:  # the transaction is gone already: nothing was committed
                pass
            raise


def write_period(path: Path, period: str, run_id: str, *, submissions: pd.DataFrame,
                 sheets: pd.DataFrame, values: pd.DataFrame, findings: pd.DataFrame,
                 aggregates: pd.DataFrame | None = None, units: pd.DataFrame | None = None,
                 successions: pd.DataFrame | None = None, wait: float = DEFAULT_TIMEOUT) -> None:
    """Replace everything recorded for `period` (with its `aggregates`, computed by the
    caller from the same frames), log the run's submissions and the run, in one
    transaction: all of it is on record, or none of it. Without `aggregates` the period's
    old ones are deleted all the same (an aggregate never outlives its values)."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with _transaction(path, wait) as con:
        for table in PERIOD_TABLES:
            con.execute(f"DELETE FROM {table} WHERE period = ?", [period])
        _insert(con, "submissions", submissions.assign(run_id=run_id), period)
        _insert(con, "submission_log", submissions.assign(run_id=run_id, run_at=now), period)
        _insert(con, "sheets", sheets, period)
        _insert(con, "unit_values", values, period)
        _insert(con, "findings", findings, period)
        if aggregates is not None:
            _insert(con, "aggregates", aggregates, period)
        for table, frame in (("units", units), ("successions", successions)):
            if frame is not None:  # the registry as this run used it, replaced whole
                con.execute(f"DELETE FROM {table}")
                _insert_all(con, table, frame)
        con.execute("INSERT INTO runs VALUES (?, ?, ?, ?)", [run_id, period, now, len(submissions)])
        timings.pause_point("record-transaction")  # fault injection (kill tests) only


def read_period(path: Path, period: str, wait: float = DEFAULT_TIMEOUT
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, accepted sheets) of a period: what aggregation needs."""
    with connect(path, read_only=True, wait=wait) as con:
        values = con.execute("SELECT district_code, unit_code, sheet, indicator, value "
                             "FROM unit_values WHERE period = ?", [period]).df()
        accepted = con.execute("SELECT district_code, sheet FROM sheets "
                               "WHERE period = ? AND status = 'accepted'", [period]).df()
    return values, accepted


def read_values(path: Path, wait: float = DEFAULT_TIMEOUT, *, unit_code: str | None = None,
                indicator: str | None = None, indicators: list[str] | None = None
                ) -> pd.DataFrame:
    """Every accepted unit value on record (or of one unit code / indicator / these
    indicators): period, district_code, unit_code, indicator, value."""
    where, args = [], []
    for column, wanted in (("unit_code", unit_code), ("indicator", indicator)):
        if wanted is not None:
            where.append(f"{column} = ?")
            args.append(wanted)
    if indicators is not None:
        where.append(f"indicator IN ({', '.join('?' for _ in indicators) or 'NULL'})")
        args += list(indicators)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    with connect(path, read_only=True, wait=wait) as con:
        return con.execute("SELECT period, district_code, unit_code, indicator, value "
                           "FROM unit_values" + clause, args).df()


def read_versions(path: Path, period: str | None = None, district_code: str | None = None,
                  wait: float = DEFAULT_TIMEOUT) -> pd.DataFrame:
    """Each version (file content) ever seen: first and last run that saw it, its latest status."""
    where, args = [], []
    if period:
        where.append("period = ?")
        args.append(period)
    if district_code:
        where.append("district_code = ?")
        args.append(district_code)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    with connect(path, read_only=True, wait=wait) as con:
        out = con.execute(f"""
            SELECT period, district_code, file, sha256, any_value(made_on) AS made_on,
                   min(received_at) AS received_at, min(run_at) AS first_seen,
                   max(run_at) AS last_seen, arg_max(status, run_at) AS status, count(*) AS runs
            FROM submission_log {clause}
            GROUP BY period, district_code, file, sha256
            ORDER BY period, district_code, first_seen, file""", args).df()
    if out.empty:
        return out
    order = out["period"].map(period_order)  # periods as periods: 2019-H1 before 2019
    return out.iloc[sorted(range(len(out)), key=lambda i: order.iat[i])].reset_index(drop=True)


def districts_by_hash(path: Path, wait: float = DEFAULT_TIMEOUT) -> dict[str, str]:
    """sha256 -> the district a file of that content was read as, in any earlier run."""
    with connect(path, read_only=True, wait=wait) as con:
        rows = con.execute("SELECT sha256, any_value(district_code) FROM submission_log "
                           "WHERE district_code <> '' AND sha256 <> '' GROUP BY sha256").fetchall()
    return dict(rows)


def read_aggregates(path: Path, periods: list[str] | None = None,
                    wait: float = DEFAULT_TIMEOUT) -> pd.DataFrame:
    """Recorded aggregates, of the given periods or of all."""
    with connect(path, read_only=True, wait=wait) as con:
        query = "SELECT * FROM aggregates"
        if periods is not None:
            if not periods:
                return con.execute(query + " WHERE false").df()
            marks = ", ".join("?" for _ in periods)
            return con.execute(f"{query} WHERE period IN ({marks})", periods).df()
        return con.execute(query).df()


def recorded_periods(path: Path, wait: float = DEFAULT_TIMEOUT) -> list[str]:
    with connect(path, read_only=True, wait=wait) as con:
        found = [r[0] for r in con.execute("SELECT DISTINCT period FROM aggregates").fetchall()]
    return sorted(found, key=period_order)


def period_order(period: str) -> tuple:
    """A sort key that orders periods as periods (2019-H1 before 2019), text as text after."""
    from schemas.periods import PeriodError, parse_period

    try:
        return (0, *parse_period(period).sort_key)
    except PeriodError:
        return (1, period)
