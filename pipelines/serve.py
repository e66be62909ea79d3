"""Officers schedule and watch the flows: deployments, a standing Prefect server, `serve`.

- `schemas/data/schedules.toml` (or the file named by THONGKE_SCHEDULES) holds the time zone,
  the crons, the deployment names, the folders and the event trigger; `load_schedules` reads
  it.
- Flows for schedules: `scheduled_report` (the 6-month or annual report of the period the
  run's date falls after, `period_for`) and `validate_arrivals` (check what has arrived for
  the period being reported and write each district's feedback, `current_period`).
- `deployments()` builds the RunnerDeployments: the two scheduled reports, the daily
  validation, the "report for any period" run by hand, and the full report rerun by the
  event `thongke.submission.changed` (`pipelines/watch.py`). `serve_all()` serves them
  (blocks) against the server named by PREFECT_API_URL.
- `start_server()` runs `prefect server start` with its SQLite database under a project
  folder (`.prefect/`); `wait_healthy()` and `stop_process()` (pipelines/processes.py) wait
  for its `/api/health` and stop it with its process group.

The CLI's `thongke server` and `thongke serve` call `main`; `python -m pipelines.serve
server|serve` does the same (Makefile: `make server`). Nothing happens at import time.
"""
from __future__ import annotations

import os
import sys

# Prefect reads its settings once, when it is imported: `python -m pipelines.serve serve`
# sets its defaults first, then runs the command from the module under its real name (the
# deployments name their flows by module, and `__main__` is no module a runner can load).
SERVER_URL = "http://127.0.0.1:4200"
CLIENT_ENV_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}

if __name__ == "__main__":
    for _key, _value in CLIENT_ENV_DEFAULTS.items():
        os.environ.setdefault(_key, _value)
    if sys.argv[1:2] == ["serve"]:  # not for `server`: its UI takes its API address from it
        os.environ.setdefault("PREFECT_API_URL", f"{SERVER_URL}/api")
    from pipelines.serve import main as _main

    sys.exit(_main(sys.argv[1:]))

import signal  # noqa: E402
import subprocess  # noqa: E402
import tomllib  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import date, datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Literal  # noqa: E402
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # noqa: E402

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.utilities.annotations import quote  # noqa: E402

from pipelines.flows import (check_period_files, compare_with_record,  # noqa: E402
                             period_report, period_tables, summarise)
from pipelines.processes import stop_process, wait_healthy  # noqa: E402,F401
from pipelines.settings import PROJECT_ROOT, get_settings  # noqa: E402
from schemas.periods import parse_period  # noqa: E402

SCHEDULES_PATH = PROJECT_ROOT / "schemas" / "data" / "schedules.toml"
DEFAULT_HOME = PROJECT_ROOT / ".prefect"  # the standing server's SQLite database and logs
TAGS = ["thongke"]


# --- schedules.toml -------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """One deployment: its name and crons (empty: run by hand only)."""
    deployment: str
    cron: tuple[str, ...] = ()


@dataclass(frozen=True)
class OnChange:
    """The rerun of a period's report when its files change (an event trigger)."""
    enabled: bool = True
    deployment: str = "bao-cao-khi-co-tep-moi"
    event: str = "thongke.submission.changed"
    debounce_seconds: int = 60


@dataclass(frozen=True)
class Schedules:
    timezone: str = "Asia/Ho_Chi_Minh"
    raw_dir: str = ""  # empty: the project's settings
    reports_dir: str = ""
    h1_report: Job = Job("bao-cao-6-thang", ("0 7 10 7 *",))
    year_report: Job = Job("bao-cao-nam", ("0 7 10 1 *",))
    validation: Job = Job("kiem-tra-hang-ngay", ("0 17 * 1,7 *",))
    manual: Job = Job("bao-cao-theo-ky")
    on_change: OnChange = OnChange()

    def folders(self) -> dict[str, str]:
        """The folder parameters every deployment gets: only those set in the file."""
        return {k: v for k, v in (("raw_dir", self.raw_dir), ("reports_dir", self.reports_dir))
                if v}


def schedules_path(path: Path | str | None = None) -> Path:
    return Path(path or os.environ.get("THONGKE_SCHEDULES") or SCHEDULES_PATH)


def load_schedules(path: Path | str | None = None) -> Schedules:
    """Read and check the schedules file (unknown keys, bad crons and time zones are errors)."""
    path = schedules_path(path)
    with open(path, "rb") as fh:
        return parse_schedules(tomllib.load(fh), str(path))


