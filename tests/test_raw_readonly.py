"""raw/ is read-only to the pipeline: every kind of run leaves every file and folder under
it as it was (content, size, times, inode, mode), and nothing appears or disappears, not
even for a moment (a folder's modification time would show it).

The kinds: `thongke run` (the real command), `thongke check` with and without
`--annotate` (a marked copy outside raw/) and with a record to compare with, the flows behind
`thongke serve` (`validate_arrivals`, `scheduled_report` with the real period flow) and the
watcher behind `thongke watch` (`handle`, and the watching loop seeing a workbook arrive).
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from builders import edit, write_clean
from typer.testing import CliRunner

from test_kill import clean_env, finish, start

PERIOD = "2017"
TARGETS = "Năm,Mã ĐV,Chỉ tiêu,Mục tiêu\n2017,31,GN_TL_NGHEO,\"2,5\"\n"


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file and folder under `root` (itself included): kind, mode, inode, links,
    modification and change times, and for a file its size and sha256."""
    seen = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        entry = (oct(info.st_mode), info.st_ino, info.st_nlink, info.st_mtime_ns, info.st_ctime_ns)
        if path.is_file() and not path.is_symlink():
            entry += (info.st_size, hashlib.sha256(path.read_bytes()).hexdigest())
        seen[str(path.relative_to(root))] = entry
    return seen


