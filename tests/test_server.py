"""Schedules, deployments and the standing server (issue 5).

Fast tests: the period a scheduled run reports (`period_for`, `current_period`), the
schedules file, the deployments `serve` offers, `prefect.yaml` against both.

The integration test starts a real `prefect server start` on a free loopback port with a
temporary PREFECT_HOME, serves every deployment from a separate process
(`python -m pipelines.deploy serve`, as an officer would), runs "report for any period"
through the API as the UI's Run button does, and sends the watcher's event to see the
event-driven rerun. The pytest process's own Prefect settings (the test harness) are left
alone: the client here is pointed at the server with `temporary_settings`.
"""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import yaml

from builders import write_clean
from pipelines.service import artifacts
from pipelines import deploy
from pipelines import flows
from pipelines.service import server as prefect_server
from pipelines.service import schedules

PROJECT = Path(__file__).resolve().parent.parent
TZ = "Asia/Ho_Chi_Minh"


# --- periods from dates ---------------------------------------------------------------------

@pytest.mark.parametrize("kind, today, expected", [
    ("H1", date(2026, 7, 10), "2026-H1"),    # the scheduled 6-month report
    ("year", date(2027, 1, 10), "2026"),     # the scheduled annual report
    ("H1", date(2026, 7, 1), "2026-H1"),
    ("H1", date(2026, 6, 30), "2025-H1"),    # before the half-year has ended
    ("H1", date(2026, 12, 31), "2026-H1"),
    ("year", date(2026, 12, 31), "2025"),    # the year has not ended yet
    ("h1", date(2026, 8, 1), "2026-H1"),
    ("year", date(2026, 7, 10), "2025"),
])
def test_period_for(kind, today, expected):
    assert schedules.period_for(kind, today) == expected


def test_period_for_rejects_other_kinds():
    with pytest.raises(ValueError, match="H1 hoặc year"):
        schedules.period_for("quarter", date(2026, 7, 10))


@pytest.mark.parametrize("today, expected", [
    (date(2026, 7, 1), "2026-H1"), (date(2026, 7, 31), "2026-H1"),   # the July window
    (date(2027, 1, 1), "2026"), (date(2027, 1, 31), "2026"),         # the January window
    (date(2026, 8, 15), "2026-H1"), (date(2026, 3, 1), "2025"),      # outside: the latest ended
])
def test_current_period(today, expected):
    assert schedules.current_period(today) == expected


# --- schedules.toml -------------------------------------------------------------------------

def test_schedules_file():
    cfg = schedules.load_schedules(schedules.SCHEDULES_PATH)
    assert cfg.timezone == TZ
    assert cfg.h1_report.cron == ("0 7 10 7 *",)
    assert cfg.year_report.cron == ("0 7 10 1 *",)
    assert cfg.validation.cron == ("0 17 * 1,7 *",)
    assert cfg.manual.cron == ()
    assert cfg.on_change.enabled and cfg.on_change.event == "thongke.submission.changed"
    assert cfg.folders() == {}  # empty: the project's settings


def _fire_times(cron: str, start: datetime, n: int) -> list[datetime]:
    """When the server's scheduler would run a cron of the schedules file."""
    from prefect.server.schemas.schedules import CronSchedule

    return asyncio.run(CronSchedule(cron=cron, timezone=TZ).get_dates(n=n, start=start))


def test_schedules_fire_in_hai_phong_time():
    cfg = schedules.load_schedules(schedules.SCHEDULES_PATH)
    start = datetime(2026, 1, 11, tzinfo=timezone.utc)
    (h1,) = _fire_times(cfg.h1_report.cron[0], start, 1)
    assert h1.astimezone(timezone.utc) == datetime(2026, 7, 10, 0, 0, tzinfo=timezone.utc)  # 07:00 +07
    assert schedules.period_for("H1", h1.date()) == "2026-H1"
    (year,) = _fire_times(cfg.year_report.cron[0], start, 1)
    assert (year.year, year.month, year.day, year.hour) == (2027, 1, 10, 7)
    assert schedules.period_for("year", year.date()) == "2026"
    daily = _fire_times(cfg.validation.cron[0], datetime(2026, 2, 1, tzinfo=timezone.utc), 62)
    assert [d.month for d in daily] == [7] * 31 + [1] * 31  # every day of July, then January
    assert {d.hour for d in daily} == {17}
    assert {schedules.current_period(d.date()) for d in daily[:31]} == {"2026-H1"}
    assert {schedules.current_period(d.date()) for d in daily[31:]} == {"2026"}


