"""The indicator catalogue: sheets, indicators, derived indicators and relation rules.

Everything here is read from the CSV files in `schemas/data/` (or another folder
holding the same files: sheets, indicators, derived, relations and the rules they name,
`rules.csv`, `schemas.rules`), so another programme can define other sheets
without code changes. The form writer, the reader, the pandera models, the
aggregation and the report are all built from a `Catalogue`.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from schemas.rules import RULES_FILE, Rule, load_rules

DATA_DIR = Path(__file__).resolve().parent / "data"

TYPES = ("int", "money", "flag", "year")
ALL = "all"


@dataclass(frozen=True)
class Indicator:
    code: str
    sheet: str
    label: str
    type: str  # int | money | flag | year
    kind: str  # flow | stock | stock_start
    unit: str
    required: bool
    aliases: tuple[str, ...] = ()

    @property
    def summable(self) -> bool:
        """int and money values are summed up the hierarchy; flags and years are not."""
        return self.type in ("int", "money")

    @property
    def decimals(self) -> int:
        return 2 if self.type == "money" else 0


@dataclass(frozen=True)
class Sheet:
    key: str
    order: int
    name: str
    title: str
    unit_types: frozenset[str] | None  # None: every unit, the no-commune district included
    indicators: tuple[Indicator, ...] = ()

    @property
    def display_name(self) -> str:
        """The sheet's name in the form: `1. Tuyên truyền`."""
        return f"{self.order}. {self.name}"

    def holds(self, unit_type: str) -> bool:
        return self.unit_types is None or unit_type in self.unit_types

    @property
    def codes(self) -> list[str]:
        return [i.code for i in self.indicators]


@dataclass(frozen=True)
class Term:
    sign: int
    code: str


@dataclass(frozen=True)
class Derived:
    code: str
    sheet: str
    label: str
    unit: str
    method: str  # ratio | sum | count | count_set | count_flag | mean_flags | share_flag
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    scale: float
    unit_types: frozenset[str] | None


@dataclass(frozen=True)
class Relation:
    """`left op right`, each side a signed sum of indicator codes (rules R07-R09)."""

    rule: str
    left: tuple[Term, ...]
    op: str  # == | <=
    right: tuple[Term, ...]
    text: str

    @property
    def codes(self) -> list[str]:
        return [t.code for t in (*self.left, *self.right)]


@dataclass(frozen=True, eq=False)  # identity hash: one per data folder (cached)
class Catalogue:
    sheets: tuple[Sheet, ...]
    derived: tuple[Derived, ...]
    relations: tuple[Relation, ...]
    indicators: dict[str, Indicator] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)  # rule id -> severity and title

    def sheet(self, key: str) -> Sheet:
        return next(s for s in self.sheets if s.key == key)

    def sheet_of(self, code: str) -> Sheet:
        return self.sheet(self.indicators[code].sheet)


_TERM = re.compile(r"\s*([+-]?)\s*([A-Za-z][A-Za-z0-9_]*)")


def parse_terms(expr: str) -> tuple[Term, ...]:
    """`GN02 - GN03 + GN04` -> signed terms."""
    terms, pos, expr = [], 0, expr.strip()
    while pos < len(expr):
        m = _TERM.match(expr, pos)
        if not m or (terms and not m.group(1)):
            raise ValueError(f"bad expression: {expr!r}")
        terms.append(Term(-1 if m.group(1) == "-" else 1, m.group(2)))
        pos = m.end()
    return tuple(terms)


def _unit_types(text: str) -> frozenset[str] | None:
    text = text.strip()
    return None if text in ("", ALL) else frozenset(t.strip() for t in text.split("|"))


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _split(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split("+") if t.strip()) if text else ()


@lru_cache(maxsize=8)
def load_catalogue(data_dir: Path = DATA_DIR) -> Catalogue:
    data_dir = Path(data_dir)
    indicators: dict[str, Indicator] = {}
    by_sheet: dict[str, list[Indicator]] = {}
    for row in _read(data_dir / "indicators.csv"):
        if row["type"] not in TYPES:
            raise ValueError(f"indicators.csv: unknown type {row['type']!r} for {row['code']}")
        ind = Indicator(
            code=row["code"], sheet=row["sheet"], label=row["label"], type=row["type"],
            kind=row["kind"], unit=row["unit"], required=row["required"].strip().lower() == "true",
            aliases=tuple(a.strip() for a in row.get("aliases", "").split("|") if a.strip()),
        )
        indicators[ind.code] = ind
        by_sheet.setdefault(ind.sheet, []).append(ind)
    sheets = tuple(
        sorted(
            (
                Sheet(key=r["key"], order=int(r["order"]), name=r["name"], title=r["title"],
                      unit_types=_unit_types(r["unit_types"]),
                      indicators=tuple(by_sheet.get(r["key"], ())))
                for r in _read(data_dir / "sheets.csv")
            ),
            key=lambda s: s.order,
        )
    )
    derived: list[Derived] = []
    for r in _read(data_dir / "derived.csv"):
        if "{nn}" in r["code"]:  # one row per criterion of the sheet's flags
            flags = [i for i in by_sheet[r["sheet"]] if i.type == "flag"]
            expanded = []
            for n, ind in enumerate(flags, 1):
                nn = f"{n:02d}"
                expanded.append({k: v.format(nn=nn, n=n, label=ind.label) for k, v in r.items()})
        else:
            expanded = [r]
        for e in expanded:
            derived.append(Derived(
                code=e["code"], sheet=e["sheet"], label=e["label"], unit=e["unit"],
                method=e["method"], numerator=_split(e["numerator"]),
                denominator=_split(e["denominator"]), scale=float(e["scale"] or 1),
                unit_types=_unit_types(e["unit_types"]),
            ))
    relations = tuple(
        Relation(rule=r["rule"], left=parse_terms(r["left"]), op=r["op"],
                 right=parse_terms(r["right"]), text=f"{r['left']} {r['op']} {r['right']}")
        for r in _read(data_dir / "relations.csv")
    )
    for rel in relations:
        unknown = [c for c in rel.codes if c not in indicators]
        if unknown or rel.op not in ("==", "<="):
            raise ValueError(f"relations.csv: bad relation {rel.text!r}")
    rules = load_rules(data_dir)
    for rel in relations:
        if rel.rule not in rules:
            raise ValueError(f"{data_dir / 'relations.csv'}: quy tắc {rel.rule} của điều kiện "
                             f"{rel.text!r} không có trong {RULES_FILE}; hãy thêm một dòng "
                             "(mã, mức độ, tên quy tắc).")
    return Catalogue(sheets=sheets, derived=tuple(derived), relations=relations,
                     indicators=indicators, rules=rules)
