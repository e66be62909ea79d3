"""The thongke benchmark: whole processes, timed against a floor (bench/README.md).

    .venv/bin/python bench/run.py [--only W1,W2] [--runs N] [--quick] [--skip-national] [--keep]

Workloads: W1 `thongke check` of one workbook; W2 one Hải Phòng period with all outputs
(embedded temporary server, and a standing server); W3 reruns of that period (nothing
changed; one district resent); W4 the whole country (707 districts), thread and Dask task
runners. Each has a floor row (bench/floor.py on the same workbooks) and a target. Prints a
table and writes it to bench/results/<UTC time>_<commit>.csv.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proc import (  # noqa: E402
    MIB,
    Measured,
    StandingServer,
    fmt,
    git,
    interrupted,
    measure,
    median_spread,
    slug,
    sources_digest,
    tail,
)

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
THONGKE, PY, PREFECT = BIN / "thongke", BIN / "python", BIN / "prefect"
WORK = ROOT / "bench" / ".work"
LOGS, OUT = WORK / "logs", WORK / "out"
HOME_EMBEDDED, HOME_SERVER = WORK / "prefect_home_embedded", WORK / "prefect_home_server"
RESULTS = ROOT / "bench" / "results"
FLOOR = ROOT / "bench" / "floor.py"
NATIONAL_UNITS = Path("/work/shared/reference/vietnam_units_2016.csv")
PERIOD = "2016"
OUTPUTS = ("bao_cao.html", "bao_cao.pdf", "aggregates.csv", "tong_hop.xlsx")  # "all outputs"
GENERATOR = ["pipelines/forms/sample.py", "pipelines/forms/form.py", "pipelines/forms/quirks.py",
             "pipelines/base/xlsx.py", "schemas/catalogue.py"]  # what the sample inputs depend on
RESENT = "Tiên Lãng"  # the district whose workbook W3 resends (else the first workbook)


@dataclass
class Row:
    name: str
    target: str = ""
    floor: str = ""  # the floor row this row is divided by
    workbooks: int | None = None  # for seconds per workbook
    times: list[float] = field(default_factory=list)
    peak: float | None = None
    ratio: float | None = None  # median over its floor's median
    read: list = field(default_factory=list)  # files_read per run (None: no run.json)
    status: str = "ok"  # ok | failed | skipped | n/a
    notes: list[str] = field(default_factory=list)
    met: str = ""

    @property
    def note(self) -> str:
        return "; ".join(self.notes)

    @property
    def median(self):
        return median_spread(self.times)[0]

    def fail(self, why: str) -> None:
        self.status = "failed"
        self.notes.append(why)


class Bench:
    def __init__(self, args):
        self.args, self.rows, self.server = args, {}, None
        self.load = round(os.getloadavg()[0], 2)  # 1-minute load average at the start
        self.sources = sources_digest(ROOT)  # the code measured; edits mid-benchmark are noted
        runs = (lambda n, q: args.runs or (q if args.quick else n))
        self.n = {"W1": runs(7, 3), "W2": runs(5, 2), "W3": runs(5, 2), "W4": runs(3, 2),
                  "ref": runs(7, 3)}
        self.hp_raw = WORK / "hp" / "raw"
        self.nat_raw = WORK / "national" / "raw"

    # -- environment and inputs ---------------------------------------------------------
    def env(self, server: bool = False, **extra) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("THONGKE_", "PREFECT_API_"))}
        env.update(THONGKE_PDF="1", PREFECT_HOME=str(HOME_EMBEDDED),
                   PREFECT_SERVER_ANALYTICS_ENABLED="false",
                   PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
        if server:
            env["PREFECT_API_URL"] = self.standing().url
        env.update(extra)
        return env

    def standing(self) -> StandingServer:
        if self.server is None:
            print("starting a standing Prefect server ...", flush=True)
            self.server = StandingServer(PREFECT, HOME_SERVER, self.env(), LOGS / "server.log", ROOT)
            row = self.add(Row("ref: server start -> /api/health"))
            row.times = [self.server.seconds]
            row.notes.append("new database" if self.server.new_db else "existing database")
        return self.server

    def inputs(self, raw: Path, cmd: list[str], env: dict, units: Path) -> Path:
        """Generate sample inputs once; reuse them while the generator and units are unchanged."""
        digest = hashlib.sha256(" ".join(cmd[1:]).encode() + units.read_bytes())
        for f in [*GENERATOR, *sorted(str(p.relative_to(ROOT)) for p in
                                      (ROOT / "schemas" / "data").glob("*.csv"))]:
            digest.update(f.encode() + (ROOT / f).read_bytes())
        stamp = raw.parent / "STAMP"
        if stamp.exists() and stamp.read_text() == digest.hexdigest() and (raw / PERIOD).is_dir():
            return raw / PERIOD
        shutil.rmtree(raw, ignore_errors=True)
        print(f"generating inputs into {raw.relative_to(ROOT)} ...", flush=True)
        log = LOGS / f"generate_{raw.parent.name}.log"
        m = measure(cmd, env, log, ROOT, self.args.timeout)
        if m.rc != 0:
            raise RuntimeError(f"input generation failed (log {log}):\n{tail(log)}")
        stamp.write_text(digest.hexdigest())
        return raw / PERIOD

    # -- measuring ----------------------------------------------------------------------
    def add(self, row: Row) -> Row:
        self.rows[row.name] = row
        return row

    def timed(self, row: Row, cmd: list[str], env: dict, runs: int, ok=(0,),
              before=None, out: Path | None = None) -> Row:
        """Run `cmd` `runs` times; `before(i)` prepares run i; `out` is the reports root
        whose `<period>/run.json` says how many workbooks were read. Only a run without
        PREFECT_API_URL may start a Prefect server (its temporary one)."""
        no_server = row.name == "W1" or "PREFECT_API_URL" in env
        self.add(row)
        print(f"{row.name}: {runs} runs", end="", flush=True)
        for i in range(runs):
            if before:
                before(i)
            if sources_digest(ROOT) != self.sources and "sources changed" not in row.note:
                row.notes.append(f"pipelines/ or schemas/ changed before run {i + 1} "
                                 "(sources changed)")
            log = LOGS / f"{slug(row.name)}_{i + 1}.log"
            m: Measured = measure(cmd, env, log, ROOT, self.args.timeout)
            print(f" {m.seconds:.2f}s", end="", flush=True)
            row.peak = max(row.peak or 0.0, m.peak_mib)
            if m.orphans:
                row.notes.append(f"run {i + 1} left {len(m.orphans)} process(es) running, "
                                 f"killed: {m.orphans[0]}")
            if m.rc not in ok:
                row.fail(f"run {i + 1} exit {'timeout' if m.rc is None else m.rc} (log {log})")
                print(f"\n  {row.name} failed, log tail:\n{tail(log)}", flush=True)
                break
            row.times.append(m.seconds)
            if no_server and m.servers:
                row.fail(f"run {i + 1} started a Prefect server: {m.servers[0][:100]}")
            if out is not None:
                row.read.append(files_read(out))
                missing = [f for f in OUTPUTS if not (out / PERIOD / f).exists()]
                if missing:
                    row.fail(f"run {i + 1} wrote no {', '.join(missing)}")
        print(flush=True)
        return row

    def floor(self, name: str, paths: list[Path], units: Path | None = None) -> None:
        cmd = [str(PY), str(FLOOR), *map(str, paths)] + (["--units", str(units)] if units else [])
        n = self.n["W1" if name.startswith("W1") else name[:2]]
        self.timed(Row(name, workbooks=count(paths)), cmd, self.env(), n)

    # -- workloads ----------------------------------------------------------------------
    def refs(self) -> None:
        n = self.n["ref"]
        for name, code in (("ref: import pandas, pandera.pandas", "import pandas, pandera.pandas"),
                           ("ref: import prefect", "import prefect")):
            self.timed(Row(name), [str(PY), "-c", code], self.env(), n)

    def hp(self) -> Path:
        return self.inputs(self.hp_raw, [str(THONGKE), "sample", "--raw-dir", str(self.hp_raw),
                                         "--periods", PERIOD], self.env(),
                           ROOT / "schemas" / "data" / "haiphong_units.csv")

    def w1(self) -> None:
        book = pick(self.hp())
        reports = OUT / "w1"  # empty: no record of earlier periods
        reports.mkdir(parents=True, exist_ok=True)
        cmd = [str(THONGKE), "check", str(book), "--reports-dir", str(reports)]
        self.timed(Row("W1", "< 1.0 s", "W1 floor", 1), cmd, self.env(), self.n["W1"], ok=(0, 1))
        self.floor("W1 floor", [book])

    def w2(self) -> None:
        folder, n = self.hp(), self.n["W2"]
        if not any(HOME_EMBEDDED.glob("*.db")):  # migrate once, untimed: the officer's home
            measure([str(PREFECT), "server", "database", "upgrade", "-y"], self.env(),
                    LOGS / "embedded_db_upgrade.log", ROOT, self.args.timeout)
        # the baseline for the embedded start: Prefect starting its own temporary server
        for kind, target, server, extra in (
                ("embedded", "< 12 s", False, {}),
                ("embedded, Prefect's start", "", False, {"THONGKE_TEMPORARY_SERVER": "0"}),
                ("standing", "< 5 s", True, {})):
            out = OUT / f"w2-{slug(kind)}"
            cmd = [str(THONGKE), "run", "-p", PERIOD, "--raw-dir", str(self.hp_raw),
                   "--reports-dir", str(out), "--refresh"]
            self.timed(Row(f"W2 {kind}", target, "W2 floor", count([folder])), cmd,
                       self.env(server=server, **extra), n,
                       before=lambda i, o=out: shutil.rmtree(o, ignore_errors=True), out=out)
        self.floor("W2 floor", [folder])

    def w3(self) -> None:
        source, base = self.hp(), OUT / "w3"
        shutil.rmtree(base, ignore_errors=True)
        raw, reports = base / "raw", base / "reports"
        shutil.copytree(source, raw / PERIOD)  # copy2 keeps the sent dates (mtimes)
        cmd = [str(THONGKE), "run", "-p", PERIOD, "--raw-dir", str(raw), "--reports-dir",
               str(reports)]
        env, n = self.env(server=True), self.n["W3"]
        first = Row("W3 unchanged", "files_read = 0", "W2 floor")
        m = measure(cmd, env, LOGS / "W3_baseline.log", ROOT, self.args.timeout)
        if m.rc != 0:
            print(f"W3 baseline run failed, log tail:\n{tail(LOGS / 'W3_baseline.log')}")
            self.add(first).fail(f"baseline run exit {m.rc} (log {LOGS / 'W3_baseline.log'})")
            return
        self.timed(first, cmd, env, n, out=reports)
        book = pick(raw / PERIOD)
        variants = resend_variants(book, base / "variants", n)

        def resend(i: int) -> None:
            shutil.copy2(variants[i], book)

        self.timed(Row("W3 one resend", "files_read = 1; (t-fix) < 0.4*(W2 standing-fix)",
                       "W2 floor"), cmd, env, n, before=resend, out=reports)
        if not self.rows.get("W2 floor"):
            self.floor("W2 floor", [source])

    def w4(self) -> None:
        names = ("W4", "W4-dask", "W4 floor")
        why = ("skipped (--skip-national/--quick)" if self.args.skip_national or self.args.quick
               else national_missing())
        if why:
            for name in names:
                self.add(Row(name, "< 60 s; < 2048 MiB; < 3x floor" if "floor" not in name
                             else "", status="skipped" if "skipped" in why else "n/a",
                             notes=[why]))
            return
        units = NATIONAL_UNITS
        folder = self.inputs(self.nat_raw, [str(THONGKE), "sample", "--raw-dir", str(self.nat_raw),
                                            "--periods", PERIOD, "--clean"],
                             self.env(THONGKE_UNITS=str(units)), units)
        env = self.env(server=True, THONGKE_UNITS=str(units))
        with units.open(encoding="utf-8", newline="") as f:
            districts = len({r["district_code"] for r in csv.DictReader(f)})
        books = count([folder])
        short = [f"{books} workbooks for {districts} districts"] if books != districts else []
        for name, extra in (("W4", []), ("W4-dask", ["--task-runner", "dask"])):
            out = OUT / name.lower()
            cmd = [str(THONGKE), "run", "-p", PERIOD, "--raw-dir", str(self.nat_raw),
                   "--reports-dir", str(out), "--refresh", *extra]
            self.timed(Row(name, "< 60 s; < 2048 MiB; < 3x floor", "W4 floor", books,
                           notes=list(short)), cmd, env, self.n["W4"],
                       before=lambda i, o=out: shutil.rmtree(o, ignore_errors=True), out=out)
        self.floor("W4 floor", [folder], units)

    # -- targets and output ---------------------------------------------------------------
    def judge(self) -> None:
        r, fix = self.rows, median_of(self.rows, "ref: import prefect")
        for row in r.values():
            if row.floor and r.get(row.floor) and r[row.floor].median and row.median:
                row.ratio = row.median / r[row.floor].median
            if not row.target:
                continue
            if row.status != "ok":
                row.met = "no" if row.status == "failed" else "n/a"
                continue
            t, read = row.median, row.read
            known = bool(read) and None not in read  # every run wrote run.json
            if row.name == "W1":
                ok = t < 1.0
            elif row.name.startswith("W2"):
                ok = t < (12.0 if "embedded" in row.name else 5.0)
            elif row.name == "W3 unchanged":
                ok = all(x == 0 for x in read) if known else None
            elif row.name == "W3 one resend":
                w2s = median_of(r, "W2 standing")
                parts = [all(x == 1 for x in read) if known else None,
                         None if w2s is None or fix is None else (t - fix) < 0.4 * (w2s - fix)]
                ok = False if False in parts else (None if None in parts else True)
            else:  # W4, W4-dask
                ok = t < 60 and (row.peak or 0) < 2048 and (row.ratio or 99) < 3
            row.met = {True: "yes", False: "no", None: "n/a"}[ok]

    def report(self) -> Path:
        header = ["workload", "runs", "median_s", "spread_s", "peak_mib", "floor_ratio",
                  "per_workbook_s", "files_read", "target", "met"]
        rows = sorted(self.rows.values(), key=lambda row: row.name.startswith("ref"))
        table = [header] + [self.cells(row) for row in rows]
        widths = [max(len(str(line[c])) for line in table) for c in range(len(header))]
        print()
        for k, line in enumerate(table):
            print("  ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip())
            if k == 0:
                print("  ".join("-" * w for w in widths))
        for row in rows:
            if row.note:
                print(f"note {row.name} [{row.status}]: {row.note.splitlines()[0]}")
        sha = git(ROOT, "rev-parse", "--short", "HEAD") or "nogit"
        dirty = "+dirty" if git(ROOT, "--no-optional-locks", "status", "--porcelain") else ""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{stamp}_{sha}.csv"
        machine = dict(commit=sha + dirty, cpus=os.cpu_count(),
                       mem_gib=round(psutil.virtual_memory().total / 1024 ** 3, 1),
                       python=sys.version.split()[0], utc=stamp, load_start=self.load,
                       load_end=round(os.getloadavg()[0], 2),
                       sources_changed="yes" if sources_digest(ROOT) != self.sources else "no")
        if machine["sources_changed"] == "yes":
            print("warning: pipelines/ or schemas/ changed during the benchmark: rows mix "
                  "versions, and may have invalidated cached checks (see notes)")
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(list(machine) + header + ["workbooks", "status", "note", "times_s"])
            for row, cells in zip(rows, table[1:]):
                w.writerow(list(machine.values()) + cells + [
                    row.workbooks or "", row.status, row.note.replace("\n", " | "),
                    ";".join(f"{t:.3f}" for t in row.times)])
        print(f"\nwritten: {path.relative_to(ROOT)}")
        return path

    @staticmethod
    def cells(row: Row) -> list:
        med, spread = median_spread(row.times)
        if row.status in ("skipped", "n/a"):
            return [row.name, 0, row.status, "", "", "", "", "", row.target, row.met]
        per = med / row.workbooks if med is not None and row.workbooks and row.workbooks > 1 else None
        read = ("n/a" if None in row.read else "/".join(dict.fromkeys(map(str, row.read)))
                ) if row.read else ""
        return [row.name + (" (FAILED)" if row.status == "failed" else ""), len(row.times),
                fmt(med, 2), fmt(spread, 2), fmt(row.peak, 0), fmt(row.ratio, 1),
                fmt(per, 3), read, row.target, row.met]


# -- small helpers ---------------------------------------------------------------------------
def median_of(rows: dict, name: str):
    row = rows.get(name)
    return row.median if row and row.status == "ok" else None


def count(paths: list[Path]) -> int:
    return sum(1 if p.is_file() else len(list(p.rglob("*.xlsx"))) for p in paths)


def pick(folder: Path) -> Path:
    """One district's workbook: Tiên Lãng's if there is one, else the first by name."""
    books = sorted(folder.glob("*.xlsx"))
    return next((b for b in books if RESENT in b.name), books[0])


def files_read(reports: Path):
    try:
        return int(json.loads((reports / PERIOD / "run.json").read_text())["files_read"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def resend_variants(book: Path, folder: Path, n: int) -> list[Path]:
    """n copies of `book`, each with one number of the first data sheet changed (+1, +2, ...),
    so each run sees content it has never seen; dated like the original."""
    from openpyxl import load_workbook

    folder.mkdir(parents=True, exist_ok=True)
    stat, made = book.stat(), []
    for k in range(1, n + 1):
        wb = load_workbook(book)
        ws = wb.worksheets[1]
        cell = next(c for row in ws.iter_rows(min_row=5) for c in row[3:]
                    if isinstance(c.value, (int, float)) and not isinstance(c.value, bool))
        cell.value += k
        path = folder / f"v{k}.xlsx"
        wb.save(path)
        os.utime(path, (stat.st_atime, stat.st_mtime))
        made.append(path)
    return made


def national_missing() -> str:
    if not NATIONAL_UNITS.is_file():
        return f"not available: no {NATIONAL_UNITS}"
    help_text = subprocess.run([str(THONGKE), "sample", "--help"], capture_output=True,
                               text=True).stdout
    return "" if "--clean" in help_text else "not available: `thongke sample` has no --clean yet"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="workloads to run, e.g. W1,W2 (default: all)")
    ap.add_argument("--runs", type=int, default=0, help="runs per workload (overrides defaults)")
    ap.add_argument("--quick", action="store_true", help="fewer runs, no national scale")
    ap.add_argument("--skip-national", action="store_true", help="leave W4 out")
    ap.add_argument("--keep", action="store_true", help="keep bench/.work/ run state")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    ap.add_argument("--bin", type=Path, default=None,
                    help="the venv bin/ of the program measured (make bench: .venv-bench/bin, "
                         "installed without the test tools); default .venv/bin")
    args = ap.parse_args()
    if args.bin is not None:
        global THONGKE, PY, PREFECT
        bin_dir = args.bin if args.bin.is_absolute() else ROOT / args.bin
        THONGKE, PY, PREFECT = bin_dir / "thongke", bin_dir / "python", bin_dir / "prefect"
    only = {w.strip().upper() for w in args.only.split(",") if w.strip()}
    if only - {"W1", "W2", "W3", "W4"}:
        ap.error(f"--only takes W1, W2, W3, W4, not {', '.join(sorted(only))}")
    signal.signal(signal.SIGTERM, interrupted)
    bench = Bench(args)
    shutil.rmtree(LOGS, ignore_errors=True)  # this invocation's logs only
    LOGS.mkdir(parents=True)
    print(f"thongke bench: {os.cpu_count()} cpus, {psutil.virtual_memory().total / MIB:.0f} MiB, "
          f"load {bench.load}; logs in {LOGS.relative_to(ROOT)}", flush=True)
    if bench.load > (os.cpu_count() or 1) * 0.5:
        print("warning: the machine is busy; timings will be noisy (load_start in the CSV)")
    try:
        bench.refs()
        for name, step in (("W1", bench.w1), ("W2", bench.w2), ("W3", bench.w3), ("W4", bench.w4)):
            if only and name not in only:
                continue
            try:
                step()
            except Exception as exc:  # a broken workload must not hide the others' results
                print(f"\n{name} stopped: {exc}", flush=True)
                bench.add(Row(f"{name} (error)", status="failed", notes=[str(exc)]))
    except KeyboardInterrupt:
        print("\ninterrupted: reporting what was measured", flush=True)
    finally:
        if bench.server is not None:
            bench.server.stop()
        if not args.keep:
            for path in (OUT, HOME_EMBEDDED, HOME_SERVER):
                shutil.rmtree(path, ignore_errors=True)
    bench.judge()
    bench.report()


if __name__ == "__main__":
    main()
