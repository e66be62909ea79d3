"""Prefect flows: tasks do the I/O, the flow only wires them together.

`period_report` is an async flow: a synchronous flow call costs Prefect about a
second of heartbeat join (docs/PREFECT-NOTES), an async one does not. Files are
checked in batches, one task per batch (`pipelines.check.batches`), in this process, on worker
processes when there are many, or on a Dask cluster (`with_task_runner("dask")`). A
file's check is cached by its content hash and the rules' version in
`<reports>/.cache/checks`, so a rerun reads only what changed; a report whose inputs are
unchanged today is kept. Two runs of one period never write at once (`pipelines.base.lock`);
runs of different periods take turns on the record, one connection at a time
(`pipelines.record.db`). A period's record (values, sheets, findings, submissions, the run and
the aggregates, summed here from the same frames) is one transaction; every output file is
written to a temporary file and renamed (`pipelines.base.atomic`), and a run first sweeps the
temporary files a killed run left. Retries with backoff are on file and database I/O only.
"""
from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd
from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from pipelines.base import atomic, cache, timings
from pipelines.base.lock import period_lock
from pipelines.check import batches
from pipelines.check import period as period_checks
from pipelines.check.batches import FileToCheck
from pipelines.check.result import WorkbookResult
from pipelines.record import db as record
from pipelines.record import outputs
from pipelines.record.aggregate import aggregate
from pipelines.record.boundaries import restated
from pipelines.record.series import (changed_units_table, registry_tables, stock_indicators,
                                     with_validity)
from pipelines.report import official
from pipelines.service.artifacts import (artifact_key, submissions_table, summary_markdown,
                                         validation_markdown)
from pipelines.service.schedules import current_period, load_schedules, period_for, run_date
from pipelines.settings import Settings, get_settings
from schemas.periods import parse_period
from schemas.programme import Programme, load_programme

if TYPE_CHECKING:
    from pipelines.check.targets import Targets

def _worth_retrying(task, task_run, state) -> bool:
    """Not when the record stayed busy for the whole `record_timeout`: that wait was the
    retry already (`record.RecordBusy`)."""
    return not isinstance(getattr(state, "data", None), record.RecordBusy)


IO_RETRIES = dict(retries=2, retry_delay_seconds=[1, 4],  # file and database I/O only
                  retry_condition_fn=_worth_retrying)


@task(name="discover-files", cache_policy=NO_CACHE, **IO_RETRIES)
def discover_files(raw_period_dir: str, period: str, settings: Settings, refresh: bool = False
                   ) -> tuple[list[FileToCheck], dict[str, WorkbookResult]]:
    """Every file of the period folder with its cache key and a label for its task, and the
    results already in the cache for the files that have not changed (none with `refresh`):
    `pipelines.check.period.discover`."""
    with timings.step("discover"):
        db = settings.record_path
        known = record.districts_by_hash(db, wait=settings.record_timeout) if db.exists() else {}
        found = period_checks.discover(Path(raw_period_dir), period, settings,
                                       settings.programme(), known, refresh)
        return found.files, found.cached


@task(name="check-files", cache_policy=NO_CACHE, task_run_name="kiểm tra {label}")
def check_files(files: list[FileToCheck], period: str, settings: Settings, workers: int = 0,
                label: str = "") -> list[WorkbookResult]:
    """Check a batch of files (in this process, or in the worker pool) and cache each
    result; `label` names the task in the UI."""
    with timings.step("check"):
        return period_checks.check_batch(files, period, settings, workers)


@task(name="compare-with-record", cache_policy=NO_CACHE)
def compare_with_record(results: list[WorkbookResult], period: str, settings: Settings
                        ) -> list[WorkbookResult]:
    """R14-R16: each workbook against earlier periods on record and the period's peers."""
    with timings.step("history"):
        db = settings.record_path
        on_record = record.read_values(db, wait=settings.record_timeout) if db.exists() else None
        return period_checks.add_history(results, parse_period(period), settings.programme(),
                                         on_record)


