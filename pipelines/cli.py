"""`thongke`: the command line for statistics and district officers (messages in Vietnamese)."""
from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path
from typing import Optional

import typer

from pipelines.settings import env_value, get_settings, set_defaults

app = typer.Typer(
    help="thongke: tổng hợp số liệu chương trình giảm nghèo bền vững, xây dựng nông thôn mới "
         "và đô thị văn minh của thành phố Hải Phòng.",
    no_args_is_help=True, add_completion=False, rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

RAW_HELP = "Thư mục gốc chứa báo cáo nhận được (mặc định: raw/ của dự án, hoặc THONGKE_RAW_DIR)."
REPORTS_HELP = "Thư mục gốc ghi kết quả (mặc định: reports/ của dự án, hoặc THONGKE_REPORTS_DIR)."


def _prefect_env(verbose: bool) -> None:
    """Quiet, offline-friendly Prefect defaults; set before Prefect is imported."""
    set_defaults({"PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                  "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
                  "PREFECT_LOGGING_LEVEL": "INFO" if verbose else "ERROR",
                  "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore"})


def _warm_prefect_server():
    """Start Prefect's temporary server (when there is no PREFECT_API_URL) in a background
    thread, so that its ~5 s start, mostly in its own process on the other core, overlaps
    the loading of the pipeline's modules. Join the thread before the first flow call: the
    flow then finds the same server running. If this fails, the flow call starts it (and
    reports any error) as it would have."""
    import threading

    def start() -> None:
        try:
            from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

            if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
                return
            from prefect.server.api.server import SubprocessASGIServer

            SubprocessASGIServer().start()
        except Exception:  # noqa: BLE001 - see the docstring
            return

    thread = threading.Thread(target=start, name="thongke-prefect-warm-up", daemon=True)
    thread.start()
    return thread


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"Lỗi: {message}", err=True)
    raise typer.Exit(code)


def _refuse(settings, period) -> None:
    """Stop, in one Vietnamese message, a command for a period the registry has no district
    in (from 1 Jul 2025 in Hải Phòng): before any folder, server or file is touched."""
    if (refused := settings.programme().registry.refusal(period)) is not None:
        _fail(refused[:1].upper() + refused[1:])


def run_period(period: str, raw_dir: Optional[Path], reports_dir: Optional[Path],
               verbose: bool = False, deadline: Optional[str] = None, *,
               task_runner: str = "thread", refresh: bool = False) -> dict:
    """Run the period flow and return its summary (used by `run` and `demo`)."""
    from schemas.periods import PeriodError, parse_period

    try:
        period = str(parse_period(period))
    except PeriodError as exc:
        _fail(f"kỳ báo cáo “{period}” không hợp lệ ({exc}); ghi dạng 2017-H1 hoặc 2017.")
    settings = get_settings(raw_dir=raw_dir, reports_dir=reports_dir)
    _refuse(settings, parse_period(period))
    folder = settings.raw_dir / period
    if not folder.is_dir():
        _fail(f"không có thư mục {folder}. Hãy đặt báo cáo của các quận, huyện vào đó.")
    try:
        import tempfile

        settings.reports_dir.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=settings.reports_dir).close()  # nameless: nothing left behind
    except OSError as exc:
        _fail(f"không ghi được vào thư mục kết quả {settings.reports_dir}: {exc.strerror}.")
    _prefect_env(verbose)
    from pipelines.service import tempserver

    server = tempserver.start(settings.reports_dir / ".cache" / "prefect-temporary-server.log",
                              settings.temporary_server)
    warming = _warm_prefect_server() if server is None else None
    from pipelines.flows import with_task_runner
    from pipelines.base.lock import PeriodBusy

    try:
        flow = with_task_runner(task_runner, settings)
        import asyncio

        if warming is not None:
            warming.join()
        try:
            timeout = float(env_value("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"))
        except ValueError:
            timeout = 120.0
        with tempserver.used(server, timeout):
            return asyncio.run(flow(period, str(settings.raw_dir), str(settings.reports_dir),
                                    deadline, refresh, 0 if task_runner == "dask" else None))
    except PeriodBusy as exc:
        _fail(str(exc), code=1)
    except Exception as exc:  # never a traceback to an officer, unless asked for
        if verbose:
            traceback.print_exc()
        _fail(f"lần chạy kỳ {period} không hoàn thành: {exc}", code=1)
    raise AssertionError("unreachable")


LIST_ALL_FILES = 60  # more files than this: the run's summary lists only the ones not accepted
LIST_NAMES = 30  # districts named in the summary's "not sent" line at most


