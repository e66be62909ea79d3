"""How long a period's outputs take to render: the report (HTML, charts, tong_hop.xlsx, PDF)
and the districts' feedback (tom_tat.html and the marked copies), in-process, after imports.

Inputs are a finished run's: the period's aggregates and earlier periods from the record
(`<reports>/thongke.duckdb`, as `flows.render_outputs` reads them), and the checked
workbooks of `<raw>/<period>` (checked once, kept in a pickle beside the output, as the
flow's `period_tables` turns them into the submissions, findings and completeness tables).
Outputs go to `--out` (never over the run's own reports).

    .venv/bin/python bench/render_profile.py --reports-dir /tmp/rB/reports \
        --raw-dir /tmp/rB/raw --period 2017 [--repeat 3] [--no-pdf] [--profile report|feedback]

Set THONGKE_UNITS to the national registry for the national scale; BENCH_HELPER=0 draws
everything in this one process (no forked helper: for profiles and per-part times). Prints
the median and each run (after a warm-up run) of render_report and write_feedback, wall
time and CPU time (both processes; this one alone), and their parts. `--profile` runs
pyinstrument over one call (this process only) and prints its tree. The record and the raw
folder are only read; the checked workbooks are taken from the run's result store
(`<reports>/.cache`) when every file is there, else checked anew.
"""
from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

T_IMPORT = time.perf_counter()
from pipelines.report import helper, render, summary_xlsx
from pipelines.feedback import folders as feedback
from pipelines.record import db as record# noqa: E402
from pipelines.report import pdf as pdf_module# noqa: E402
from schemas.catalogue import load_catalogue  # noqa: E402
from schemas.periods import parse_period  # noqa: E402
from schemas.units import load_registry  # noqa: E402

T_IMPORT = time.perf_counter() - T_IMPORT
helper.HELPER = os.environ.get("BENCH_HELPER", "1") != "0"

PARTS: dict[str, float] = defaultdict(float)


def _timed(module, name: str, part: str) -> None:
    """Wrap `module.name` so that its time adds up under `part`."""
    inner = getattr(module, name)

    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            PARTS[part] += time.perf_counter() - t

    setattr(module, name, wrapper)


def _instrument() -> None:
    """Time the parts; with the helper process, those done there (its share of the charts,
    every SVG, the workbook) show only as waits of this process."""
    _timed(helper, "draw", "charts (this process's share)")
    _timed(helper.Helper, "charts", "waiting for the helper's charts")
    _timed(helper.Helper, "finish", "waiting for the helper (SVGs, workbook)")
    _timed(summary_xlsx, "write_summary", "tong_hop.xlsx (here)")
    _timed(pdf_module, "write_pdf", "pdf")
    _timed(feedback, "annotate_copy", "marked copies")
    _timed(feedback, "render_district_summary", "tom_tat.html")


def _inputs(reports: Path, raw: Path, period: str, out: Path) -> dict:
    """The frames `render_outputs` and `write_feedback` get in a run."""
    from pipelines.check import history
    from pipelines.check.period import list_files, period_tables
    from pipelines.check.submissions import counted_results, decide_statuses
    from pipelines.check.checker import check_workbooks
    from schemas.checks import load_checks

    db = reports / "thongke.duckdb"
    per = parse_period(period)
    cached = out / f".bench_{period}.pickle"
    if cached.exists():
        results = pickle.loads(cached.read_bytes())
    else:
        folder = raw / period
        files = [(p, str(p.relative_to(folder))) for p in list_files(folder)]
        registry = load_registry()
        results = _from_run_cache(reports, files)
        if results is None:
            results = check_workbooks(files, catalogue=load_catalogue(), registry=registry,
                                      expected_period=per)
        context = history.Context.empty(per, history.unit_types(registry, per))
        context.earlier = history.earlier_values(record.read_values(db), per)
        context.peers = history.peer_values(counted_results(results, decide_statuses(results)))
        history.add_history_findings(results, context, load_catalogue(), load_checks())
        out.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(pickle.dumps(results))
    tables = period_tables(results, period)
    earlier = [p for p in record.recorded_periods(db)
               if parse_period(p).sort_key < per.sort_key]
    return {"results": results, "tables": tables,
            "aggregates": record.read_aggregates(db, [period]),
            "history": record.read_aggregates(db, earlier) if earlier else None}