@task(name="resolve-submissions", cache_policy=NO_CACHE)
def resolve_submissions(results: list[WorkbookResult], period: str, settings: Settings,
                        deadline: str | None = None) -> tuple[list[WorkbookResult], dict]:
    """The history rules (R14-R16), then what counts: the period's tables."""
    results = compare_with_record.fn(results, period, settings)
    with timings.step("tables"):
        return results, period_checks.period_tables(results, period, settings.programme(),
                                                    deadline)


def aggregate_tables(tables: dict, period: str, programme: Programme | None = None
                     ) -> pd.DataFrame:
    """The period's sums unit -> district -> top, from its tables: the values of the counted
    workbooks' accepted sheets and which sheets were accepted, the very rows
    `record_and_aggregate` puts on record."""
    programme = programme or load_programme()
    values, accepted = period_checks.accepted_values(tables)
    return aggregate(values, accepted, programme.registry, parse_period(period),
                     programme.catalogue)


@task(name="record-and-aggregate", cache_policy=NO_CACHE, **IO_RETRIES)
def record_and_aggregate(tables: dict, period: str, settings: Settings, run_id: str
                         ) -> pd.DataFrame:
    """Sum the period's accepted numbers unit -> district -> top, then keep the numbers and
    the sums on record in one transaction (`record.write_period`): a run killed or failing
    here leaves the record as the last finished run left it, and a retry redoes it all."""
    programme = settings.programme()
    with timings.step("aggregate"):
        agg = aggregate_tables(tables, period, programme)
    with timings.step("record"):
        units, successions = registry_tables(programme.registry)
        record.write_period(settings.record_path, period, run_id,
                            submissions=tables["submissions"], sheets=tables["sheets"],
                            values=with_validity(tables["values"], programme.registry,
                                                 parse_period(period)),
                            findings=tables["findings"], aggregates=agg, units=units,
                            successions=successions, wait=settings.record_timeout)
    return agg


@task(name="write-outputs", cache_policy=NO_CACHE, **IO_RETRIES)
def write_outputs(out_dir: str, period: str, results: list[WorkbookResult], tables: dict,
                  aggregates: pd.DataFrame, raw_period_dir: str, settings: Settings
                  ) -> tuple[list[str], dict[str, list[str]]]:
    """The machine-readable tables, and each district's feedback under `phan_hoi/`."""
    from pipelines.feedback import folders as feedback

    out = Path(out_dir)
    with timings.step("write-tables"):
        outputs.write_aggregates_csv(out / "aggregates.csv", aggregates)
        outputs.write_submissions_csv(out / "submissions.csv", tables["submissions"])
        outputs.write_findings_csv(out / "findings.csv", tables["findings"])
        outputs.write_completeness_csv(out / "completeness.csv", tables["completeness"])
    with timings.step("feedback"):
        written = feedback.write_feedback(out / "phan_hoi", period, results, tables["statuses"],
                                          Path(raw_period_dir), settings.programme().registry,
                                          settings.limits)
    return ([str(out / n) for n in ("aggregates.csv", "submissions.csv", "findings.csv",
                                    "completeness.csv")],
            {k: [str(p) for p in v] for k, v in written.items()})


def read_targets(settings: Settings) -> "Targets | None":
    """The optional targets file in the raw root (`muc_tieu.xlsx` or `.csv`)."""
    from pipelines.check import targets

    with timings.step("targets"):
        path = targets.find_targets(settings.raw_dir)
        programme = settings.programme()
        return targets.read_targets(path, programme.catalogue, programme.registry) if path else None


def earlier_aggregates(settings: Settings, period: str) -> pd.DataFrame | None:
    current, db, wait = parse_period(period), settings.record_path, settings.record_timeout
    earlier = [p for p in record.recorded_periods(db, wait=wait)
               if parse_period(p).sort_key < current.sort_key]
    if not earlier:
        return None
    programme = settings.programme()  # a period across a boundary change: on today's boundaries
    return restated(record.read_aggregates(db, earlier, wait=wait),
                    lambda p: record.read_period(db, p, wait=wait), programme.registry,
                    current, programme.catalogue)