@pytest.mark.parametrize("text, message", [
    ('timezone = "Asia/Hai_Phong"', "múi giờ"),
    ('[h1_report]\ncron = "0 7 32 7 *"', "cron"),
    ('[h1_report]\ncrons = ["0 7 10 7 *"]', "khóa không hợp lệ"),
    ('[manual]\ncron = "0 7 10 7 *"', "khóa không hợp lệ"),
    ('[on_change]\ndebounce_seconds = -1', "debounce_seconds"),
    ('[manual]\ndeployment = "bao-cao-nam"', "khác nhau"),
    ('schedule = 1', "khóa không hợp lệ"),
])
def test_schedules_errors(tmp_path, text, message):
    path = tmp_path / "schedules.toml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        schedules.load_schedules(path)


def test_schedules_defaults_and_lists(tmp_path):
    path = tmp_path / "schedules.toml"
    path.write_text('[validation]\ncron = ["0 17 * 7 *", "0 17 1-15 8 *"]\n[h1_report]\n'
                    'cron = []\n[folders]\nraw_dir = "/data/raw"\n', encoding="utf-8")
    cfg = schedules.load_schedules(path)
    assert cfg.validation.cron == ("0 17 * 7 *", "0 17 1-15 8 *")
    assert cfg.h1_report.cron == ()
    assert cfg.year_report == schedules.Schedules().year_report
    assert cfg.folders() == {"raw_dir": "/data/raw"}


# --- deployments ----------------------------------------------------------------------------

def test_deployments():
    built = {d.name: d for d in deploy.deployments(schedules.SCHEDULES_PATH)}
    assert set(built) == {"bao-cao-6-thang", "bao-cao-nam", "kiem-tra-hang-ngay",
                          "bao-cao-theo-ky", "bao-cao-khi-co-tep-moi"}
    crons = {name: [(s.schedule.cron, s.schedule.timezone) for s in d.schedules or []]
             for name, d in built.items()}
    assert crons == {"bao-cao-6-thang": [("0 7 10 7 *", TZ)], "bao-cao-nam": [("0 7 10 1 *", TZ)],
                     "kiem-tra-hang-ngay": [("0 17 * 1,7 *", TZ)], "bao-cao-theo-ky": [],
                     "bao-cao-khi-co-tep-moi": []}
    assert built["bao-cao-6-thang"].parameters == {"kind": "H1"}
    assert built["bao-cao-nam"].parameters == {"kind": "year"}
    assert built["bao-cao-theo-ky"].entrypoint == "pipelines.flows.period_report"
    schema = built["bao-cao-theo-ky"]._parameter_openapi_schema.model_dump()
    assert schema["required"] == ["period"]  # the UI asks for it
    (trigger,) = built["bao-cao-khi-co-tep-moi"].triggers
    assert trigger.expect == {"thongke.submission.changed"}
    assert trigger.for_each == {"thongke.period"}
    assert trigger.within.total_seconds() == trigger.schedule_after.total_seconds() == 60
    assert trigger.parameters == {"period": "{{ event.resource['thongke.period'] }}"}
    assert all(d.description for d in built.values())


