"""A checked workbook's findings as Vietnamese lines for a terminal (`thongke check`).

Findings are listed sheet by sheet in the workbook's order, each with its address as
Excel's Go To box takes it (`'4. Giảm nghèo'!H12`). Findings that say the same
thing about many cells (a blank column in a template: one R02 per cell) are one line with
the cells as ranges (`H7:H20`), so a long listing stays readable.
"""
from __future__ import annotations

from itertools import groupby

from pipelines.base.cells import column_index, split_address
from pipelines.check.findings import Finding
from pipelines.check.submissions import STATUS_VI
from pipelines.base.text import vn_number
from pipelines.check.result import WorkbookResult

MAX_RANGES = 6


def cell_ranges(cells: list[str]) -> str:
    """`H7, H8, H9, J7` -> `H7:H9, J7`; past MAX_RANGES ranges, the rest is counted."""
    parsed = sorted({split_address(c) for c in cells if c},
                    key=lambda cr: (column_index(cr[0]), cr[1]))
    ranges: list[str] = []
    for col, group in groupby(parsed, key=lambda cr: cr[0]):
        rows = [r for _, r in group]
        start = prev = rows[0]
        for r in rows[1:] + [None]:
            if r is not None and r == prev + 1:
                prev = r
                continue
            ranges.append(f"{col}{start}" if start == prev else f"{col}{start}:{col}{prev}")
            if r is not None:
                start = prev = r
    if len(ranges) > MAX_RANGES:
        rest = len(ranges) - MAX_RANGES
        return ", ".join(ranges[:MAX_RANGES]) + f" và {vn_number(rest)} vùng khác"
    return ", ".join(ranges)


def _groups(findings: list[Finding]) -> list[list[Finding]]:
    """Same sheet, rule and message: one group, in order of first appearance."""
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.sheet, f.rule, f.message), []).append(f)
    return list(groups.values())


def finding_lines(findings: list[Finding]) -> list[str]:
    lines: list[str] = []
    sheet = None
    for group in _groups(findings):
        f = group[0]
        if f.sheet != sheet:
            sheet = f.sheet
            lines.append(f"Biểu “{sheet}”:" if sheet else "Cả tệp:")
        kind = "LỖI" if f.is_error else "Cảnh báo"
        cells = [g.cell for g in group if g.cell]
        sheet_ref = "'" + f.sheet.replace("'", "''") + "'!" if f.sheet else ""
        if len(group) == 1:
            where = f"{sheet_ref}{f.cell}" if f.cell else "—"
            value = f" (giá trị: {f.value})" if f.value else ""
        else:
            where = f"{sheet_ref}{cell_ranges(cells)} ({vn_number(len(group))} ô)" if cells else \
                f"{vn_number(len(group))} lần"
            value = ""
        lines.append(f"  [{kind} {f.rule}] {where}: {f.message}{value}")
    return lines


def describe_check(result: WorkbookResult, history_note: str = "") -> list[str]:
    """The whole terminal report of one checked file."""
    who = result.district_name or "không rõ đơn vị"
    lines = [f"Tệp {result.file}: {who}, kỳ {result.period or '?'}."]
    if history_note:
        lines.append(history_note)
    lines += finding_lines(result.findings)
    summary = (f"Kết quả: {vn_number(result.errors)} lỗi, {vn_number(result.warnings)} cảnh báo; "
               f"nếu gửi lúc này: {STATUS_VI.get(result.status, result.status).lower()}.")
    lines.append(summary)
    if not result.findings:
        lines.append("Không phát hiện lỗi nào. Có thể gửi báo cáo.")
    elif result.errors:
        lines.append("Hãy sửa các ô có LỖI rồi kiểm tra lại trước khi gửi; các biểu có lỗi "
                     "sẽ không được tổng hợp.")
    else:
        lines.append("Không có lỗi; hãy xem lại các cảnh báo, nếu số liệu đúng thì có thể gửi.")
    return lines


def series_lines(series, catalogue, registry) -> list[str]:
    """`thongke history --unit … --indicator …`: a unit's series as reported (one block per
    unit that held the code) and on the boundaries of the last period (`record.series`)."""
    from pipelines.base.text import vn_number

    ind = catalogue.indicators.get(series.indicator)
    decimals = 2 if ind is not None and ind.type == "money" else 0
    label = f"{series.indicator} ({ind.label})" if ind is not None else series.indicator

    def shown(values) -> str:
        return "; ".join(f"{p}: {'trống' if v is None else vn_number(v, decimals)}"
                         for p, v in values) or "không có số liệu"

    def unit(u) -> str:
        district = registry.district(u.district_code, series.to) if series.to else None
        where = f", {district.name}" if district is not None else ""
        return (f"{u.name}{where}, mã {u.code} từ {u.valid_from.strftime('%d/%m/%Y')} đến "
                f"{u.valid_to.strftime('%d/%m/%Y')}")

    lines = [f"Đơn vị mã {series.code}, chỉ tiêu {label}."]
    if not series.reported and not series.restated:
        return lines + ["Sổ lưu không có số liệu nào của mã đơn vị này cho chỉ tiêu này."]
    lines.append("Theo số đã báo cáo (mỗi đơn vị một chuỗi; một mã dùng lại cho đơn vị khác "
                 "không nối vào chuỗi cũ):")
    for block in series.reported:
        before = (f" (trước đây {', '.join(block.former_names)})" if block.former_names else "")
        lines.append(f"  {unit(block.unit)}{before}: {shown(block.values)}")
    if series.current is None:
        lines.append(f"Kỳ {series.to} không có đơn vị nào mang mã {series.code}: không tính "
                     "lại theo địa giới.")
    else:
        lines.append(f"Theo địa giới kỳ {series.to} ({series.current.name}; các kỳ trước cộng "
                     "cả số của đơn vị đã nhập vào, theo danh mục sáp nhập):")
        lines.append(f"  {shown(series.restated)}")
    return lines
