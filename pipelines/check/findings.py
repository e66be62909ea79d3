"""Findings: what is wrong in a submission, where, and what to do about it."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

from schemas.catalogue import DATA_DIR
from schemas.rules import load_rules

ERROR, WARNING = "error", "warning"


@lru_cache(maxsize=1)
def shipped_rules() -> dict[str, tuple[str, str]]:
    """Rule id -> (severity, short Vietnamese description), from the shipped
    `schemas/data/rules.csv` (FORM.md section 3), read when first asked. A catalogue from
    another data folder carries its own (`Catalogue.rules`)."""
    return {r.id: (r.severity, r.title) for r in load_rules(DATA_DIR).values()}


def rule_title(rule: str) -> str:
    """`R01 – <its short description>`, or the bare id of a rule the shipped file lacks."""
    rules = shipped_rules()
    return f"{rule} – {rules[rule][1]}" if rule in rules else rule

FINDING_COLUMNS = ["file", "district_code", "sheet", "cell", "rule", "severity", "value", "message"]


@dataclass(frozen=True)
class Finding:
    file: str
    district_code: str
    sheet: str
    cell: str
    rule: str
    severity: str
    value: str
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def as_row(self) -> dict[str, str]:
        return asdict(self)


def finding(rule: str, message: str, *, file: str = "", district_code: str = "", sheet: str = "",
            cell: str = "", value: object = "", severity: str | None = None) -> Finding:
    """A finding with the rule's own severity (`severity`: a rule of another data folder's
    `rules.csv`, from its catalogue)."""
    return Finding(file=file, district_code=district_code or "", sheet=sheet, cell=cell,
                   rule=rule, severity=severity or shipped_rules()[rule][0], value=display_value(value),
                   message=message)


def display_value(value: object) -> str:
    """How a cell's value is shown in findings: as typed, numbers without a stray `.0`."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
    text = str(value)
    return text if len(text) <= 200 else text[:200] + "…"


