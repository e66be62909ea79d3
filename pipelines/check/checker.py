"""One workbook, start to finish: read, check every rule of this stage, decide what counts.

`check_workbook` is a pure function of the file's bytes and the reference data
(no Prefect, no record), used by the flow's per-file task and by `thongke check`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.check import rules
from pipelines.check.result import (  # noqa: F401  (the checker's results, re-exported)
    ACCEPTED, PARTIAL, REJECTED, SHEET_ABSENT, VALUE_COLUMNS, SheetResult, WorkbookResult,
    concat_values, long_values)
from pipelines.base.cells import address_to_tuple
from pipelines.check.findings import Finding
from pipelines.read.workbook import (
    Table,
    UnreadableWorkbook,
    match_sheets,
    open_workbook,
    parse_made_on,
    read_cover,
    read_table,
    sha256_of,
    shown,
)
from pipelines.check.rules import UnitIndex, Where
from pipelines.read.limits import Limits
from pipelines.base.text import vn_number
from schemas.catalogue import Catalogue
from schemas.checks import Checks, load_checks
from schemas.periods import Period, PeriodError, parse_period
from schemas.units import Registry

log = logging.getLogger(__name__)


def check_workbook(path: Path, *, catalogue: Catalogue, registry: Registry,
                   expected_period: Period | None = None, max_file_mb: float = 50.0,
                   max_rows: int = 20_000, name: str | None = None,
                   checks: Checks | None = None, max_unpacked_mb: float = 200.0
                   ) -> WorkbookResult:
    """Check one workbook; `name` is how findings name the file (default: its name).

    The rules that need other periods or other districts (R14-R16) are not run here:
    see `pipelines.check.history`.
    """
    return check_workbooks([(Path(path), name or Path(path).name)], catalogue=catalogue,
                           registry=registry, expected_period=expected_period,
                           max_file_mb=max_file_mb, max_rows=max_rows, checks=checks,
                           max_unpacked_mb=max_unpacked_mb)[0]


@dataclass
class _Sheet:
    check: rules.SheetCheck
    result: SheetResult
    resolved: dict  # 0-based row -> unit
    table: Table


@dataclass
class _Book:
    """A workbook between reading and deciding."""

    result: WorkbookResult
    where: Where
    period: Period
    sheets: list[_Sheet] = field(default_factory=list)


def check_workbooks(files: list[tuple[Path, str]], *, catalogue: Catalogue, registry: Registry,
                    expected_period: Period | None = None, max_file_mb: float = 50.0,
                    max_rows: int = 20_000, checks: Checks | None = None,
                    max_unpacked_mb: float = 200.0) -> list[WorkbookResult]:
    """Check a batch of workbooks ((path, name) pairs), each on its own, with the pandera
    models run once for the whole batch (their cost is per call, not per row).

    A workbook that fails in a way no rule foresaw costs one finding (R18), not the batch.
    The limits are the settings' (`Settings.limits`); `checks` default: the shipped
    thresholds (`schemas/data/checks.toml`).
    """
    checks = checks or load_checks()
    limits = Limits(max_file_mb, max_rows, max_unpacked_mb)

    def read(path, name) -> "WorkbookResult | _Book":
        return _read(Path(path), name, catalogue, registry, expected_period, limits)

    read_in = [read(path, name) for path, name in files]
    books = [b for b in read_in if isinstance(b, _Book)]
    try:
        _batch_rules(books, catalogue, checks)
        return [b.result if isinstance(b, _Book) else b for b in read_in]
    except Exception:
        log.exception("batch check failed; checking one workbook at a time")
    # The batch rules change what they work on (findings added, bad cells blanked): each
    # workbook of the batch is read again and checked alone, so only a culprit is lost.
    results = []
    for (path, name), first in zip(files, read_in):
        if isinstance(first, WorkbookResult):
            results.append(first)
            continue
        book = read(path, name)
        if isinstance(book, _Book):
            try:
                _batch_rules([book], catalogue, checks)
            except Exception as exc:
                log.exception("unexpected failure checking %s", book.result.file)
                _unreadable(book.result, f"nội dung bất thường, không xử lý được "
                                         f"({type(exc).__name__})")
            book = book.result
        results.append(book)
    return results


def _read(path: Path, name: str, catalogue: Catalogue, registry: Registry,
          expected_period: Period | None, limits: Limits) -> "WorkbookResult | _Book":
    """Read one workbook and run the rules that need only it; a `_Book` still waits for
    the batch rules, a `WorkbookResult` is final (unreadable, or no period or district)."""
    result = WorkbookResult(file=name, sha256="", mtime=0.0)
    try:  # the file is read once: its private copy is hashed, guarded and parsed
        result.mtime = path.stat().st_mtime
        book = open_workbook(path, max_file_mb=limits.max_file_mb, max_rows=limits.max_rows,
                             max_unpacked_mb=limits.max_unpacked_mb)
        result.sha256 = book.sha256  # what was checked, if the file changed since it was listed
        return _read_book(book, result, Where(name, ""), catalogue, registry, expected_period)
    except OSError as exc:
        return _unreadable(result, f"không mở được tệp ({exc.strerror or exc})")
    except UnreadableWorkbook as exc:
        result.sha256 = exc.sha256 or _sha256_or_blank(path)  # refused before it was read whole
        return _unreadable(result, str(exc))
    except Exception as exc:  # a file no rule foresaw must cost one finding, not the run
        log.exception("unexpected failure checking %s", path)
        return _unreadable(result, f"nội dung bất thường, không xử lý được ({type(exc).__name__})")


def _sha256_or_blank(path: Path) -> str:
    try:
        return sha256_of(path)
    except OSError:
        return ""


def _unreadable(result: WorkbookResult, why: str) -> WorkbookResult:
    """R18: the whole workbook is rejected with one finding."""
    result.findings = [Where(result.file, result.district_code)(
        "R18", f"Không đọc được tệp: {why}. Hãy mở tệp bằng Excel, bỏ mật khẩu nếu có, "
               "lưu lại dạng .xlsx và gửi lại.")]
    result.sheets = {}
    result.status = REJECTED
    return result


def _read_book(book, result: WorkbookResult, where: Where, catalogue: Catalogue,
               registry: Registry, expected_period: Period | None) -> "WorkbookResult | _Book":
    cover_name, found = match_sheets(book.sheet_names, catalogue)
    if cover_name is None:
        result.findings.append(where("R05", "Không có trang bìa “Thông tin” (mã đơn vị, kỳ báo cáo)."))
        return result
    cover = read_cover(book.grid(cover_name), cover_name)
    at = Where(where.file, "", cover_name)
    raw_period = cover.get("period")
    try:
        if raw_period is None:
            raise PeriodError("chưa ghi kỳ báo cáo")
        period = parse_period(raw_period)
    except PeriodError as exc:
        result.findings.append(at("R05", f"Kỳ báo cáo không hợp lệ: {shown(exc, 120)}. Ghi theo "
                                         "dạng 2017-H1 (6 tháng đầu năm) hoặc 2017 (cả năm).",
                                  cover.cell("period"), raw_period))
        return result
    result.period = str(period)
    if (refused := registry.refusal(period)) is not None:  # e.g. after 30 Jun 2025
        result.findings.append(at("R05", f"Không nhận báo cáo theo biểu mẫu này: {refused}",
                                  cover.cell("period"), raw_period))
        return result
    district = registry.find_district(cover.get("district_code"), cover.get("district_name"), period)
    if district is not None:  # known even when the period is wrong: the feedback goes to it
        result.district_code, result.district_name = district.code, district.name
    if expected_period is not None and period != expected_period:
        result.findings.append(Where(where.file, result.district_code, cover_name)(
            "R05", f"Trang bìa ghi kỳ {period.label} nhưng tệp được nộp cho kỳ "
                   f"{expected_period.label} (thư mục {expected_period}). Hãy sửa kỳ báo cáo, "
                   "hoặc nộp tệp cho đúng kỳ.", cover.cell("period"), raw_period))
        return result
    if district is None:
        blank = not cover.get("district_code") and not cover.get("district_name")
        result.findings.append(at("R05", "Trang bìa chưa ghi mã đơn vị và tên đơn vị." if blank else
                                         "Không xác định được quận/huyện: mã đơn vị và tên đơn vị trên "
                                         "trang bìa không khớp danh mục của kỳ báo cáo.",
                                  cover.cell("district_code") or cover.cell("district_name"),
                                  cover.get("district_code") or cover.get("district_name")))
        return result
    result.made_on = parse_made_on(cover.get("made_on"))
    where = Where(where.file, district.code)
    index = UnitIndex(registry.units(district.code, period), registry.former(district.code, period))
    out = _Book(result, where, period)
    for sheet in catalogue.sheets:
        expected = [u for u in index.units if sheet.holds(u.type)]
        name = found.get(sheet.key)
        if name is None:
            if expected:
                result.findings.append(Where(where.file, district.code, sheet.display_name)(
                    "R06", f"Thiếu biểu “{sheet.display_name}”."))
                result.sheets[sheet.key] = SheetResult(sheet.key, sheet.display_name, REJECTED)
            else:
                result.sheets[sheet.key] = SheetResult(sheet.key, sheet.display_name, SHEET_ABSENT)
            continue
        here = Where(where.file, district.code, name)
        table = read_table(book.grid(name), sheet, name)
        if not expected and not table.rows:
            result.sheets[sheet.key] = SheetResult(sheet.key, name, SHEET_ABSENT)
            continue
        if table.header_row is None and table.code_row is None:
            result.findings.append(here("R06", "Không tìm thấy dòng tiêu đề (STT, Mã ĐV, Tên đơn vị) "
                                               "và dòng mã chỉ tiêu của biểu."))
            result.sheets[sheet.key] = SheetResult(sheet.key, name, REJECTED)
            continue
        found_here: list[Finding] = []
        for code in table.missing:
            ind = catalogue.indicators[code]
            found_here.append(here("R02", f"Biểu thiếu cột “{ind.label}” (mã {code}).", "", code))
        resolved, unit_findings = rules.resolve_rows(table, sheet, index, here)
        values, parse_findings = rules.parse_values(table, sheet, resolved, here)
        check = rules.SheetCheck(sheet, here, values, frozenset(table.missing),
                                 found_here + unit_findings + parse_findings)
        sheet_result = SheetResult(sheet.key, name, ACCEPTED, values.cells)
        result.sheets[sheet.key] = sheet_result
        out.sheets.append(_Sheet(check, sheet_result, resolved, table))
    return out


def _batch_rules(books: list[_Book], catalogue: Catalogue, checks: Checks) -> None:
    """The rules that run once per batch (pandera), then each workbook's remaining rules."""
    rules.schema_findings([s.check for b in books for s in b.sheets])
    batch, longs = [], []
    for book in books:
        wide: dict[str, dict[str, float]] = {}
        cells: dict[tuple[str, str], tuple[str, str]] = {}
        long: dict[str, pd.DataFrame] = {}  # sheet key -> its values, long (see `values`)
        for s in book.sheets:
            values, sheet, here = s.check.values, s.check.sheet, s.check.where
            found = s.check.findings
            found += rules.year_findings(values, sheet, book.period, here)
            found += rules.recognition_findings(values, sheet, here)
            found += rules.total_findings(s.table, values, sheet, here)
            found += rules.cost_findings(values, sheet, here, checks.cost)
            book.result.findings += found
            keep = np.isin(values.rows, list(s.resolved))
            units = values.units[keep]
            rows = values.rows[keep].tolist()
            data = np.column_stack([values.array(c) for c in sheet.codes])[keep] if len(
                sheet.codes) else np.empty((0, 0))
            for j, code in enumerate(sheet.codes):
                for idx, unit, value in zip(rows, units, data[:, j].tolist()):
                    wide.setdefault(unit, {})[code] = value
                    cells[(unit, code)] = (s.result.name, values.cells.get((idx, code), ""))
            if rows and sheet.codes:
                long[sheet.key] = long_values(sheet.key, units, rows, sheet.codes, data,
                                              values.cells)
        longs.append(long)
        batch.append(rules.WorkbookCells(pd.DataFrame.from_dict(wide, orient="index",
                                                                dtype="float64"), cells, book.where))
    for book, long, found in zip(books, longs, rules.relation_findings(batch, catalogue)):
        book.result.findings += found
        sort_findings(book.result)
        _decide(book.result)
        # the accepted sheets' values, here in the worker: sent and cached with the result
        book.result._values = concat_values(
            [long[k] for k, sr in book.result.sheets.items() if sr.status == ACCEPTED and k in long])