def parse_schedules(data: dict, source: str = "schedules.toml") -> Schedules:
    from prefect._internal.schemas.validators import validate_cron_string

    def fail(message: str):
        raise ValueError(f"{source}: {message}")

    def section(name: str, keys: set[str]) -> dict:
        value = data.get(name, {})
        if not isinstance(value, dict):
            fail(f"[{name}] phải là một mục (bảng)")
        unknown = set(value) - keys
        if unknown:
            fail(f"khóa không hợp lệ trong [{name}]: {', '.join(sorted(unknown))}")
        return value

    def text(name: str, key: str, value, allow_empty: bool = False) -> str:
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            where = f"{name}.{key}" if name else key
            fail(f"{where} phải là một chuỗi{'' if allow_empty else ' không rỗng'}")
        return value.strip()

    def job(name: str, default: Job, scheduled: bool = True) -> Job:
        sec = section(name, {"deployment", "cron"} if scheduled else {"deployment"})
        crons = sec.get("cron", list(default.cron))
        if isinstance(crons, str):
            crons = [crons]
        if not isinstance(crons, list):
            fail(f"{name}.cron phải là một chuỗi hoặc danh sách chuỗi")
        for c in crons:
            try:
                validate_cron_string(text(name, "cron", c))
            except ValueError:
                fail(f"{name}.cron: biểu thức cron không hợp lệ: {c!r}")
        return Job(text(name, "deployment", sec.get("deployment", default.deployment)),
                   tuple(c.strip() for c in crons))

    unknown = set(data) - {"timezone", "folders", "h1_report", "year_report", "validation",
                           "manual", "on_change"}
    if unknown:
        fail(f"khóa không hợp lệ: {', '.join(sorted(unknown))}")
    default = Schedules()
    tz = text("", "timezone", data.get("timezone", default.timezone))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"múi giờ không hợp lệ: {tz!r}")
    folders = section("folders", {"raw_dir", "reports_dir"})
    sec = section("on_change", {"enabled", "deployment", "event", "debounce_seconds"})
    enabled, debounce = sec.get("enabled", True), sec.get("debounce_seconds", 60)
    if not isinstance(enabled, bool):
        fail("on_change.enabled phải là true hoặc false")
    if not isinstance(debounce, int) or isinstance(debounce, bool) or debounce < 0:
        fail("on_change.debounce_seconds phải là một số nguyên không âm (giây)")
    on_change = OnChange(enabled, text("on_change", "deployment",
                                       sec.get("deployment", OnChange.deployment)),
                         text("on_change", "event", sec.get("event", OnChange.event)), debounce)
    result = Schedules(
        timezone=tz,
        raw_dir=text("folders", "raw_dir", folders.get("raw_dir", ""), allow_empty=True),
        reports_dir=text("folders", "reports_dir", folders.get("reports_dir", ""),
                         allow_empty=True),
        h1_report=job("h1_report", default.h1_report),
        year_report=job("year_report", default.year_report),
        validation=job("validation", default.validation),
        manual=job("manual", default.manual, scheduled=False),
        on_change=on_change,
    )
    names = [result.h1_report.deployment, result.year_report.deployment,
             result.validation.deployment, result.manual.deployment, on_change.deployment]
    if len(set(names)) != len(names):
        fail("các tên deployment phải khác nhau")
    return result


# --- periods from dates ---------------------------------------------------------------------

def period_for(kind: str, today: date) -> str:
    """The latest period of `kind` that has ended by `today`: `H1` -> `YYYY-H1` of this year
    from July on, of last year before; `year` -> last year (10 January 2027 -> `2026`)."""
    key = str(kind).strip().lower()
    if key == "h1":
        return f"{today.year if today.month >= 7 else today.year - 1}-H1"
    if key in ("year", "nam", "năm"):
        return str(today.year - 1)
    raise ValueError(f"loại báo cáo không hợp lệ: {kind!r} (H1 hoặc year)")


def current_period(today: date) -> str:
    """The period being reported on `today`: the latest that has ended (July-December:
    `YYYY-H1`; January-June: the year before)."""
    return period_for("H1" if today.month >= 7 else "year", today)