def test_prefect_yaml_matches_schedules():
    """`prefect deploy` ignores unknown keys silently: check them here, and that the file
    says what schedules.toml says."""
    from prefect.cli.deploy._models import DeploymentConfig, PrefectYamlModel, RawScheduleConfig
    from prefect.events import DeploymentEventTrigger

    raw = yaml.safe_load((PROJECT / "prefect.yaml").read_text(encoding="utf-8"))
    model = PrefectYamlModel.model_validate(raw)
    assert set(raw) <= set(PrefectYamlModel.model_fields) | {"prefect-version", "definitions"}
    assert model.pull == [{"prefect.deployments.steps.set_working_directory":
                           {"directory": "{{ $THONGKE_PROJECT_DIR }}"}}]
    cfg = schedules.load_schedules(schedules.SCHEDULES_PATH)
    expected = {cfg.h1_report.deployment: ("pipelines/flows.py:scheduled_report", cfg.h1_report),
                cfg.year_report.deployment: ("pipelines/flows.py:scheduled_report",
                                             cfg.year_report),
                cfg.validation.deployment: ("pipelines/flows.py:validate_arrivals",
                                            cfg.validation),
                cfg.manual.deployment: ("pipelines/flows.py:period_report", cfg.manual),
                cfg.on_change.deployment: ("pipelines/flows.py:period_report", None)}
    assert [d["name"] for d in raw["deployments"]] == list(expected)
    for d in raw["deployments"]:
        assert set(d) <= set(DeploymentConfig.model_fields), d["name"]
        entrypoint, job = expected[d["name"]]
        path, func = entrypoint.split(":")
        assert d["entrypoint"] == entrypoint and (PROJECT / path).read_text().count(
            f"def {func}(") == 1
        assert d["work_pool"]["name"] == "thongke"
        crons = [RawScheduleConfig.model_validate(s) for s in d.get("schedules") or []]
        assert [s.cron for s in crons] == list(job.cron if job else [])
        assert {s.timezone for s in crons} <= {cfg.timezone}
    by_name = {d["name"]: d for d in raw["deployments"]}
    assert by_name[cfg.h1_report.deployment]["parameters"] == {"kind": "H1"}
    assert by_name[cfg.year_report.deployment]["parameters"] == {"kind": "year"}
    (spec,) = by_name[cfg.on_change.deployment]["triggers"]
    trigger = DeploymentEventTrigger.model_validate(spec)
    ours = deploy.on_change_trigger(cfg.on_change)
    for field in ("expect", "match", "for_each", "posture", "threshold", "within",
                  "schedule_after", "parameters"):
        assert getattr(trigger, field) == getattr(ours, field), field


def test_validation_markdown():
    summary = {"period": "2026-H1", "checked_on": "2026-07-12", "files": 2,
               "file_status": {"Tien Lang.xlsx": "accepted", "a|b.xlsx": "rejected"},
               "errors": 3, "warnings": 1234,
               "completeness": {"expected": 15, "received": 2, "on_time": 2, "accepted": 1,
                                "partial": 0, "rejected": 1, "missing": 13,
                                "not_received": ["Quận Hồng Bàng"], "deadline": "15/07/2026"}}
    text = artifacts.validation_markdown(summary, "/x/reports/2026-H1/phan_hoi")
    assert text.startswith("# Kiểm tra báo cáo đã nhận: 6 tháng đầu năm 2026")
    assert "Ngày kiểm tra: 12/07/2026." in text
    assert "Đã nộp **2/15** quận, huyện" in text and "Chưa nộp: Quận Hồng Bàng." in text
    assert "3 lỗi, 1.234 cảnh báo" in text
    assert "| a\\|b.xlsx | Bị từ chối |" in text
    assert "`/x/reports/2026-H1/phan_hoi`" in text


# --- the flows for schedules, on the test harness ------------------------------------------

def test_validate_arrivals_writes_feedback_only(prefect_harness, tmp_path, monkeypatch):
    """The daily check: feedback for each district, nothing recorded, aggregated or rendered;
    the period comes from the run's date (in July: that year's H1)."""
    from builders import edit

    raw, reports = tmp_path / "raw", tmp_path / "reports"
    write_clean(raw / "2017-H1" / "Bach Long Vi.xlsx", "318", "2017-H1")
    edit(write_clean(raw / "2017-H1" / "Do Son.xlsx", "308", "2017-H1"),
         **{"4. Giảm nghèo!D7": -5})  # an error: a marked copy for Đồ Sơn
    monkeypatch.setattr(flows, "run_date", lambda tz: date(2017, 7, 20))
    summary = asyncio.run(flows.validate_arrivals(raw_dir=str(raw), reports_dir=str(reports)))
    assert summary["period"] == "2017-H1" and summary["files"] == 2
    assert summary["checked_on"] == "2017-07-20"
    assert summary["completeness"]["received"] == 2 and summary["errors"] >= 1
    out = reports / "2017-H1"
    assert (out / "phan_hoi" / "308_quan_do_son" / "1_danh_dau.xlsx").is_file()
    assert (out / "phan_hoi" / "318_huyen_bach_long_vi" / "tom_tat.html").is_file()
    assert not (out / "aggregates.csv").exists() and not (out / "bao_cao.html").exists()
    assert not (reports / "thongke.duckdb").exists()
    # nothing arrived yet for the January window's period
    monkeypatch.setattr(flows, "run_date", lambda tz: date(2018, 1, 5))
    empty = asyncio.run(flows.validate_arrivals(raw_dir=str(raw), reports_dir=str(reports)))
    assert empty["period"] == "2017" and empty["files"] == 0 and "skipped" in empty


