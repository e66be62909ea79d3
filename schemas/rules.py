"""The rules a finding can name, as data (`data/rules.csv`): each rule's id, its severity and
its short Vietnamese title (FORM.md section 3).

A relation of `relations.csv` names its rule here, so a new relation with a new rule id needs
a row in `rules.csv` and no code. Problems are refused when loading, in Vietnamese, with the
file and the row's rule id.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

RULES_FILE = "rules.csv"
COLUMNS = ("rule", "severity", "title")
SEVERITIES = ("error", "warning")
RULE_ID = re.compile(r"R\d\d")  # as the findings' contract allows (schemas.models.FindingsModel)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str  # error | warning
    title: str


@lru_cache(maxsize=8)
def load_rules(data_dir: Path | str) -> dict[str, Rule]:
    """Rule id -> Rule, in the file's order, from `rules.csv` in `data_dir`."""
    path = Path(data_dir) / RULES_FILE
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        header = tuple(reader.fieldnames or ())
        if header != COLUMNS:
            raise ValueError(f"{path}: tiêu đề cột phải là {','.join(COLUMNS)}, "
                             f"không phải {','.join(header) or '(trống)'}.")
        rows = list(reader)
    rules: dict[str, Rule] = {}
    for n, row in enumerate(rows, 2):
        if None in row or any(v is None for v in row.values()):
            raise ValueError(f"{path}, dòng {n}: số cột khác {len(COLUMNS)}.")
        rule, severity, title = (row[c].strip() for c in COLUMNS)
        if not RULE_ID.fullmatch(rule):
            raise ValueError(f"{path}, dòng {n}: mã quy tắc {rule!r} không hợp lệ "
                             "(chữ R và hai chữ số, ví dụ R07).")
        if rule in rules:
            raise ValueError(f"{path}, quy tắc {rule}: bị khai báo hai lần.")
        if severity not in SEVERITIES:
            raise ValueError(f"{path}, quy tắc {rule}: mức độ {severity!r} không hợp lệ "
                             "(error hoặc warning).")
        if not title:
            raise ValueError(f"{path}, quy tắc {rule}: thiếu tên quy tắc (cột title).")
        rules[rule] = Rule(rule, severity, title)
    return rules
