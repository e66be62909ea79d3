"""Deployments: what `thongke serve` offers the Prefect server.

`deployments()` builds the RunnerDeployments from `schemas/data/schedules.toml`
(`pipelines/service/schedules.py`): the two scheduled reports, the daily validation, the
"report for any period" run by hand, and the full report rerun by the event
`thongke.submission.changed` (`pipelines/service/watch.py`). `serve_all()` serves them
(blocks) against the server named by PREFECT_API_URL. `main` is `thongke server|serve` and
`python -m pipelines.deploy server|serve` (a service unit, docs/SERVER.md).

Prefect reads its settings once, when it is first imported: this module imports it (and the
flows) only inside functions, so `main` sets the client's defaults first.
"""
from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from pipelines.base.processes import wait_healthy
from pipelines.settings import env_value, get_settings, set_defaults
from pipelines.service.schedules import Job, OnChange, load_schedules
from pipelines.service.server import CLIENT_ENV_DEFAULTS, DEFAULT_HOME, SERVER_URL, is_loopback, run_server

TAGS = ["thongke"]


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

    from pipelines.flows import period_report, scheduled_report, validate_arrivals

    cfg = load_schedules(settings_path or get_settings().schedules_path)
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


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m pipelines.deploy",
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
        if not is_loopback(args.host) and not env_value("PREFECT_SERVER_API_AUTH_STRING"):
            print(f"Lỗi: không mở máy chủ Prefect ra mạng ({args.host}) khi chưa đặt mật khẩu: "
                  "hãy đặt PREFECT_SERVER_API_AUTH_STRING='tên:mật-khẩu' (xem docs/SERVER.md, "
                  "mục “Opening the server to the office network”).", file=sys.stderr)
            return 2
        return run_server(args.home, args.host, args.port, args.timeout)
    try:
        load_schedules(args.schedules or get_settings().schedules_path)
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


if __name__ == "__main__":
    set_defaults(CLIENT_ENV_DEFAULTS)
    if sys.argv[1:2] == ["serve"]:  # not for `server`: its UI takes its API address from it
        set_defaults({"PREFECT_API_URL": f"{SERVER_URL}/api"})
    sys.exit(main(sys.argv[1:]))