class PeriodRefused(ValueError):
    """A period the district form cannot report (`Registry.refusal` says why)."""


def boundary_series(settings: Settings, period: str) -> pd.DataFrame | None:
    """The series of the units a boundary change made (absorbers, recoded units) since the
    first period on record, as reported and on this period's boundaries, for the summary
    workbook; None when no boundary changed over the periods on record."""
    programme, db, wait = settings.programme(), settings.record_path, settings.record_timeout
    registry, current = programme.registry, parse_period(period)
    if not registry.successions:
        return None
    shown = [parse_period(p) for p in record.recorded_periods(db, wait=wait)]
    shown = [p for p in shown if p.sort_key <= current.sort_key]
    if not shown or not registry.carried(shown[0], current):
        return None
    values = record.read_values(db, wait=wait, indicators=stock_indicators(programme.catalogue))
    values = values[values["period"].isin({str(p) for p in shown})]
    return changed_units_table(values, registry, programme.catalogue, current)


@task(name="render-report", cache_policy=NO_CACHE, **IO_RETRIES)
def render_outputs(period: str, out_dir: str, aggregates: pd.DataFrame, tables: dict,
                   settings: Settings
                   ) -> tuple[dict[str, str], "Targets | None", pd.DataFrame | None]:
    """The leaders' report (HTML, PDF, summary workbook, charts), against the targets file
    when there is one; returns the files written, the targets and the earlier periods' figures
    it was made with. When today's inputs are those of the report already there
    (`.render.json`: a digest of every input, and the rendering code), it stands as it is."""
    goals = read_targets(settings)
    pdf, programme = settings.pdf, settings.programme()
    other_units = programme.registry.source is not None
    with timings.step("render"):
        from pipelines.base.atomic import write_text
        from pipelines.report.render import render_report

        history = earlier_aggregates(settings, period)
        series = boundary_series(settings, period)
        aimed = ((goals.source, cache.frame_digest(goals.frame), *map(str, goals.problems))
                 if goals else ("no targets",))
        key = cache.render_key(
            period, str(pdf), date.today().isoformat(),  # the report says when it was made
            f"min_coverage={settings.min_coverage}",  # which changes the sentences state
            *(cache.frame_digest(f) for f in (aggregates, tables["submissions"],
                                             tables["findings"], tables["completeness"], history,
                                             series)),
            *aimed, official.fingerprint(settings.official_path, other_units),  # heading, signer
            cache.source_digest(settings.units_path))  # the districts named
        stamp = Path(out_dir) / ".render.json"
        before = _read_json(stamp)
        if (before.get("key") == key and before.get("paths")
                and all(Path(p).exists() for p in before["paths"].values())):
            timings.count(render_skipped=1)  # the same inputs today: the report stands
            return before["paths"], goals, history
        paths = render_report(period, aggregates, tables["submissions"], tables["findings"],
                              Path(out_dir), catalogue=programme.catalogue, history=history,
                              completeness=tables["completeness"], targets=goals, pdf=pdf,
                              min_coverage=settings.min_coverage, registry=programme.registry,
                              official_path=settings.official_path,
                              helper=settings.render_helper, unit_series=series)
        written = {k: str(v) for k, v in paths.items()}
        if "pdf" in written or not pdf:  # a PDF that failed is tried again next time
            write_text(stamp, json.dumps({"key": key, "paths": written}, ensure_ascii=False))
        timings.count(render_skipped=0)
        return written, goals, history


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


