"""When the flows run: `schemas/data/schedules.toml` (or the file named by THONGKE_SCHEDULES)
holds the time zone, the crons, the deployment names, the folders and the event trigger;
`load_schedules` reads and checks it. `period_for` and `current_period` turn a run's date
into the period it reports."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.settings import PROJECT_ROOT

SCHEDULES_PATH = PROJECT_ROOT / "schemas" / "data" / "schedules.toml"


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


def load_schedules(path: Path | str) -> Schedules:
    """Read and check the schedules file at `path` (the settings' `schedules_path`): unknown
    keys, bad crons and time zones are errors."""
    path = Path(path)
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
