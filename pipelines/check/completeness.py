"""Who has reported: a completeness table per period (pure functions).

One row per district expected in the period (valid on its last day) and a city row:
expected, received, on time against the deadline, and the status of the workbook that
counts (accepted, partial, rejected), or missing. Counts are 0/1 on a district's row and
sums on the city's; rates are percentages of the districts expected. A file is received
when it reaches the raw folder (its modification time); a district is on time when its
first file arrived by the deadline, so a correction sent later does not make a report
that came in on time late.
"""
from __future__ import annotations

from datetime import date

import pandas as pd

from pipelines.check.submissions import DUPLICATE, SUPERSEDED, received_at
from pipelines.check.result import ACCEPTED, PARTIAL, REJECTED, SHEET_ABSENT, WorkbookResult
from schemas.periods import Period
from schemas.units import Registry

MISSING = "missing"
COUNTS = ["expected", "received", "on_time", "accepted", "partial", "rejected", "missing"]
COMPLETENESS_COLUMNS = (["period", "level", "district_code", "district_name", "files",
                         "first_received", "deadline", "status", "counted_file",
                         "sheets_accepted", "sheets_expected"] + COUNTS
                        + ["reporting_rate", "on_time_rate", "accepted_rate"])
STATUS_TEXT = {ACCEPTED: "Đã tiếp nhận", PARTIAL: "Tiếp nhận một phần", REJECTED: "Bị từ chối",
               MISSING: "Chưa nộp"}


def completeness(results: list[WorkbookResult], statuses: dict[str, str], registry: Registry,
                 period: Period, deadline: date) -> pd.DataFrame:
    rows = []
    by_district: dict[str, list[WorkbookResult]] = {}
    for r in results:
        if r.district_code:
            by_district.setdefault(r.district_code, []).append(r)
    for d in registry.districts(period):
        files = by_district.get(d.code, [])
        counted = [r for r in files if statuses.get(r.file) not in (DUPLICATE, SUPERSEDED)]
        counted.sort(key=lambda r: r.period != str(period))  # one of another period: last
        arrived = [t for t in (received_at(r) for r in files) if t is not None]
        first = min(arrived) if arrived else None
        status = statuses[counted[0].file] if counted else MISSING
        sheets = [s for s in counted[0].sheets.values() if s.status != SHEET_ABSENT] if counted else []
        row = {"period": str(period), "level": "district", "district_code": d.code,
               "district_name": d.name, "files": len(files),
               "first_received": first.date() if first else None, "deadline": deadline,
               "status": status, "counted_file": counted[0].file if counted else "",
               "sheets_accepted": sum(s.status == ACCEPTED for s in sheets),
               "sheets_expected": len(sheets),
               "expected": 1, "received": int(bool(files)),
               "on_time": int(first is not None and first.date() <= deadline)}
        row.update({k: int(status == k) for k in (ACCEPTED, PARTIAL, REJECTED, MISSING)})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=COMPLETENESS_COLUMNS)
    city = {"period": str(period), "level": "city", "district_code": registry.top_code,
            "district_name": registry.top_name, "files": int(frame["files"].sum()),
            "first_received": frame["first_received"].dropna().min() if files_in(frame) else None,
            "deadline": deadline, "status": "", "counted_file": "",
            "sheets_accepted": int(frame["sheets_accepted"].sum()),
            "sheets_expected": int(frame["sheets_expected"].sum()),
            **{k: int(frame[k].sum()) for k in COUNTS}}
    frame = pd.concat([frame, pd.DataFrame([city], columns=COMPLETENESS_COLUMNS)], ignore_index=True)
    expected = frame["expected"].where(frame["expected"] > 0)
    frame["reporting_rate"] = 100 * frame["received"] / expected
    frame["on_time_rate"] = 100 * frame["on_time"] / expected
    frame["accepted_rate"] = 100 * frame["accepted"] / expected
    for k in COUNTS + ["files", "sheets_accepted", "sheets_expected"]:
        frame[k] = frame[k].astype("int64")
    return frame


def files_in(frame: pd.DataFrame) -> bool:
    return bool(frame["first_received"].notna().any())


def unassigned(results: list[WorkbookResult]) -> list[str]:
    """Files no district could be read from (R05, R18): received but counted for nobody."""
    return sorted(r.file for r in results if not r.district_code)