@flow(name="period-report", log_prints=False)
async def period_report(period: str, raw_dir: str | None = None,
                        reports_dir: str | None = None, deadline: str | None = None,
                        refresh: bool = False, check_workers: int | None = None) -> dict:
    """Read, check, record, aggregate and render one period's submissions.

    `deadline` (ISO date) overrides the reporting deadline of `schemas/data/checks.toml`;
    `refresh` re-reads every file instead of using the cache; `check_workers`: processes
    to check files in (default: `THONGKE_FILE_WORKERS`, else automatic; 0 in-process).
    The run's counts and timings go to `<reports>/<period>/run.json`.
    """
    started = time.perf_counter()
    settings = get_settings(raw_dir=raw_dir, reports_dir=reports_dir)
    period = str(parse_period(period))
    if (refused := settings.programme().registry.refusal(parse_period(period))) is not None:
        raise PeriodRefused(refused)
    raw_period = settings.raw_dir / period
    out_dir = settings.reports_dir / period
    timings.pause_in(settings.reports_dir)  # fault injection (kill tests) only
    with period_lock(settings.reports_dir, period, settings.lock_timeout,
                     on_wait=lambda: _say_waiting(period, settings.lock_timeout)):
        sweep_leftovers(out_dir, settings.reports_dir)
        # quote(): large values pass as they are; Prefect would otherwise walk every list,
        # dict and dataclass inside them looking for futures (seconds at national scale)
        results, tables = resolve_submissions(
            quote(check_period_files(raw_period, period, settings, refresh, check_workers)),
            period, settings, deadline)
        aggregates = record_and_aggregate(quote(tables), period, settings, str(uuid.uuid4()))
        written, feedback = write_outputs(str(out_dir), period, quote(results), quote(tables),
                                          quote(aggregates), str(raw_period), settings)
        report, goals, past = render_outputs(period, str(out_dir), quote(aggregates),
                                             quote(tables), settings)
        summary = summarise(period, tables, written, report, feedback)
        summary["target_problems"] = [str(p) for p in goals.problems] if goals else []
        summary["run"] = timings.summary(time.perf_counter() - started)
        publish_artifacts(period, quote(summary), quote(tables), quote(aggregates), quote(past),
                          settings, goals, str(out_dir))
    return summary


STALE_CACHE_TEMP = 600.0  # seconds: a temporary cache file this old has no live writer


def sweep_leftovers(out_dir: Path, reports_dir: Path) -> None:
    """Remove the temporary files a killed run left (`pipelines.base.atomic`): every one in the
    period's folder (only this run writes there: it holds the period's lock), and those of
    the shared check cache old enough that no running check of any period owns them."""
    swept = atomic.sweep_temps(out_dir)
    swept += atomic.sweep_temps(batches.cache_dir(reports_dir), older_than=STALE_CACHE_TEMP)
    timings.count(temps_swept=len(swept))


def _say_waiting(period: str, timeout: float) -> None:
    import sys

    print(f"Kỳ {period} đang được một lần chạy khác xử lý: chờ lần chạy đó xong "
          f"(tối đa {timeout:g} giây)…", file=sys.stderr, flush=True)


def check_period_files(raw_period: Path, period: str, settings, refresh: bool = False,
                       workers: int | None = None) -> list[WorkbookResult]:
    """Inside a flow: every file of the period folder, from the cache when the file's
    content and the rules are unchanged, the rest in batches (`pipelines.check.batches`), one
    task per batch. `workers`: processes to check in (None: the setting, else automatic)."""
    files, cached = discover_files(str(raw_period), period, settings, refresh)
    todo = [f for f in files if f.key not in cached]
    timings.count(files_read=len(todo), files_cached=len(files) - len(todo))
    if workers is None:
        workers = batches.workers_for(len(todo), settings.file_workers)
    plan = batches.plan(todo, workers)
    futures = check_files.map(plan, period=unmapped(period), settings=unmapped(settings),
                              workers=unmapped(workers),
                              label=[batches.batch_label(b) for b in plan])
    fresh = {f.key: r for batch, fut in zip(plan, futures) for f, r in zip(batch, fut.result())}
    return [cached[f.key] if f.key in cached else fresh[f.key] for f in files]