def assert_same(before: dict, after: dict) -> None:
    appeared, gone = sorted(after.keys() - before.keys()), sorted(before.keys() - after.keys())
    changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    assert (appeared, gone, changed) == ([], [], []), "raw/ changed"


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A raw folder as officers fill it: clean workbooks, one with errors in a sub-folder
    with a Vietnamese name, a byte-identical copy, a note, Excel's owner file, an earlier
    period, and the targets file in the root."""
    raw = tmp_path_factory.mktemp("raw-source") / "raw"
    folder = raw / PERIOD
    write_clean(folder / "Bach Long Vi.xlsx", "318", PERIOD)
    write_clean(folder / "Cat Hai.xlsx", "317", PERIOD)
    shutil.copy2(folder / "Cat Hai.xlsx", folder / "Cat Hai - Copy.xlsx")
    edit(write_clean(folder / "Tiên Lãng" / "bản sửa lần 2.xlsx", "315", PERIOD),
         **{"4. Giảm nghèo!D7": "sai"})
    (folder / "ghi chú.txt").write_text("gửi kèm bản giấy", encoding="utf-8")
    (folder / "~$Bach Long Vi.xlsx").write_bytes(b"\x00owner")
    write_clean(raw / "2016" / "Bach Long Vi.xlsx", "318", "2016")
    (raw / "muc_tieu.csv").write_text(TARGETS, encoding="utf-8")
    return raw


@pytest.fixture
def raw(source, tmp_path) -> Path:
    out = tmp_path / "raw"
    shutil.copytree(source, out)
    return out


def _workbooks(raw: Path) -> list[Path]:
    return sorted(p for p in raw.rglob("*.xlsx"))


@pytest.mark.slow
@pytest.mark.server
def test_thongke_run(raw, tmp_path):
    before = snapshot(raw)
    env = clean_env(tmp_path, THONGKE_PDF="0")
    for period in ("2016", PERIOD):
        finish(start(raw, tmp_path / "reports", env, period))
    assert (tmp_path / "reports" / PERIOD / "phan_hoi").is_dir()  # marked copies were made
    assert list((tmp_path / "reports" / PERIOD / "phan_hoi").rglob("*_danh_dau.xlsx"))
    assert_same(before, snapshot(raw))


def _record(raw: Path, reports: Path) -> None:
    """A record with the 2016 period, for the history rules of `check`."""
    from pipelines.record import db as record
    from pipelines.check.period import period_tables
    from pipelines.flows import aggregate_tables
    from pipelines.check.checker import check_workbooks
    from schemas.catalogue import load_catalogue
    from schemas.periods import parse_period
    from schemas.units import load_registry

    books = _workbooks(raw / "2016")
    results = check_workbooks([(p, p.name) for p in books], catalogue=load_catalogue(),
                              registry=load_registry(), expected_period=parse_period("2016"))
    t = period_tables(results, "2016")
    record.write_period(reports / "thongke.duckdb", "2016", "r", submissions=t["submissions"],
                        sheets=t["sheets"], values=t["values"], findings=t["findings"],
                        aggregates=aggregate_tables(t, "2016"))


def test_thongke_check(raw, tmp_path):
    from pipelines.cli import app

    reports = tmp_path / "reports"
    _record(raw, reports)
    before = snapshot(raw)
    runner = CliRunner()
    out = tmp_path / "danh_dau"
    for i, book in enumerate(_workbooks(raw)):
        for args in ([], ["-p", PERIOD], ["--annotate", str(out / f"{i}.xlsx")],
                     ["--reports-dir", str(reports), "--annotate", str(out / f"{i}-r.xlsx")]):
            result = runner.invoke(app, ["check", str(book), *args])
            assert result.exit_code in (0, 1), result.output
    assert len(list(out.glob("*.xlsx"))) >= 2  # marked copies were written, outside raw/
    assert_same(before, snapshot(raw))


def test_the_flows_behind_serve(prefect_harness, raw, tmp_path):
    from pipelines import flows

    reports = tmp_path / "reports"
    before = snapshot(raw)
    checked = asyncio.run(flows.validate_arrivals(period=PERIOD, raw_dir=str(raw),
                                                  reports_dir=str(reports)))
    assert checked["files"] >= 5
    for period in ("2016", PERIOD):
        made = asyncio.run(flows.scheduled_report(kind="year", period=period, raw_dir=str(raw),
                                                  reports_dir=str(reports)))
        assert made["period"] == period
    assert (reports / PERIOD / "bao_cao.html").is_file()
    assert_same(before, snapshot(raw))


def test_the_watcher_handle(raw, tmp_path):
    from pipelines.service import watch as W
    from pipelines.settings import get_settings

    settings = get_settings(raw_dir=raw, reports_dir=tmp_path / "reports")
    _record(raw, settings.reports_dir)
    before = snapshot(raw)
    got = W.handle(PERIOD, sorted(p for p in (raw / PERIOD).rglob("*") if p.is_file()), settings,
                   emit=False, retry_wait=0)
    assert any(r.get("errors") for r in got)
    assert_same(before, snapshot(raw))


def test_the_watching_loop(raw, tmp_path, source):
    """The loop behind `thongke watch`, in a thread: a workbook arrives (moved in whole, the
    test's own change); the watcher checks the folder and writes feedback; raw/ is then
    exactly as the arrival left it."""
    from pipelines.service import watch as W
    from pipelines.settings import get_settings

    settings = get_settings(raw_dir=raw, reports_dir=tmp_path / "reports")
    stop, batches, errors = threading.Event(), [], []

    def run() -> None:
        try:
            W.watch(raw, settings, debounce_ms=1000, step_ms=150, stop_event=stop, emit=False,
                    on_batch=batches.append, retry_wait=0.3)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def seen(period: str, name: str) -> bool:
        return any(r["period"] == period and r["file"] == name for b in batches for r in b)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        probe = raw / "2016" / "probe.xlsx"  # until it is seen, the watcher may not be ready
        content = (raw / "2016" / "Bach Long Vi.xlsx").read_bytes()
        deadline = time.monotonic() + 60
        while not seen("2016", "probe.xlsx"):
            assert time.monotonic() < deadline and not errors, errors
            probe.write_bytes(content)
            time.sleep(0.5)
        time.sleep(1.5)  # the probe's batch is done
        before = snapshot(raw)
        arriving = tmp_path / "incoming" / "Vinh Bao.xlsx"
        edit(write_clean(arriving, "316", PERIOD), **{"4. Giảm nghèo!D7": "sai"})
        os.replace(arriving, raw / PERIOD / "Vinh Bao.xlsx")
        arrived = {k: v for k, v in snapshot(raw).items()
                   if k in (PERIOD, f"{PERIOD}/Vinh Bao.xlsx")}  # the arrival's own changes
        deadline = time.monotonic() + 120
        while not seen(PERIOD, "Vinh Bao.xlsx"):
            assert time.monotonic() < deadline and not errors, errors
            time.sleep(0.1)
        time.sleep(1.0)
    finally:
        stop.set()
        thread.join(10)
    assert not errors, errors
    assert list((settings.reports_dir / PERIOD / "phan_hoi").rglob("tom_tat.html"))
    assert_same({**before, **arrived}, snapshot(raw))