def _from_run_cache(reports: Path, files: list[tuple[Path, str]]) -> list | None:
    """The run's own checks of these files from its result store (`<reports>/.cache`), by
    name and content hash; None unless every file is there (then they are checked anew)."""
    import base64
    import json

    import cloudpickle

    from pipelines.read.workbook import sha256_of

    store = reports / ".cache"
    if not store.is_dir():
        return None
    found = {}
    for entry in store.glob("check-*"):
        try:
            r = cloudpickle.loads(base64.b64decode(json.loads(entry.read_text())["result"]))
        except Exception:  # noqa: BLE001  an entry of older code: check anew
            continue
        found[(r.file, r.sha256)] = r
    results = [found.get((name, sha256_of(path))) for path, name in files]
    return None if any(r is None for r in results) else results


def run_report(inp: dict, period: str, out: Path, pdf: bool) -> None:
    t = inp["tables"]
    render.render_report(period, inp["aggregates"], t["submissions"], t["findings"], out,
                         catalogue=load_catalogue(), history=inp["history"],
                         completeness=t["completeness"], pdf=pdf)


def run_feedback(inp: dict, period: str, out: Path, raw: Path) -> None:
    feedback.write_feedback(out / "phan_hoi", period, inp["results"], inp["tables"]["statuses"],
                            raw / period, load_registry())


@contextmanager
def _clock(times: dict[str, list[float]], name: str):
    """Wall time under `name`; the CPU time of this process and its children under
    `name (cpu)`, of this process alone under `name (cpu, this process)`: on a shared machine
    the CPU times are the steadier measure, and with a helper process the latter is about
    the wall time on an idle machine with two cores."""
    t, c, own = time.perf_counter(), _cpu(), time.process_time()
    yield
    times[name].append(time.perf_counter() - t)
    times[f"{name} (cpu)"].append(_cpu() - c)
    times[f"{name} (cpu, this process)"].append(time.process_time() - own)


def _cpu() -> float:
    import os

    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports-dir", type=Path, required=True)
    ap.add_argument("--raw-dir", type=Path, required=True)
    ap.add_argument("--period", required=True)
    ap.add_argument("--out", type=Path, default=None, help="default: /tmp/render_bench/<period>")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-pdf", action="store_true")
    ap.add_argument("--only", choices=("report", "feedback"), default=None)
    ap.add_argument("--profile", choices=("report", "feedback"), default=None)
    args = ap.parse_args()
    out = args.out or Path("/tmp/render_bench") / args.period
    out.mkdir(parents=True, exist_ok=True)
    reg = load_registry()
    print(f"imports {T_IMPORT:.2f} s; registry top {reg.top_code} {reg.top_name}; "
          f"{len(reg.districts(parse_period(args.period)))} districts")
    t = time.perf_counter()
    inp = _inputs(args.reports_dir, args.raw_dir, args.period, out)
    print(f"inputs {time.perf_counter() - t:.1f} s: {len(inp['results'])} files, "
          f"{len(inp['aggregates'])} aggregate rows")
    pdf = not args.no_pdf
    if args.profile:
        from pyinstrument import Profiler

        run = (lambda: run_report(inp, args.period, out, pdf)) if args.profile == "report" \
            else (lambda: run_feedback(inp, args.period, out, args.raw_dir))
        run()  # warm: lazy imports, font caches
        prof = Profiler(interval=0.001)
        prof.start()
        run()
        prof.stop()
        print(prof.output_text(unicode=True, color=False, show_all=False))
        return
    _instrument()
    times: dict[str, list[float]] = defaultdict(list)
    for i in range(args.repeat + 1):  # the first run is a warm-up: lazy imports, caches
        PARTS.clear()
        warm = i == 0
        sink: dict[str, list[float]] = defaultdict(list) if warm else times
        if args.only in (None, "report"):
            with _clock(sink, "render_report"):
                run_report(inp, args.period, out, pdf)
        if args.only in (None, "feedback"):
            with _clock(sink, "write_feedback"):
                run_feedback(inp, args.period, out, args.raw_dir)
        if warm:
            print("warm-up: " + ", ".join(f"{k} {v[0]:.2f} s" for k, v in sink.items()))
            continue
        for part, seconds in PARTS.items():
            times[f"  {part}"].append(seconds)
        if "render_report" in times:
            rest = times["render_report"][-1] - sum(
                seconds for part, seconds in PARTS.items()
                if part not in ("marked copies", "tom_tat.html"))
            times["  report, the rest (tables, HTML)"].append(rest)
    for name, values in times.items():
        runs = ", ".join(f"{v:.3f}" for v in values)
        print(f"{name:36s} median {statistics.median(values):6.3f} s   ({runs})")


if __name__ == "__main__":
    main()