def run_date(tz: str) -> date:
    """The date, in `tz`, the current flow run was scheduled for (so a late run still takes
    its schedule's period), or today outside a flow run."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    when = getattr(getattr(ctx, "flow_run", None), "expected_start_time", None)
    return (when or datetime.now(timezone.utc)).astimezone(ZoneInfo(tz)).date()


# --- flows ----------------------------------------------------------------------------------

@flow(name="scheduled-report", log_prints=False)
async def scheduled_report(kind: Literal["H1", "year"] = "H1", period: str | None = None,
                           raw_dir: str | None = None, reports_dir: str | None = None) -> dict:
    """The 6-month (`H1`) or annual (`year`) report; without `period`, the period is the
    latest of that kind ended by the run's scheduled date in the schedules' time zone."""
    if not period:
        period = period_for(kind, run_date(load_schedules().timezone))
    period = str(parse_period(period))
    folder = get_settings(raw_dir=raw_dir).raw_dir / period
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
    from pipelines.lock import PeriodBusy, period_lock

    log = get_run_logger()
    settings = get_settings(raw_dir=raw_dir, reports_dir=reports_dir)
    when = run_date(load_schedules().timezone)
    period = str(parse_period(period)) if period else current_period(when)
    raw_period = settings.raw_dir / period
    out_dir = settings.reports_dir / period
    if not has_files(raw_period):
        log.info("Chưa nhận báo cáo nào của kỳ %s (thư mục %s không có hoặc trống).", period,
                 raw_period)
        return {"period": period, "files": 0, "skipped": f"chưa có tệp nào trong {raw_period}"}
    db = str(settings.record_path)
    try:
        with period_lock(settings.reports_dir, period, settings.lock_timeout):
            results = check_period_files(raw_period, period, settings)
            try:
                results = compare_with_record(quote(results), period, db)
            except Exception as exc:  # a record busy with another period's run
                log.warning("Chưa so sánh được với sổ lưu số liệu (R14-R16): %s", exc)
            tables = period_tables(results, period)
            feedback = write_district_feedback(str(out_dir), period, quote(results),
                                               tables["statuses"], str(raw_period))
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
                            raw_period_dir: str) -> dict[str, list[str]]:
    from pipelines import feedback
    from schemas.units import load_registry

    written = feedback.write_feedback(Path(out_dir) / "phan_hoi", period, results, statuses,
                                      Path(raw_period_dir), load_registry())
    return {k: [str(p) for p in v] for k, v in written.items()}


@task(name="publish-validation", cache_policy=NO_CACHE)
def publish_validation(summary: dict, feedback_dir: str) -> None:
    """A markdown note in the Prefect UI (Artifacts), one key per period."""
    from prefect.artifacts import create_markdown_artifact

    from pipelines.artifacts import artifact_key

    per = parse_period(summary["period"])
    create_markdown_artifact(key=artifact_key("kiem-tra", summary["period"]),
                             markdown=validation_markdown(summary, feedback_dir),
                             description=f"Kiểm tra các tệp đã nhận kỳ {per.label}")


def validation_markdown(summary: dict, feedback_dir: str) -> str:
    """What the daily check found, for officers (Vietnamese)."""
    from pipelines.artifacts import findings_line, reporting_line
    from pipelines.submissions import STATUS_VI

    per = parse_period(summary["period"])
    checked = date.fromisoformat(summary["checked_on"]).strftime("%d/%m/%Y")
    lines = [f"# Kiểm tra báo cáo đã nhận: {per.label}", "", f"Ngày kiểm tra: {checked}.", ""]
    c = summary.get("completeness") or {}
    if c:
        lines += [reporting_line(c), ""]
        if c.get("not_received"):
            lines += [f"Chưa nộp: {', '.join(c['not_received'])}.", ""]
    lines += [findings_line(summary), ""]
    if summary.get("file_status"):
        lines += ["| Tệp | Trạng thái |", "| --- | --- |"]
        for file, status in summary["file_status"].items():
            name = str(file).replace("|", "\\|")
            lines.append(f"| {name} | {STATUS_VI.get(status, status)} |")
        lines.append("")
    lines.append(f"Phản hồi gửi từng quận, huyện: `{feedback_dir}`")
    return "\n".join(lines) + "\n"


# --- deployments ----------------------------------------------------------------------------

def on_change_trigger(on_change: OnChange):
    """Run the deployment once per period per burst of `thongke.submission.changed` events.

    Reactive, threshold 1, `within` = the debounce window: the first event of a period
    fires at once and the trigger then ignores that period's events until the window ends;
    the run is scheduled `schedule_after` = the same window later, so it sees every file
    that landed in the window. `for_each` keeps periods apart."""
    from prefect.events import DeploymentEventTrigger
    from prefect.events.schemas.automations import Posture

    window = timedelta(seconds=on_change.debounce_seconds)
    return DeploymentEventTrigger(
        name=f"{on_change.deployment}: {on_change.event}",
        description="Lập lại báo cáo của kỳ có tệp mới hoặc tệp thay đổi.",
        expect={on_change.event},
        match={"prefect.resource.id": "thongke.period.*"},
        for_each={"thongke.period"},
        posture=Posture.Reactive, threshold=1, within=window, schedule_after=window,
        parameters={"period": "{{ event.resource['thongke.period'] }}"},
    )


def _crons(job: Job, tz: str, slug: str) -> list:
    from prefect.schedules import Cron

    return [Cron(c, timezone=tz, slug=f"{slug}-{i}") for i, c in enumerate(job.cron, 1)]


def deployments(settings_path: Path | str | None = None) -> list:
    """The RunnerDeployments `serve` offers (see schedules.toml)."""
    from prefect.types.entrypoint import EntrypointType

    cfg = load_schedules(settings_path)
    folders, tz = cfg.folders(), cfg.timezone
    common = dict(entrypoint_type=EntrypointType.MODULE_PATH)
    out = [
        scheduled_report.to_deployment(
            name=cfg.h1_report.deployment, schedules=_crons(cfg.h1_report, tz, "h1"),
            parameters={"kind": "H1", **folders}, tags=TAGS + ["6-thang"],
            description="Báo cáo 6 tháng theo lịch: đọc, kiểm tra, lưu, tổng hợp và lập báo "
                        "cáo kỳ 6 tháng đầu năm của năm đang chạy (ví dụ chạy ngày 10/7/2026 "
                        "→ kỳ 2026-H1).", **common),
        scheduled_report.to_deployment(
            name=cfg.year_report.deployment, schedules=_crons(cfg.year_report, tz, "year"),
            parameters={"kind": "year", **folders}, tags=TAGS + ["ca-nam"],
            description="Báo cáo năm theo lịch: lập báo cáo cả năm của năm trước (ví dụ chạy "
                        "ngày 10/1/2027 → kỳ 2026).", **common),
        validate_arrivals.to_deployment(
            name=cfg.validation.deployment, schedules=_crons(cfg.validation, tz, "validation"),
            parameters=folders, tags=TAGS + ["kiem-tra"],
            description="Kiểm tra hằng ngày trong đợt nộp báo cáo: kiểm tra các tệp đã nhận "
                        "của kỳ đang nộp (tháng 7-12: 6 tháng đầu năm nay; tháng 1-6: cả năm "
                        "trước) và ghi phản hồi cho từng quận, huyện vào "
                        "reports/<kỳ>/phan_hoi/. Không tổng hợp, không lập báo cáo.", **common),
        period_report.to_deployment(
            name=cfg.manual.deployment, parameters=folders, tags=TAGS + ["theo-yeu-cau"],
            description="Lập báo cáo một kỳ bất kỳ: bấm Run, nhập kỳ vào ô period (ví dụ "
                        "2017-H1 cho 6 tháng đầu năm 2017, 2017 cho cả năm 2017).", **common),
    ]
    if cfg.on_change.enabled:
        out.append(period_report.to_deployment(
            name=cfg.on_change.deployment, parameters=folders, tags=TAGS + ["tu-dong"],
            triggers=[on_change_trigger(cfg.on_change)],
            description=f"Tự động lập lại báo cáo của một kỳ khi có tệp mới hoặc tệp thay "
                        f"đổi trong raw/<kỳ>/: một lần chạy cho các tệp đến trong "
                        f"{cfg.on_change.debounce_seconds} giây.", **common))
    return out


def serve_all(settings_path: Path | str | None = None, limit: int | None = None,
              wait: float = 120.0) -> None:
    """Serve every deployment against the server of PREFECT_API_URL (blocks until stopped;
    on stop Prefect pauses their schedules, the next `serve` resumes them). Waits up to
    `wait` seconds for a server that is still starting (both started at boot)."""
    from prefect import serve
    from prefect.settings import get_current_settings

    api = get_current_settings().api.url
    if not api:  # Prefect would start a temporary server that never runs a schedule
        raise RuntimeError("chưa có địa chỉ máy chủ Prefect: hãy chạy máy chủ (make server) và "
                           f"đặt PREFECT_API_URL={SERVER_URL}/api")
    if wait:
        wait_healthy(api, wait)
    serve(*deployments(settings_path), limit=limit)


# --- the standing server --------------------------------------------------------------------

def server_env(home: Path | str, host: str = "127.0.0.1", port: int = 4200,
               base: dict | None = None) -> dict[str, str]:
    """The environment of `prefect server start`: its home (database, logs), no analytics."""
    env = dict(os.environ if base is None else base)
    env["PREFECT_HOME"] = str(home)
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The UI asks its API at PREFECT_UI_API_URL, by default built from these two: set them
    # so another port works. On 0.0.0.0, officers set PREFECT_UI_API_URL (docs/SERVER.md).
    env["PREFECT_SERVER_API_HOST"] = host
    env["PREFECT_SERVER_API_PORT"] = str(port)
    return env


def start_server(home: Path | str = DEFAULT_HOME, host: str = "127.0.0.1", port: int = 4200,
                 env: dict | None = None, log: Path | None = None) -> subprocess.Popen:
    """Start `prefect server start` in its own process group (so `stop_process` ends
    everything it started); its SQLite database lives in `home`. `env`: the environment
    to start from (default: this process's); `log`: a file for its output."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    out = open(log, "ab") if log else None
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", host,
             "--port", str(port)],
            env=server_env(home, host, port, base=env), start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT if out else None)
    finally:
        if out:
            out.close()


