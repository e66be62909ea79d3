"""`thongke`: the command line for statistics and district officers (messages in Vietnamese)."""
from __future__ import annotations

import asyncio
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Optional

import typer

from pipelines.settings import get_settings

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
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "ERROR")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"Lỗi: {message}", err=True)
    raise typer.Exit(code)


def run_period(period: str, raw_dir: Optional[Path], reports_dir: Optional[Path],
               verbose: bool = False) -> dict:
    """Run the period flow and return its summary (used by `run` and `demo`)."""
    from schemas.periods import PeriodError, parse_period

    try:
        period = str(parse_period(period))
    except PeriodError as exc:
        _fail(f"kỳ báo cáo “{period}” không hợp lệ ({exc}); ghi dạng 2017-H1 hoặc 2017.")
    settings = get_settings(raw_dir=raw_dir, reports_dir=reports_dir)
    folder = settings.raw_dir / period
    if not folder.is_dir():
        _fail(f"không có thư mục {folder}. Hãy đặt báo cáo của các quận, huyện vào đó.")
    try:
        settings.reports_dir.mkdir(parents=True, exist_ok=True)
        probe = settings.reports_dir / ".thongke-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        _fail(f"không ghi được vào thư mục kết quả {settings.reports_dir}: {exc.strerror}.")
    _prefect_env(verbose)
    from pipelines.flows import period_report

    try:
        return asyncio.run(period_report(period, str(settings.raw_dir), str(settings.reports_dir)))
    except Exception as exc:  # never a traceback to an officer, unless asked for
        if verbose:
            traceback.print_exc()
        _fail(f"lần chạy kỳ {period} không hoàn thành: {exc}", code=1)
    raise AssertionError("unreachable")


def _print_summary(summary: dict, seconds: float) -> None:
    from pipelines.findings import RULES
    from pipelines.submissions import STATUS_VI
    from pipelines.text import vn_number

    typer.echo(f"Kỳ {summary['period']}: {vn_number(summary['files'])} tệp "
               f"({vn_number(seconds, 1)} giây).")
    for status, label in STATUS_VI.items():
        n = summary["by_status"].get(status, 0)
        if n:
            typer.echo(f"  {label}: {vn_number(n)}")
    typer.echo(f"Phát hiện: {vn_number(summary['errors'])} lỗi, "
               f"{vn_number(summary['warnings'])} cảnh báo.")
    for rule, n in summary["by_rule"].items():
        typer.echo(f"  {rule} {RULES[rule][1]}: {vn_number(n)}")
    html = summary["report"].get("html")
    if html:
        typer.echo(f"Báo cáo: {html}")
    typer.echo(f"Bảng số liệu: {Path(summary['outputs'][0]).parent}")


@app.command()
def run(
    period: str = typer.Option(..., "--period", "-p", help="Kỳ báo cáo: 2017-H1 (6 tháng) hoặc 2017 (cả năm)."),
    raw_dir: Optional[Path] = typer.Option(None, "--raw-dir", help=RAW_HELP),
    reports_dir: Optional[Path] = typer.Option(None, "--reports-dir", help=REPORTS_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="In nhật ký chi tiết của Prefect."),
) -> None:
    """Tổng hợp một kỳ: đọc, kiểm tra, lưu, tổng hợp và lập báo cáo."""
    start = time.perf_counter()
    summary = run_period(period, raw_dir, reports_dir, verbose)
    _print_summary(summary, time.perf_counter() - start)