def test_scheduled_report_runs_the_period_of_its_date(prefect_harness, tmp_path, monkeypatch):
    """The period from the run's date, handed to `period_report` as a subflow (a stand-in
    here: the real one is run by the server test and test_flow)."""
    from prefect import flow

    calls = []

    @flow(name="period-report")
    async def fake_report(period: str, raw_dir: str | None = None,
                          reports_dir: str | None = None) -> dict:
        calls.append((period, raw_dir, reports_dir))
        return {"period": period}

    raw = tmp_path / "raw"
    for period in ("2016", "2017", "2017-H1"):
        (raw / period).mkdir(parents=True)
        (raw / period / "bao cao.xlsx").write_bytes(b"any file counts")
    monkeypatch.setattr(flows, "period_report", fake_report)
    monkeypatch.setattr(flows, "run_date", lambda tz: date(2018, 1, 10))  # the annual schedule
    result = asyncio.run(flows.scheduled_report(kind="year", raw_dir=str(raw)))
    assert result["period"] == "2017"
    monkeypatch.setattr(flows, "run_date", lambda tz: date(2017, 7, 10))  # the 6-month one
    asyncio.run(flows.scheduled_report(kind="H1", raw_dir=str(raw), reports_dir="/o"))
    asyncio.run(flows.scheduled_report(kind="H1", period="2016", raw_dir=str(raw)))  # given wins
    assert calls == [("2017", str(raw), None), ("2017-H1", str(raw), "/o"),
                     ("2016", str(raw), None)]
    # nothing received: a clear failure, not a report of nothing
    monkeypatch.setattr(flows, "run_date", lambda tz: date(2019, 1, 10))
    with pytest.raises(RuntimeError, match="chưa nhận được báo cáo nào của kỳ 2018"):
        asyncio.run(flows.scheduled_report(kind="year", raw_dir=str(raw)))
    assert len(calls) == 3


def test_run_date_outside_a_run_is_today_in_hai_phong():
    from zoneinfo import ZoneInfo

    assert schedules.run_date(TZ) == datetime.now(ZoneInfo(TZ)).date()


# --- the real server ------------------------------------------------------------------------

SERVER_START_TIMEOUT = 90  # about 7 s on an idle machine, 20 s seen under load
DEPLOY_TIMEOUT = 60
RUN_TIMEOUT = 120
DEBOUNCE = 600  # seconds: the event's run waits past the test (the file says 60)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env() -> dict[str, str]:
    """This process's environment without any Prefect setting (a developer's profile,
    API URL or database must not leak into the test's server and runner)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


async def _wait_for(what: str, probe, timeout: float, logs: list[Path],
                    process: subprocess.Popen | None = None, interval: float = 0.5):
    """Await `probe()` until it returns something truthy; fail with the logs' tails."""
    start = time.monotonic()
    while True:
        value = await probe()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: the serve process exited ({process.returncode})\n"
                                 + "\n".join(_tail(p) for p in logs))
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not after {timeout} s\n"
                                 + "\n".join(_tail(p) for p in logs))
        await asyncio.sleep(interval)