# --- `python -m pipelines.serve` ------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or name to listen on) is this computer only."""
    import ipaddress

    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name or an interface address: reachable from elsewhere


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m pipelines.serve",
        description="Máy chủ Prefect và các lịch chạy của thongke.")
    sub = parser.add_subparsers(dest="command", required=True)
    srv = sub.add_parser("server", help="Chạy máy chủ Prefect (giao diện web và lịch chạy).")
    srv.add_argument("--host", default="127.0.0.1",
                     help="Địa chỉ nghe (mặc định 127.0.0.1; 0.0.0.0 để mở cho mạng nội bộ).")
    srv.add_argument("--port", type=int, default=4200, help="Cổng (mặc định 4200).")
    srv.add_argument("--home", type=Path, default=DEFAULT_HOME,
                     help="Thư mục dữ liệu của máy chủ (mặc định .prefect/ của dự án).")
    srv.add_argument("--timeout", type=float, default=120.0,
                     help="Số giây chờ máy chủ khởi động.")
    srv_cmd = sub.add_parser("serve", help="Đưa các lịch chạy lên máy chủ và chạy chúng.")
    srv_cmd.add_argument("--schedules", type=Path, default=None,
                         help="Tệp lịch chạy (mặc định schemas/data/schedules.toml).")
    srv_cmd.add_argument("--limit", type=int, default=None,
                         help="Số lần chạy đồng thời tối đa.")
    srv_cmd.add_argument("--wait", type=float, default=120.0,
                         help="Số giây chờ máy chủ Prefect sẵn sàng (mặc định 120).")
    args = parser.parse_args(argv)
    if args.command == "server":
        if not is_loopback(args.host) and not os.environ.get("PREFECT_SERVER_API_AUTH_STRING"):
            print(f"Lỗi: không mở máy chủ Prefect ra mạng ({args.host}) khi chưa đặt mật khẩu: "
                  "hãy đặt PREFECT_SERVER_API_AUTH_STRING='tên:mật-khẩu' (xem docs/SERVER.md, "
                  "mục “Opening the server to the office network”).", file=sys.stderr)
            return 2
        return run_server(args.home, args.host, args.port, args.timeout)
    try:
        load_schedules(args.schedules)
    except (OSError, ValueError) as exc:
        print(f"Lỗi: không đọc được tệp lịch chạy: {exc}", file=sys.stderr)
        return 2
    try:
        serve_all(args.schedules, args.limit, args.wait)
    except (RuntimeError, TimeoutError) as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def run_server(home: Path, host: str, port: int, timeout: float = 120.0) -> int:
    """Start the server, say where it is, wait until Ctrl+C or SIGTERM, stop it."""
    def interrupt(signum, frame):  # a service manager's SIGTERM stops it like Ctrl+C
        raise KeyboardInterrupt

    process = start_server(home, host, port)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        try:
            seconds = wait_healthy(f"http://{shown}:{port}", timeout, process)
        except (RuntimeError, TimeoutError) as exc:
            print(f"Lỗi: {exc}", file=sys.stderr)
            return 1
        print(f"Máy chủ Prefect đã chạy ({seconds:.0f} giây): mở http://{shown}:{port} "
              f"(dữ liệu: {home}). Nhấn Ctrl+C để dừng.", flush=True)
        return process.wait() or 0
    except KeyboardInterrupt:
        print("Đang dừng máy chủ Prefect…", file=sys.stderr, flush=True)
        return 0
    finally:
        stop_process(process)
        signal.signal(signal.SIGTERM, previous)
