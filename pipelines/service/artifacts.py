"""What officers see of a run in the Prefect UI: a table of the submissions and a short
markdown note with the key figures and where the report files are. Pure builders here;
`flows.publish_artifacts` sends them."""
from __future__ import annotations

import re
from datetime import date

import pandas as pd

from pipelines.check.submissions import STATUS_VI
from pipelines.base.text import vn_number
from schemas.periods import parse_period


def artifact_key(kind: str, period: str) -> str:
    """Prefect artifact keys: lower-case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{kind}-{period}".lower()).strip("-")


def submissions_table(submissions: pd.DataFrame, district_names: dict[str, str]) -> list[dict]:
    """One row per file of the period folder: district, file, status, errors, warnings."""
    rows = []
    for r in submissions.sort_values(["district_code", "file"]).itertuples(index=False):
        code = str(r.district_code or "")
        rows.append({"Quận, huyện": district_names.get(code, code or "không xác định"),
                     "Tệp": str(r.file), "Trạng thái": STATUS_VI.get(r.status, r.status),
                     "Lỗi": int(r.errors), "Cảnh báo": int(r.warnings)})
    return rows


def reporting_line(c: dict) -> str:
    """Who has reported, from the run summary's `completeness` (markdown)."""
    return (f"Đã nộp **{vn_number(c['received'])}/{vn_number(c['expected'])}** quận, huyện "
            f"({vn_number(c['on_time'])} đúng hạn {c['deadline']}); tiếp nhận "
            f"{vn_number(c['accepted'])}, một phần {vn_number(c['partial'])}, bị từ chối "
            f"{vn_number(c['rejected'])}.")


def findings_line(summary: dict) -> str:
    return (f"Phát hiện: {vn_number(summary.get('errors', 0))} lỗi, "
            f"{vn_number(summary.get('warnings', 0))} cảnh báo.")


def summary_markdown(period_label: str, summary: dict, figures: list[dict]) -> str:
    """Key figures, the count of files by status, and links to the report files."""
    lines = [f"# Báo cáo {period_label}", ""]
    c = summary.get("completeness") or {}
    if c:
        lines += [reporting_line(c), ""]
    lines += [findings_line(summary), "", "## Số liệu chính", "",
              "| Chỉ tiêu | Giá trị | Thay đổi |", "| --- | --- | --- |"]
    for f in figures:
        value = f["main"] + (" *" if f.get("incomplete") else "")
        lines.append(f"| {_cell(f['title'])} | {_cell(value)} | {_cell(f.get('change') or '–')} |")
    lines += ["", "## Tệp kết quả", ""]
    report = summary.get("report") or {}
    for label, key in (("Báo cáo (HTML)", "html"), ("Báo cáo (PDF)", "pdf"),
                       ("Bảng tổng hợp (Excel)", "xlsx")):
        if report.get(key):
            lines.append(f"- {label}: `{report[key]}`")
    for path in summary.get("outputs", []):
        lines.append(f"- `{path}`")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Text in a markdown table cell: a `|` or a newline would break the table."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def validation_markdown(summary: dict, feedback_dir: str) -> str:
    """What the daily check found, for officers (Vietnamese)."""
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