@task(name="publish-artifacts", cache_policy=NO_CACHE, **IO_RETRIES)
def publish_artifacts(period: str, summary: dict, tables: dict, aggregates: pd.DataFrame,
                      history: pd.DataFrame | None, settings: Settings,
                      goals: "Targets | None" = None, out_dir: str | None = None) -> None:
    """A table of the submissions and a note with the key figures, for the Prefect UI; and
    `run.json` in `out_dir`: files read and taken from the cache, and the run's timings
    (up to this task)."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    from pipelines.base.atomic import write_text
    from pipelines.report.render import key_figures

    if out_dir is not None and summary.get("run"):
        write_text(Path(out_dir) / "run.json", json.dumps(summary["run"], ensure_ascii=False,
                                                          indent=1))
    per = parse_period(period)
    registry = settings.programme().registry
    names = {d.code: d.name for d in registry.districts(per)}
    create_table_artifact(key=artifact_key("nop-bao-cao", period),
                          table=submissions_table(tables["submissions"], names),
                          description=f"Các tệp đã nhận kỳ {per.label} và kết quả kiểm tra")
    figures = key_figures(period, aggregates, history=history, targets=goals, registry=registry,
                          min_coverage=settings.min_coverage)
    create_markdown_artifact(key=artifact_key("bao-cao", period),
                             markdown=summary_markdown(per.label, summary, figures),
                             description=f"Số liệu chính và tệp kết quả kỳ {per.label}")


def with_task_runner(kind: str, settings: Settings | None = None):
    """`period_report` on the default thread pool (`thread`) or a local Dask cluster (`dask`,
    through prefect-dask; `THONGKE_DASK_ADDRESS` names an existing cluster instead)."""
    if kind == "thread":
        return period_report
    if kind != "dask":
        raise ValueError(f"task runner không hợp lệ: {kind} (thread hoặc dask)")
    from prefect_dask import DaskTaskRunner

    address = (settings or get_settings()).dask_address
    runner = (DaskTaskRunner(address=address) if address else
              DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1,
                                             "processes": True, "dashboard_address": None}))
    return period_report.with_options(task_runner=runner)


def summarise(period: str, tables: dict, written: list[str], report: dict,
              feedback: dict[str, list[str]] | None = None) -> dict:
    """What the run did, with every file in the period folder and what became of it."""
    subs, findings = tables["submissions"], tables["findings"]
    return {
        "period": period,
        "files": len(subs),
        "file_status": dict(zip(subs["file"], subs["status"])),
        "by_status": dict(Counter(subs["status"])),
        "by_rule": dict(sorted(Counter(findings["rule"]).items())),
        "errors": int((findings["severity"] == "error").sum()),
        "warnings": int((findings["severity"] == "warning").sum()),
        "outputs": written,
        "report": report,
        "feedback": feedback or {},
        "completeness": _reporting(tables["completeness"]),
    }


def _reporting(frame: pd.DataFrame) -> dict:
    """The city's line of the completeness table, and who has not reported."""
    city = frame[frame["level"] == "city"].iloc[0]
    districts = frame[frame["level"] == "district"]
    return {**{k: int(city[k]) for k in ("expected", "received", "on_time", "accepted",
                                          "partial", "rejected", "missing")},
            "not_received": _names(districts.loc[districts["received"] == 0]),
            "deadline": city["deadline"].strftime("%d/%m/%Y")}


def _names(districts: pd.DataFrame) -> list[str]:
    """District names, with the code where one name is shared (national scale)."""
    shared = districts["district_name"].duplicated(keep=False)
    return [f"{n} ({c})" if dup else n for n, c, dup in
            zip(districts["district_name"], districts["district_code"], shared)]


# --- the scheduled flows (deployments: pipelines/deploy.py) ------------------------------