@pytest.mark.slow
@pytest.mark.server
def test_server_serves_schedules_and_runs(tmp_path):
    raw, reports = tmp_path / "raw", tmp_path / "reports"
    schedules_file = tmp_path / "schedules.toml"
    schedules_file.write_text(schedules.SCHEDULES_PATH.read_text(encoding="utf-8").replace(
        "debounce_seconds = 60", f"debounce_seconds = {DEBOUNCE}"), encoding="utf-8")
    logs = [tmp_path / "serve.log", tmp_path / "server.log"]
    url = f"http://127.0.0.1:{_free_port()}"
    clean = _clean_env()
    clock = [("start", time.monotonic())]
    server = serving = None
    try:
        server = prefect_server.start_server(
            tmp_path / "server-home", "127.0.0.1", int(url.rsplit(":", 1)[1]), log=logs[1],
            env={**clean, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                 # nothing here needs future runs created or marked late
                 "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
                 "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false"})
        # `serve` waits for the server itself, as it does when both start at boot
        env = {**clean, "PREFECT_API_URL": f"{url}/api",
               "PREFECT_HOME": str(tmp_path / "runner-home"),
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "PREFECT_RUNNER_POLL_FREQUENCY": "1",  # pick runs up within a second
               "THONGKE_RAW_DIR": str(raw), "THONGKE_REPORTS_DIR": str(reports),
               "THONGKE_PDF": "0", "THONGKE_SCHEDULES": str(schedules_file),
               "PYTHONUNBUFFERED": "1"}  # its log is readable when something fails
        with open(logs[0], "wb") as out:
            serving = subprocess.Popen(
                [sys.executable, "-m", "pipelines.deploy", "serve", "--wait",
                 str(SERVER_START_TIMEOUT)], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        # the districts' workbooks, while the server starts
        for code, name in (("318", "Bach Long Vi"), ("317", "Cat Hai"), ("308", "Do Son")):
            write_clean(raw / "2017" / f"{name}.xlsx", code, "2017")
        for code, name in (("318", "Bach Long Vi"), ("317", "Cat Hai")):
            write_clean(raw / "2017-H1" / f"{name}.xlsx", code, "2017-H1")
        try:
            prefect_server.wait_healthy(url, SERVER_START_TIMEOUT, server)
        except (RuntimeError, TimeoutError) as exc:
            raise AssertionError(f"prefect server: {exc}\n{_tail(logs[1])}") from None
        clock.append(("server healthy", time.monotonic()))
        asyncio.run(_exercise(url, serving, logs, reports, tmp_path / "reports-check", clock,
                              check_artifacts=hasattr(flows, "publish_artifacts")))
    finally:
        if serving is not None:
            prefect_server.stop_process(serving)  # before the server: on SIGTERM it pauses schedules
        if server is not None:
            prefect_server.stop_process(server)
        clock.append(("stopped", time.monotonic()))
        print("\n" + "; ".join(f"{what} {t - clock[0][1]:.1f} s" for what, t in clock[1:]))


async def _exercise(url: str, serving: subprocess.Popen, logs: list[Path], reports: Path,
                    check_reports: Path, clock: list, check_artifacts: bool) -> None:
    """The watcher's event, the daily check (into `check_reports`, a parameter) and the
    manual report (into the served process's THONGKE_REPORTS_DIR), all at once."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (ArtifactFilter, ArtifactFilterFlowRunId,
                                                DeploymentFilter, DeploymentFilterId)
    from prefect.deployments import arun_deployment
    from prefect.events import Event
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    def mark(what: str) -> None:
        clock.append((what, time.monotonic()))

    def tails() -> str:
        return "\n".join(_tail(p) for p in logs)

    cfg = schedules.load_schedules(schedules.SCHEDULES_PATH)
    names = {"h1": f"scheduled-report/{cfg.h1_report.deployment}",
             "year": f"scheduled-report/{cfg.year_report.deployment}",
             "validation": f"validate-arrivals/{cfg.validation.deployment}",
             "manual": f"period-report/{cfg.manual.deployment}",
             "on_change": f"period-report/{cfg.on_change.deployment}"}
    trigger_name = deploy.on_change_trigger(cfg.on_change).name
    with temporary_settings(updates={PREFECT_API_URL: f"{url}/api"}):
        async with get_client() as client:
            async def all_deployed():  # every deployment, and the trigger's automation
                found = {}
                for key, name in names.items():
                    try:
                        found[key] = await client.read_deployment_by_name(name)
                    except ObjectNotFound:
                        return None
                found["automations"] = await client.read_automations_by_name(trigger_name)
                return found if found["automations"] else None

            deployed = await _wait_for("the deployments", all_deployed, DEPLOY_TIMEOUT, logs,
                                       serving)
            mark("deployed")
            for key, job in (("h1", cfg.h1_report), ("year", cfg.year_report),
                             ("validation", cfg.validation)):
                got = [(s.schedule.cron, s.schedule.timezone, s.active)
                       for s in deployed[key].schedules]
                assert got == [(c, "Asia/Ho_Chi_Minh", True) for c in job.cron], (key, got)
            assert deployed["manual"].schedules == []
            assert deployed["manual"].parameter_openapi_schema["required"] == ["period"]
            (automation,) = deployed["automations"]
            assert automation.trigger.expect == {"thongke.submission.changed"}
            assert automation.trigger.for_each == {"thongke.period"}

            # the watcher's event, three files at once: one run, after the window
            events = [Event(event=cfg.on_change.event, payload={"file": f"{n}.xlsx"},
                            resource={"prefect.resource.id": "thongke.period.2017-H1",
                                      "thongke.period": "2017-H1"}).model_dump(mode="json")
                      for n in range(3)]
            async def send_events():
                async with httpx.AsyncClient(base_url=f"{url}/api") as http:
                    response = await http.post("/events", json=events)
                    assert response.status_code == 204, response.text

            await send_events()

            # the daily check (a flow of pipelines/flows.py, loaded by module path)
            check = await arun_deployment(
                names["validation"], parameters={"period": "2017-H1",
                                                 "reports_dir": str(check_reports)},
                timeout=0, as_subflow=False)

            # "report for any period", as the UI's Run button does
            run = await arun_deployment(names["manual"], parameters={"period": "2017"},
                                        timeout=RUN_TIMEOUT, poll_interval=1, as_subflow=False)
            mark("manual run done")
            assert run.state is not None and run.state.is_completed(), (
                f"manual run ended {run.state!r}\n{tails()}")
            assert (reports / "2017" / "aggregates.csv").is_file()
            assert (reports / "2017" / "bao_cao.html").is_file()
            if check_artifacts:  # flows.publish_artifacts: the lead's artifacts have landed
                artifacts = await client.read_artifacts(artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))
                assert artifacts and all("2017" in (a.key or "") for a in artifacts), artifacts

            async def checked():
                state = (await client.read_flow_run(check.id)).state
                return state if state and state.is_final() else None

            state = await _wait_for("the daily check", checked, RUN_TIMEOUT, logs, serving)
            mark("daily check done")
            assert state.is_completed(), f"{state!r}\n{tails()}"
            feedback = check_reports / "2017-H1" / "phan_hoi"
            assert (feedback / "318_huyen_bach_long_vi" / "tom_tat.html").is_file()
            assert not (check_reports / "2017-H1" / "aggregates.csv").exists()
            assert not (check_reports / "thongke.duckdb").exists()

            # the events: exactly one run, for their period, scheduled a window after them
            # (the test's window is long, so it is still waiting: nothing else renders)
            on_change = DeploymentFilter(id=DeploymentFilterId(any_=[deployed["on_change"].id]))
            async def event_runs():
                runs = await client.read_flow_runs(deployment_filter=on_change)
                if not runs:  # sent before the trigger was loaded? Again: the window
                    await send_events()  # absorbs any repeat, so still one run at most
                return runs

            runs = await _wait_for("the run for the event", event_runs, DEPLOY_TIMEOUT, logs,
                                   serving, interval=2)
            assert len(runs) == 1, [(r.name, r.parameters) for r in runs]
            (rerun,) = runs
            assert rerun.parameters["period"] == "2017-H1"
            assert rerun.state is not None and rerun.state.is_scheduled(), rerun.state
            delay = (rerun.expected_start_time - rerun.created).total_seconds()
            assert abs(delay - DEBOUNCE) < 60, delay


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("may-chu.local", False)])
def test_is_loopback(host, loopback):
    assert prefect_server.is_loopback(host) is loopback


def test_server_stays_on_loopback_without_an_auth_string(monkeypatch, capsys):
    """Opened to the network only behind PREFECT_SERVER_API_AUTH_STRING (docs/THREATS.md)."""
    started = []
    monkeypatch.setattr(deploy, "run_server", lambda *a: started.append(a) or 0)
    monkeypatch.delenv("PREFECT_SERVER_API_AUTH_STRING", raising=False)
    assert deploy.main(["server", "--host", "0.0.0.0"]) == 2
    assert started == [] and "PREFECT_SERVER_API_AUTH_STRING" in capsys.readouterr().err
    assert deploy.main(["server"]) == 0  # 127.0.0.1 needs none
    monkeypatch.setenv("PREFECT_SERVER_API_AUTH_STRING", "canbo:mot-mat-khau-dai")
    assert deploy.main(["server", "--host", "0.0.0.0"]) == 0
    assert [a[1] for a in started] == ["127.0.0.1", "0.0.0.0"]