def _print_summary(summary: dict, seconds: float) -> None:
    from pipelines.check.findings import shipped_rules
    from pipelines.check.submissions import STATUS_VI
    from pipelines.base.text import vn_number

    typer.echo(f"Kỳ {summary['period']}: {vn_number(summary['files'])} tệp "
               f"({vn_number(seconds, 1)} giây).")
    run = summary.get("run") or {}
    if "files_read" in run:
        typer.echo(f"  Đọc và kiểm tra {vn_number(run['files_read'])} tệp; "
                   f"{vn_number(run['files_cached'])} tệp không đổi, dùng kết quả kiểm tra trước.")
    if run.get("temps_swept"):
        typer.echo(f"  Đã xoá {vn_number(run['temps_swept'])} tệp tạm do một lần chạy bị dừng "
                   "giữa chừng để lại.")
    shown = summary["file_status"].items()
    if len(shown) > LIST_ALL_FILES:  # a long list: only what needs a look
        shown = [(f, s) for f, s in shown if s != "accepted"]
        typer.echo("  (Chỉ liệt kê các tệp không được tiếp nhận toàn bộ; danh sách đủ ở "
                   "submissions.csv.)")
    for file, status in shown:
        typer.echo(f"  {STATUS_VI.get(status, status)}: {file}")
    counts = [f"{label.lower()} {vn_number(summary['by_status'][s])}"
              for s, label in STATUS_VI.items() if summary["by_status"].get(s)]
    if counts:
        typer.echo(f"  Cộng: {'; '.join(counts)}.")
    c = summary.get("completeness")
    if c:
        typer.echo(f"Nộp báo cáo: {vn_number(c['received'])}/{vn_number(c['expected'])} quận, huyện "
                   f"({vn_number(c['on_time'])} đúng hạn {c['deadline']}); tiếp nhận "
                   f"{vn_number(c['accepted'])}, một phần {vn_number(c['partial'])}, "
                   f"bị từ chối {vn_number(c['rejected'])}.")
        if c["not_received"]:
            names, more = c["not_received"][:LIST_NAMES], len(c["not_received"]) - LIST_NAMES
            typer.echo(f"  Chưa nộp: {', '.join(names)}"
                       + (f" và {vn_number(more)} quận, huyện khác (xem completeness.csv)."
                          if more > 0 else "."))
    typer.echo(f"Phát hiện: {vn_number(summary['errors'])} lỗi, "
               f"{vn_number(summary['warnings'])} cảnh báo.")
    for rule, n in summary["by_rule"].items():
        title = shipped_rules().get(rule, ("", ""))[1]
        typer.echo(f"  {rule} {title}: {vn_number(n)}" if title else f"  {rule}: {vn_number(n)}")
    html = summary["report"].get("html")
    if html:
        typer.echo(f"Báo cáo: {html}")
    if summary["report"].get("pdf"):
        typer.echo(f"Bản PDF: {summary['report']['pdf']}")
    typer.echo(f"Bảng số liệu: {Path(summary['outputs'][0]).parent}")
    for problem in summary.get("target_problems", []):
        typer.echo(f"Tệp mục tiêu: {problem}")
    if summary.get("feedback"):
        typer.echo(f"Phản hồi từng quận, huyện: {Path(summary['outputs'][0]).parent / 'phan_hoi'}")


@app.command()
def run(
    period: str = typer.Option(..., "--period", "-p", help="Kỳ báo cáo: 2017-H1 (6 tháng) hoặc 2017 (cả năm)."),
    raw_dir: Optional[Path] = typer.Option(None, "--raw-dir", help=RAW_HELP),
    reports_dir: Optional[Path] = typer.Option(None, "--reports-dir", help=REPORTS_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="In nhật ký chi tiết của Prefect."),
    deadline: Optional[str] = typer.Option(
        None, "--deadline", help="Hạn nộp báo cáo (YYYY-MM-DD); mặc định theo schemas/data/checks.toml."),
    task_runner: str = typer.Option(
        "thread", "--task-runner",
        help="Nơi kiểm tra các tệp: thread (trên máy này) hoặc dask (cụm Dask; THONGKE_DASK_ADDRESS "
             "chỉ cụm có sẵn)."),
    refresh: bool = typer.Option(
        False, "--refresh", help="Đọc lại mọi tệp, không dùng kết quả kiểm tra đã lưu."),
) -> None:
    """Tổng hợp một kỳ: đọc, kiểm tra, lưu, tổng hợp, lập báo cáo và tệp phản hồi."""
    if deadline:
        from datetime import date

        try:
            date.fromisoformat(deadline)
        except ValueError:
            _fail(f"hạn nộp “{deadline}” không hợp lệ; ghi dạng 2017-07-15.")
    start = time.perf_counter()
    if task_runner not in ("thread", "dask"):
        _fail(f"--task-runner phải là thread hoặc dask, không phải “{task_runner}”.")
    summary = run_period(period, raw_dir, reports_dir, verbose, deadline,
                         task_runner=task_runner, refresh=refresh)
    _print_summary(summary, time.perf_counter() - start)