@app.command()
def check(
    file: Path = typer.Argument(..., help="Tệp báo cáo (.xlsx) cần kiểm tra."),
    period: Optional[str] = typer.Option(None, "--period", "-p", help="Kỳ báo cáo phải khớp (nếu muốn kiểm tra)."),
) -> None:
    """Kiểm tra một tệp báo cáo trước khi gửi (không lưu gì). Mã thoát 1 nếu có lỗi."""
    from pipelines.validate import check_workbook, describe
    from schemas.catalogue import load_catalogue
    from schemas.periods import PeriodError, parse_period
    from schemas.units import load_registry

    if not file.is_file():
        _fail(f"không tìm thấy tệp {file}.")
    expected = None
    if period:
        try:
            expected = parse_period(period)
        except PeriodError as exc:
            _fail(str(exc))
    settings = get_settings()
    result = check_workbook(file, catalogue=load_catalogue(), registry=load_registry(),
                            expected_period=expected, max_file_mb=settings.max_file_mb,
                            max_rows=settings.max_rows)
    typer.echo(describe(result))
    for f in result.findings:
        where = f"'{f.sheet}'!{f.cell}" if f.sheet and f.cell else (f.sheet or "(cả tệp)")
        kind = "LỖI" if f.is_error else "Cảnh báo"
        typer.echo(f"  [{kind} {f.rule}] {where}: {f.message}"
                   + (f" (giá trị: {f.value})" if f.value else ""))
    if not result.findings:
        typer.echo("  Không phát hiện lỗi nào. Có thể gửi báo cáo.")
    elif result.errors:
        typer.echo(f"Có {result.errors} lỗi: hãy sửa các ô trên rồi kiểm tra lại trước khi gửi.")
    raise typer.Exit(1 if result.errors else 0)


@app.command()
def template(
    district: str = typer.Option(..., "--district", "-d", help="Mã quận/huyện, ví dụ 315."),
    period: str = typer.Option(..., "--period", "-p", help="Kỳ báo cáo: 2017-H1 hoặc 2017."),
    output: Path = typer.Option(..., "--output", "-o", help="Tệp .xlsx sẽ ghi ra."),
) -> None:
    """Tạo biểu mẫu trống cho một quận/huyện và kỳ báo cáo."""
    from pipelines.form import write_form
    from schemas.periods import PeriodError, parse_period
    from schemas.units import load_registry

    try:
        p = parse_period(period)
    except PeriodError as exc:
        _fail(str(exc))
    d = load_registry().district(district.strip(), p)
    if d is None:
        _fail(f"mã quận/huyện “{district}” không có trong danh mục kỳ {p}.")
    write_form(output, d.code, p)
    typer.echo(f"Đã tạo biểu mẫu {d.name}, {p.label}: {output}")


@app.command()
def sample(
    raw_dir: Optional[Path] = typer.Option(None, "--raw-dir", help=RAW_HELP),
    periods: str = typer.Option("2016,2017-H1,2017", "--periods", help="Các kỳ, cách nhau bởi dấu phẩy."),
    seed: int = typer.Option(2017, "--seed", help="Hạt giống ngẫu nhiên."),
) -> None:
    """Sinh bộ báo cáo mẫu của 15 quận, huyện (không ghi đè thư mục đã có dữ liệu)."""
    _generate(get_settings(raw_dir=raw_dir).raw_dir, [p.strip() for p in periods.split(",")], seed)


def _generate(raw: Path, periods: list[str], seed: int) -> list[str]:
    from pipelines.sample import generate

    fresh = [p for p in periods if not (raw / p).is_dir() or not any((raw / p).iterdir())]
    for p in periods:
        if p not in fresh:
            typer.echo(f"Thư mục {raw / p} đã có dữ liệu: giữ nguyên, không ghi đè.")
    if fresh:
        manifest = generate(raw, periods=tuple(fresh), seed=seed)
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
    _generate(settings.raw_dir, periods, 2017)
    last = None
    for p in periods:
        start = time.perf_counter()
        last = run_period(p, settings.raw_dir, settings.reports_dir, verbose)
        _print_summary(last, time.perf_counter() - start)
        typer.echo("")
    if last and last["report"].get("html"):
        typer.echo(f"Xong. Mở báo cáo kỳ mới nhất: {last['report']['html']}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("Đã dừng theo yêu cầu.", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