@flow(name="scheduled-report", log_prints=False)
async def scheduled_report(kind: Literal["H1", "year"] = "H1", period: str | None = None,
                           raw_dir: str | None = None, reports_dir: str | None = None) -> dict:
    """The 6-month (`H1`) or annual (`year`) report; without `period`, the period is the
    latest of that kind ended by the run's scheduled date in the schedules' time zone."""
    settings = get_settings(raw_dir=raw_dir)
    if not period:
        period = period_for(kind, run_date(load_schedules(settings.schedules_path).timezone))
    period = str(parse_period(period))
    folder = settings.raw_dir / period
    if not has_files(folder):  # a clear reason in the UI, not a stack trace
        raise RuntimeError(f"chưa nhận được báo cáo nào của kỳ {period}: thư mục {folder} "
                           "không có hoặc không có tệp nào; chưa lập báo cáo.")
    get_run_logger().info("Lập báo cáo kỳ %s từ %s.", period, folder)
    return await period_report(period=period, raw_dir=raw_dir, reports_dir=reports_dir)


def has_files(folder: Path) -> bool:
    return folder.is_dir() and any(p.is_file() for p in folder.rglob("*"))


@flow(name="validate-arrivals", log_prints=False)
async def validate_arrivals(period: str | None = None, raw_dir: str | None = None,
                            reports_dir: str | None = None) -> dict:
    """Check every file that has arrived for the period being reported (or `period`) and
    write each district's feedback (`reports/<period>/phan_hoi/`). Records nothing,
    aggregates nothing, renders no report."""
    from pipelines.base.lock import PeriodBusy, period_lock

    log = get_run_logger()
    settings = get_settings(raw_dir=raw_dir, reports_dir=reports_dir)
    when = run_date(load_schedules(settings.schedules_path).timezone)
    period = str(parse_period(period)) if period else current_period(when)
    raw_period = settings.raw_dir / period
    out_dir = settings.reports_dir / period
    if not has_files(raw_period):
        log.info("Chưa nhận báo cáo nào của kỳ %s (thư mục %s không có hoặc trống).", period,
                 raw_period)
        return {"period": period, "files": 0, "skipped": f"chưa có tệp nào trong {raw_period}"}
    try:
        with period_lock(settings.reports_dir, period, settings.lock_timeout):
            results = check_period_files(raw_period, period, settings)
            try:
                results = compare_with_record(quote(results), period, settings)
            except Exception as exc:  # a record busy with another period's run
                log.warning("Chưa so sánh được với sổ lưu số liệu (R14-R16): %s", exc)
            tables = period_checks.period_tables(results, period, settings.programme())
            feedback = write_district_feedback(str(out_dir), period, quote(results),
                                               tables["statuses"], str(raw_period), settings)
    except PeriodBusy as exc:
        log.warning(str(exc))
        return {"period": period, "files": 0, "skipped": str(exc)}
    summary = summarise(period, tables, [], {}, feedback)
    summary["checked_on"] = when.isoformat()
    publish_validation(summary, str(out_dir / "phan_hoi"))
    c = summary["completeness"]
    log.info("Kỳ %s: %d tệp; %d/%d quận, huyện đã nộp; %d lỗi, %d cảnh báo.", period,
             summary["files"], c["received"], c["expected"], summary["errors"],
             summary["warnings"])
    return summary


@task(name="write-district-feedback", cache_policy=NO_CACHE, retries=2,
      retry_delay_seconds=[1, 4])
def write_district_feedback(out_dir: str, period: str, results: list, statuses: dict[str, str],
                            raw_period_dir: str, settings: Settings) -> dict[str, list[str]]:
    from pipelines.feedback import folders as feedback

    written = feedback.write_feedback(Path(out_dir) / "phan_hoi", period, results, statuses,
                                      Path(raw_period_dir), settings.programme().registry,
                                      settings.limits)
    return {k: [str(p) for p in v] for k, v in written.items()}


@task(name="publish-validation", cache_policy=NO_CACHE)
def publish_validation(summary: dict, feedback_dir: str) -> None:
    """A markdown note in the Prefect UI (Artifacts), one key per period."""
    from prefect.artifacts import create_markdown_artifact

    per = parse_period(summary["period"])
    create_markdown_artifact(key=artifact_key("kiem-tra", summary["period"]),
                             markdown=validation_markdown(summary, feedback_dir),
                             description=f"Kiểm tra các tệp đã nhận kỳ {per.label}")