@app.command()
def check(
    file: Path = typer.Argument(..., help="Tệp báo cáo (.xlsx) cần kiểm tra."),
    period: Optional[str] = typer.Option(None, "--period", "-p", help="Kỳ báo cáo phải khớp (nếu muốn kiểm tra)."),
    annotate: Optional[Path] = typer.Option(
        None, "--annotate", "-a",
        help="Ghi một bản sao (.xlsx) có đánh dấu các ô lỗi (đỏ), cảnh báo (vàng) và ghi chú; "
             "tệp gốc giữ nguyên."),
    reports_dir: Optional[Path] = typer.Option(
        None, "--reports-dir",
        help="Thư mục kết quả có sổ lưu số liệu các kỳ trước (để so sánh R14-R16); "
             "mặc định: reports/ của dự án, hoặc THONGKE_REPORTS_DIR."),
) -> None:
    """Kiểm tra một tệp báo cáo trước khi gửi. Mã thoát 1 nếu có lỗi."""
    from pipelines.check.period import check_one
    from pipelines.feedback.listing import describe_check
    from schemas.periods import PeriodError, parse_period

    if not file.is_file():
        _fail(f"không tìm thấy tệp {file}.")
    expected = None
    if period:
        try:
            expected = parse_period(period)
        except PeriodError as exc:
            _fail(str(exc))
        _refuse(get_settings(reports_dir=reports_dir), expected)
    if annotate is not None and annotate.suffix.lower() != ".xlsx":
        _fail("tệp đánh dấu phải có đuôi .xlsx.")
    if annotate is not None and annotate.resolve() == file.resolve():
        _fail("không ghi đè lên tệp gốc; hãy chọn tên khác cho tệp đánh dấu.")
    settings = get_settings(reports_dir=reports_dir)
    db, note = settings.record_path, ""
    programme, limits = settings.programme(), settings.limits

    def checked(record_path):
        return check_one(file, record_path, programme=programme, limits=limits,
                         wait=settings.record_timeout, expected_period=expected)

    try:
        result = checked(db if db.exists() else None)
    except Exception as exc:  # a record locked by a running job must not stop a check
        result = checked(None)
        note = f"(Không đọc được sổ lưu số liệu {db}: {exc}; chưa so sánh với các kỳ trước.)"
    else:
        if not db.exists():
            note = "(Chưa có sổ lưu số liệu các kỳ trước: bỏ qua các quy tắc so sánh R14-R16.)"
    for line in describe_check(result, note):
        typer.echo(line)
    if annotate is not None:
        from pipelines.feedback.annotate import annotate_copy

        written = annotate_copy(file, annotate, result, result.status, limits=limits)
        typer.echo(f"Đã ghi bản đánh dấu: {written}" if written else
                   "Không tạo được bản đánh dấu vì không đọc được tệp.")
    raise typer.Exit(1 if result.errors else 0)


@app.command()
def history(
    period: Optional[str] = typer.Option(None, "--period", "-p", help="Chỉ kỳ này (ví dụ 2017-H1)."),
    district: Optional[str] = typer.Option(None, "--district", "-d", help="Chỉ quận/huyện này (mã, ví dụ 315)."),
    unit: Optional[str] = typer.Option(
        None, "--unit", "-u",
        help="Chuỗi số liệu của một xã, phường (mã, ví dụ 11770) qua các kỳ: theo số đã báo cáo "
             "và theo địa giới hiện nay; cần --indicator."),
    indicator: Optional[str] = typer.Option(None, "--indicator", "-i",
                                            help="Mã chỉ tiêu của chuỗi, ví dụ GN01."),
    reports_dir: Optional[Path] = typer.Option(None, "--reports-dir", help=REPORTS_HELP),
) -> None:
    """Lịch sử các phiên bản báo cáo đã nhận: tệp nào, khi nào, dùng hay bị thay thế; với
    --unit và --indicator: chuỗi số liệu của một đơn vị."""
    from pipelines.record.db import read_versions
    from pipelines.check.submissions import STATUS_VI

    settings = get_settings(reports_dir=reports_dir)
    db = settings.record_path
    if not db.exists():
        _fail(f"chưa có sổ lưu số liệu {db}; hãy chạy `thongke run` trước.")
    if unit is not None or indicator is not None:
        _unit_series(settings, unit, indicator, period)
        return
    versions = read_versions(db, period, district.strip() if district else None)
    if versions.empty:
        typer.echo("Không có phiên bản nào khớp điều kiện.")
        return
    for (per, code), group in versions.groupby(["period", "district_code"], sort=False):
        typer.echo(f"Kỳ {per}, đơn vị {code or 'không xác định'}:")
        for v in group.itertuples(index=False):
            made = v.made_on.strftime("%d/%m/%Y") if not _missing(v.made_on) else "?"
            got = v.received_at.strftime("%d/%m/%Y %H:%M") if not _missing(v.received_at) else "?"
            typer.echo(f"  {STATUS_VI.get(v.status, v.status)}: {v.file} (ngày lập {made}, "
                       f"nhận {got}, mã {v.sha256[:12]}, {v.runs} lần chạy)")


