"""Several files for one district and period (FORM.md section 4), as a pure function."""
from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from pipelines.check.findings import FINDING_COLUMNS
from pipelines.check.result import WorkbookResult

DUPLICATE, SUPERSEDED = "duplicate", "superseded"
SUBMISSION_COLUMNS = ["file", "sha256", "district_code", "period", "status", "errors", "warnings"]
RECORD_COLUMNS = SUBMISSION_COLUMNS + ["made_on", "received_at"]  # what the record keeps too
STATUS_VI = {"accepted": "Đã tiếp nhận", "partial": "Tiếp nhận một phần", "rejected": "Bị từ chối",
             "superseded": "Đã được thay thế", "duplicate": "Bản trùng"}


def decide_statuses(results: list[WorkbookResult]) -> dict[str, str]:
    """file -> final status.

    Of byte-identical files the one whose name sorts first counts, the others are
    `duplicate`. Of a district's remaining files the newest `Ngày lập` wins, then
    the newer modification time; the others are `superseded`. The winner keeps
    its own status (accepted, partial or rejected).
    """
    status = {r.file: r.status for r in results}
    counted: list[WorkbookResult] = []
    by_hash: dict[str, list[WorkbookResult]] = {}
    for r in results:
        by_hash.setdefault(r.sha256, []).append(r)
    for group in by_hash.values():
        group.sort(key=lambda r: r.file)
        counted.append(group[0])
        for r in group[1:]:
            status[r.file] = DUPLICATE
    by_district: dict[tuple[str, str], list[WorkbookResult]] = {}
    for r in counted:  # a file whose cover names another period competes with no one
        if r.district_code:
            by_district.setdefault((r.district_code, r.period), []).append(r)
    for group in by_district.values():
        group.sort(key=lambda r: r.file)  # on a full tie the name sorting first wins
        group.sort(key=lambda r: (r.made_on or date.min, r.mtime), reverse=True)  # stable
        for r in group[1:]:
            status[r.file] = SUPERSEDED
    return status


def counted_results(results: list[WorkbookResult], statuses: dict[str, str]) -> list[WorkbookResult]:
    """The workbooks whose data count: neither duplicate nor superseded."""
    return [r for r in results if statuses[r.file] not in (DUPLICATE, SUPERSEDED)]


def submissions_frame(results: list[WorkbookResult], statuses: dict[str, str], period: str
                      ) -> pd.DataFrame:
    rows = [{"file": r.file, "sha256": r.sha256, "district_code": r.district_code,
             "period": r.period or period, "status": statuses[r.file], "errors": r.errors,
             "warnings": r.warnings, "made_on": r.made_on, "received_at": received_at(r)}
            for r in sorted(results, key=lambda r: r.file)]
    frame = pd.DataFrame(rows, columns=RECORD_COLUMNS)
    frame["made_on"] = pd.to_datetime(frame["made_on"])
    frame["received_at"] = pd.to_datetime(frame["received_at"])
    return frame


def received_at(result: WorkbookResult) -> datetime | None:
    """When the file reached the raw folder: its modification time (local time), which a
    copy into `raw/` sets and nothing in the pipeline changes."""
    return datetime.fromtimestamp(result.mtime) if result.mtime else None


def findings_frame(results: list[WorkbookResult]) -> pd.DataFrame:
    rows = [f.as_row() for r in sorted(results, key=lambda r: r.file) for f in r.findings]
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)