def sort_findings(result: WorkbookResult) -> None:
    """Findings in the order of the workbook: sheet by sheet, then row by row."""
    order = {s.name: i for i, s in enumerate(result.sheets.values())}
    result.findings.sort(key=lambda f: (order.get(f.sheet, -1), _cell_order(f.cell)))


def _cell_order(cell: str) -> tuple[int, int]:
    """`H12` -> (12, 8): row first, then column; findings without a cell first."""
    if not cell:
        return (0, 0)
    row, col = address_to_tuple(cell)
    return (row, col)


def _decide(result: WorkbookResult) -> None:
    """A sheet with any error is rejected; the workbook is accepted, partial or rejected."""
    bad = {f.sheet for f in result.findings if f.is_error}
    for s in result.sheets.values():
        if s.status == ACCEPTED and s.name in bad:
            s.status = REJECTED
    counted = [s for s in result.sheets.values() if s.status != SHEET_ABSENT]
    accepted = sum(s.status == ACCEPTED for s in counted)
    if counted and accepted == len(counted):
        result.status = ACCEPTED
    elif accepted:
        result.status = PARTIAL
    else:
        result.status = REJECTED


def describe(result: WorkbookResult) -> str:
    """A short Vietnamese line about a checked workbook."""
    return (f"{result.file}: {result.district_name or 'không rõ đơn vị'}, kỳ {result.period or '?'}; "
            f"{vn_number(result.errors)} lỗi, {vn_number(result.warnings)} cảnh báo")