def _unit_series(settings, unit: Optional[str], indicator: Optional[str],
                 period: Optional[str]) -> None:
    from pipelines.feedback.listing import series_lines
    from pipelines.record.series import read_unit_series
    from schemas.periods import PeriodError, parse_period

    if not unit or not indicator:
        _fail("chuỗi số liệu cần cả --unit (mã đơn vị) và --indicator (mã chỉ tiêu).")
    programme = settings.programme()
    code = indicator.strip().upper()
    if code not in programme.catalogue.indicators:
        _fail(f"không có chỉ tiêu mã “{indicator}” trong danh mục chỉ tiêu.")
    to = None
    if period:
        try:
            to = parse_period(period)
        except PeriodError as exc:
            _fail(str(exc))
    series = read_unit_series(settings.record_path, programme.registry, programme.catalogue,
                              unit.strip(), code, to, wait=settings.record_timeout)
    for line in series_lines(series, programme.catalogue, programme.registry):
        typer.echo(line)


def _missing(value) -> bool:
    import pandas as pd

    return value is None or pd.isna(value)


@app.command()
def watch(
    raw_dir: Optional[Path] = typer.Option(None, "--raw-dir", help=RAW_HELP),
    reports_dir: Optional[Path] = typer.Option(None, "--reports-dir", help=REPORTS_HELP),
    events: bool = typer.Option(
        True, "--events/--no-events",
        help="Gửi sự kiện cho Prefect (khi có máy chủ Prefect) để chạy lại báo cáo của kỳ."),
) -> None:
    """Theo dõi thư mục báo cáo: kiểm tra ngay mỗi tệp vừa nhận và ghi phản hồi cho quận, huyện."""
    _prefect_env(False)
    from pipelines.service import watch as watcher

    settings = get_settings(raw_dir=raw_dir, reports_dir=reports_dir)
    if not settings.raw_dir.is_dir():
        _fail(f"không có thư mục {settings.raw_dir}.")
    typer.echo(f"Đang theo dõi {settings.raw_dir} (Ctrl+C để dừng).")

    def show(results: list[dict]) -> None:
        for line in watcher.describe(results, base=Path.cwd()):
            typer.echo(line)

    watcher.watch(settings.raw_dir, settings, emit=events, on_batch=show)


@app.command()
def server(
    host: str = typer.Option("127.0.0.1", "--host",
                             help="Địa chỉ nghe (0.0.0.0 để mở cho mạng nội bộ, xem docs/SERVER.md)."),
    port: int = typer.Option(4200, "--port", help="Cổng của giao diện web và API."),
    home: Optional[Path] = typer.Option(
        None, "--home", help="Thư mục dữ liệu của máy chủ (mặc định .prefect/ của dự án)."),
) -> None:
    """Chạy máy chủ Prefect: giao diện web (http://127.0.0.1:4200), lịch chạy, lịch sử các lần chạy."""
    _prefect_env(False)
    from pipelines import deploy as serving

    args = ["server", "--host", host, "--port", str(port)]
    if home is not None:
        args += ["--home", str(home)]
    raise typer.Exit(serving.main(args))


@app.command()
def serve(
    schedules: Optional[Path] = typer.Option(
        None, "--schedules", help="Tệp lịch chạy (mặc định schemas/data/schedules.toml)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Số lần chạy đồng thời tối đa."),
) -> None:
    """Đưa các lịch chạy (báo cáo 6 tháng, báo cáo năm, kiểm tra hằng ngày…) lên máy chủ Prefect và chạy chúng."""
    _prefect_env(True)  # INFO: the runs' logs show in the UI
    set_defaults({"PREFECT_API_URL": "http://127.0.0.1:4200/api"})
    from pipelines import deploy as serving

    args = ["serve"] + (["--schedules", str(schedules)] if schedules else [])
    args += ["--limit", str(limit)] if limit else []
    raise typer.Exit(serving.main(args))


@app.command()
def template(
    district: str = typer.Option(..., "--district", "-d", help="Mã quận/huyện, ví dụ 315."),
    period: str = typer.Option(..., "--period", "-p", help="Kỳ báo cáo: 2017-H1 hoặc 2017."),
    output: Path = typer.Option(..., "--output", "-o", help="Tệp .xlsx sẽ ghi ra."),
) -> None:
    """Tạo biểu mẫu trống cho một quận/huyện và kỳ báo cáo."""
    from pipelines.forms.form import write_form
    from schemas.periods import PeriodError, parse_period

    try:
        p = parse_period(period)
    except PeriodError as exc:
        _fail(str(exc))
    settings = get_settings()
    _refuse(settings, p)
    registry = settings.programme().registry
    d = registry.district(district.strip(), p)
    if d is None:
        _fail(f"mã quận/huyện “{district}” không có trong danh mục kỳ {p}.")
    write_form(output, d.code, p, registry=registry)
    typer.echo(f"Đã tạo biểu mẫu {d.name}, {p.label}: {output}")


@app.command()
def sample(
    raw_dir: Optional[Path] = typer.Option(None, "--raw-dir", help=RAW_HELP),
    periods: str = typer.Option("2016,2017-H1,2017", "--periods", help="Các kỳ, cách nhau bởi dấu phẩy."),
    seed: int = typer.Option(2017, "--seed", help="Hạt giống ngẫu nhiên."),
    clean: bool = typer.Option(False, "--clean",
                               help="Mỗi quận, huyện một tệp sạch: không lỗi cài sẵn, không ô trống."),
) -> None:
    """Sinh bộ báo cáo mẫu cho mọi quận, huyện trong danh mục đơn vị (không ghi đè thư mục đã
    có dữ liệu; THONGKE_UNITS chọn danh mục khác, ví dụ cả nước)."""
    _generate(get_settings(raw_dir=raw_dir), [p.strip() for p in periods.split(",")], seed,
              clean)


def _generate(settings, periods: list[str], seed: int, clean: bool = False) -> list[str]:
    from pipelines.forms.sample import generate

    from schemas.periods import PeriodError, parse_period

    try:
        asked = [parse_period(p) for p in periods]
    except PeriodError as exc:
        _fail(f"{exc}; ghi các kỳ dạng 2017-H1 hoặc 2017, cách nhau bởi dấu phẩy.")
    for p in asked:
        _refuse(settings, p)
    periods = [str(p) for p in asked]
    raw = settings.raw_dir
    fresh = [p for p in periods if not (raw / p).is_dir() or not any((raw / p).iterdir())]
    for p in periods:
        if p not in fresh:
            typer.echo(f"Thư mục {raw / p} đã có dữ liệu: giữ nguyên, không ghi đè.")
    if fresh:
        manifest = generate(raw, periods=tuple(fresh), seed=seed, clean=clean,
                            registry=settings.programme().registry)
        typer.echo(f"Đã sinh {len(manifest)} tệp mẫu vào {raw} ({', '.join(fresh)}).")
    return fresh


@app.command()
def demo(
    raw_dir: Optional[Path] = typer.Option(None, "--raw-dir", help=RAW_HELP),
    reports_dir: Optional[Path] = typer.Option(None, "--reports-dir", help=REPORTS_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="In nhật ký chi tiết của Prefect."),
) -> None:
    """Chạy thử toàn bộ: sinh dữ liệu mẫu cho 2016, 2017-H1, 2017 rồi tổng hợp từng kỳ."""
    settings = get_settings(raw_dir=raw_dir, reports_dir=reports_dir)
    periods = ["2016", "2017-H1", "2017"]
    _generate(settings, periods, 2017)
    last = None
    for p in periods:
        start = time.perf_counter()
        last = run_period(p, settings.raw_dir, settings.reports_dir, verbose)
        _print_summary(last, time.perf_counter() - start)
        typer.echo("")
    if last and last["report"].get("html"):
        typer.echo(f"Xong. Mở báo cáo kỳ mới nhất: {last['report']['html']}")
        if last["report"].get("pdf"):
            typer.echo(f"Bản in (PDF): {last['report']['pdf']}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("Đã dừng theo yêu cầu.", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
