"""The rules of FORM.md section 3 that look at one workbook, as pure functions.

Each function takes what the reader found and returns findings; none does I/O.
Types, ranges and required cells (R01, R02) and the relations between
indicators (R07-R09) are checked by the pandera models of `schemas.models`;
this module turns their failure cases into findings.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from pipelines.check.findings import WARNING, Finding, display_value, finding
from pipelines.read.workbook import DataRow, Table
from pipelines.base.text import vn_flexible
from schemas.names import ascii_fold
from pipelines.read.values import parse_cell
from schemas.catalogue import Catalogue, Sheet
from schemas.checks import CostPerHouse
from schemas.models import TYPES, UNIT, CellsModel, check_rule, relations_model
from schemas.periods import Period
from schemas.successions import Succession
from schemas.units import DISTRICT_PREFIXES, Unit, normalise_code, split_prefix

TYPE_WORDS = {"int": "số nguyên không âm", "money": "số tiền (triệu đồng, tối đa 2 chữ số thập phân)",
              "flag": "1 (đạt) hoặc 0 (chưa đạt)", "year": "năm (4 chữ số)"}


@dataclass
class Where:
    """Who a finding is about: the file, its district and the sheet as named in the file."""

    file: str
    district_code: str
    sheet: str = ""

    def __call__(self, rule: str, message: str, cell: str = "", value: object = "",
                 severity: str | None = None) -> Finding:
        return finding(rule, message, file=self.file, district_code=self.district_code,
                       sheet=self.sheet, cell=cell, value=value, severity=severity)


# --------------------------------------------------------------------------- units


def _name_key(name: str) -> tuple[str | None, str]:
    kind, key = split_prefix(name)
    if kind is None:
        _, key = split_prefix(name, DISTRICT_PREFIXES)
    return kind, key


@dataclass
class UnitIndex:
    """The units of one district valid in the period, findable by code or by name."""

    units: list[Unit]
    # the district's units that no longer exist in the period, with what became of them
    # (`Registry.former`): a row naming one gets R03 naming its successor
    former: list[tuple[Unit, Succession]] = field(default_factory=list)
    by_code: dict[str, Unit] = field(init=False)
    by_key: dict[str, list[Unit]] = field(init=False)
    by_ascii: dict[str, list[Unit]] = field(init=False)

    def __post_init__(self):
        self.by_code = {u.code: u for u in self.units}
        self.by_key, self.by_ascii = _name_index(self.units)
        self._former = {u.code: (u, s) for u, s in self.former if u.code not in self.by_code}
        self._former_key, self._former_ascii = _name_index([u for u, _ in self._former.values()])

    def by_name(self, name: object) -> Unit | None:
        return _by_name(name, self.by_key, self.by_ascii)

    def former_unit(self, code: str | None, name: object) -> tuple[Unit, Succession] | None:
        """The former unit a row names (by code, else by a name naming exactly one)."""
        if code and code in self._former:
            return self._former[code]
        unit = _by_name(name, self._former_key, self._former_ascii)
        return self._former[unit.code] if unit else None


def _name_index(units: list[Unit]) -> tuple[dict[str, list[Unit]], dict[str, list[Unit]]]:
    by_key: dict[str, list[Unit]] = {}
    by_ascii: dict[str, list[Unit]] = {}
    for u in units:
        key = _name_key(u.name)[1]
        by_key.setdefault(key, []).append(u)
        by_ascii.setdefault(ascii_fold(key), []).append(u)
    return by_key, by_ascii


def _by_name(name: object, by_key: dict, by_ascii: dict) -> Unit | None:
    if not isinstance(name, str) or not name.strip():
        return None
    kind, key = _name_key(name)
    hits = by_key.get(key) or by_ascii.get(ascii_fold(key), [])
    if kind:
        hits = [u for u in hits if u.type == kind] or hits
    return hits[0] if len(hits) == 1 else None


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def resolve_rows(table: Table, sheet: Sheet, index: UnitIndex, where: Where
                 ) -> tuple[dict[int, Unit], list[Finding]]:
    """Match each data row to a unit (R03, R19); report units missing from the sheet (R04).

    Returns {0-based row: unit} for the rows that name a unit of this sheet, once.
    """
    out: list[Finding] = []
    resolved: dict[int, Unit] = {}
    seen: dict[str, DataRow] = {}
    former: list[tuple] = []  # rows naming a unit that no longer exists
    for rec in table.rows:
        code = normalise_code(rec.code)
        by_code = index.by_code.get(code) if code else None
        by_name = index.by_name(rec.name)
        shown = f"{display_value(rec.code)} / {display_value(rec.name)}".strip(" /")
        unit = by_code or by_name
        if by_code and not _blank(rec.name) and by_name is not by_code:
            out.append(where("R19", f"Mã {code} là {by_code.name} nhưng tên ghi "
                                    f"“{display_value(rec.name)}”; đã lấy theo mã. "
                                    "Hãy sửa lại tên cho đúng.", rec.name_cell, rec.name))
        elif by_name and not by_code and not _blank(rec.code):
            out.append(where("R19", f"Mã “{display_value(rec.code)}” không phải mã của "
                                    f"{by_name.name} (mã đúng: {by_name.code}); đã lấy theo tên. "
                                    "Hãy sửa lại mã.", rec.code_cell, rec.code))
        cell = rec.code_cell or rec.name_cell
        if unit is None and (gone := index.former_unit(code, rec.name)):
            former.append((rec, cell, shown, *gone))
            continue
        if unit is None:
            out.append(where("R03", "Dòng này không ghi đơn vị nào của huyện/quận trong kỳ báo cáo "
                                    "(kiểm tra mã và tên đơn vị theo danh mục).", cell, shown))
            continue
        if not sheet.holds(unit.type):
            out.append(where("R03", f"{unit.name} không thuộc biểu này "
                                    f"(biểu chỉ gồm {_types_text(sheet)}).", cell, shown))
            continue
        if unit.code in seen:
            out.append(where("R03", f"{unit.name} xuất hiện hai lần (lần đầu ở dòng "
                                    f"{seen[unit.code].row + 1}).", cell, shown))
            continue
        seen[unit.code] = rec
        resolved[rec.row] = unit
    out += [_former_row(where, cell, shown, unit, change, change.new_code in seen)
            for _rec, cell, shown, unit, change in former]
    for unit in index.units:
        if sheet.holds(unit.type) and unit.code not in seen:
            out.append(where("R04", f"Thiếu dòng của {unit.name} (mã {unit.code}).", "",
                             f"{unit.code} {unit.name}"))
    return resolved, out


def _former_row(where: Where, cell: str, shown: str, unit: Unit, change: Succession,
                successor_listed: bool) -> Finding:
    """R03 for a row naming a unit that no longer exists: what became of it and what to do.
    When the successor's row is there too the row is set aside with a warning, so that a
    workbook on the previous form is not rejected for it (docs/decisions.md)."""
    since = change.effective.strftime("%d/%m/%Y")
    if not change.new_code:
        return where("R03", f"{unit.name} không còn trong danh mục đơn vị hành chính từ "
                            f"{since}. Hãy bỏ dòng này và ghi số liệu vào dòng của đơn vị "
                            "đang quản lý địa bàn đó.", cell, shown)
    verb = "được đổi mã thành" if change.change == "recoded" else "đã nhập vào"
    head = f"{unit.name} {verb} {change.new_name} (mã {change.new_code}) từ {since}"
    if successor_listed:
        return where("R03", f"{head}: số liệu của dòng này không được tính. Nếu dòng của "
                            f"{change.new_name} chưa gồm số liệu của {unit.name} thì hãy cộng "
                            "vào dòng đó, bỏ dòng này và gửi lại.", cell, shown,
                     severity=WARNING)
    return where("R03", f"{head}: cộng số liệu vào dòng của {change.new_name} (thêm dòng đó "
                        "nếu chưa có) và bỏ dòng này.", cell, shown)


def _types_text(sheet: Sheet) -> str:
    return ", ".join(sorted(sheet.unit_types)) if sheet.unit_types else "mọi đơn vị"


# --------------------------------------------------------------------------- values


@dataclass
class SheetValues:
    """One sheet's rows as numbers, held once: `data` (rows x `codes`, one numpy array: a
    pandas column access costs as much as the rules' arithmetic on a 15-row sheet), the
    0-based row and the unit of each line, and each value's address."""

    rows: np.ndarray  # the 0-based row of each line (int64)
    units: np.ndarray  # the unit code of each line ("" when unresolved; object)
    cells: dict[tuple[int, str], str]  # (row, code) -> address
    raw: dict[tuple[int, str], object]  # (row, code) -> the cell's value as typed
    data: np.ndarray = field(repr=False)
    codes: tuple[str, ...]
    invalid: set[tuple[int, str]] = field(default_factory=set)  # cells with an R01/R02 finding

    @property
    def invalid_columns(self) -> set[str]:
        return {code for _, code in self.invalid}

    @property
    def empty(self) -> bool:
        return len(self.rows) == 0

    def array(self, code: str) -> np.ndarray:
        """One indicator's column."""
        return self.data[:, self.codes.index(code)]

    def set_invalid(self, row: int, code: str) -> None:
        """Mark a cell as in error: NaN from now on, for every later rule."""
        self.data[np.flatnonzero(self.rows == row), self.codes.index(code)] = np.nan
        self.invalid.add((row, code))


def parse_values(table: Table, sheet: Sheet, resolved: dict[int, Unit], where: Where
                 ) -> tuple[SheetValues, list[Finding]]:
    """Turn every data row's cells into floats; cells that are no number at all -> R01
    (left NaN and marked invalid)."""
    out: list[Finding] = []
    invalid: set[tuple[int, str]] = set()
    cells, raws = {}, {}
    types = {i.code: i.type for i in sheet.indicators}
    column = {code: j for j, code in enumerate(sheet.codes)}
    data = np.full((len(table.rows), len(sheet.codes)), np.nan)
    for i, rec in enumerate(table.rows):
        for code, (raw, addr) in rec.cells.items():
            key = (rec.row, code)
            cells[key] = addr
            raws[key] = raw
            if type(raw) is float or type(raw) is int:  # most cells: a plain number
                if math.isfinite(raw):
                    data[i, column[code]] = raw
                    continue
            parsed = parse_cell(raw, types[code])
            if parsed.problem:
                invalid.add(key)
                out.append(where("R01", f"Cột {code} ({_label(sheet, code)}): {parsed.problem}; "
                                        f"cần {TYPE_WORDS[types[code]]}.", addr, raw))
            elif parsed.value is not None:
                data[i, column[code]] = parsed.value
    index = [rec.row for rec in table.rows]
    rows = np.array(index, dtype="int64")
    units = np.array([resolved[r].code if r in resolved else "" for r in index], dtype=object)
    return SheetValues(rows, units, cells, raws, data, tuple(sheet.codes), invalid), out


@dataclass
class SheetCheck:
    """One sheet of a workbook between reading and deciding: what the batch rules need."""

    sheet: Sheet
    where: Where
    values: SheetValues
    missing: frozenset[str] = frozenset()
    findings: list[Finding] = field(default_factory=list)


def cells_frame(batch: list[SheetCheck]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Every checked cell of the batch as one `CellsModel` frame (index = position), and
    for each position: the sheet it came from (index into `batch`), its row and its code.
    A missing column is one finding of its own, not one per row: its cells are left out."""
    values, owners, rows, codes, types, required = [], [], [], [], [], []
    for k, sc in enumerate(batch):
        present = [i for i in sc.sheet.indicators if i.code not in sc.missing]
        if sc.values.empty or not present:
            continue
        n, m = len(sc.values.rows), len(present)
        values.append(np.column_stack([sc.values.array(i.code) for i in present]).ravel())
        owners.append(np.full(n * m, k))
        rows.append(np.repeat(sc.values.rows, m))
        codes.append(np.tile(np.array([i.code for i in present], dtype=object), n))
        types.append(np.tile(np.array([i.type for i in present], dtype=object), n))
        required.append(np.tile(np.array([i.required for i in present]), n))
    if not values:
        empty = np.array([], dtype=object)
        return pd.DataFrame(), empty, empty, empty
    value, kind = np.concatenate(values), np.concatenate(types)
    frame = pd.DataFrame({CellsModel.value: value, CellsModel.required: np.concatenate(required),
                          **{f"{t}_value": np.where(kind == t, value, np.nan) for t in TYPES}})
    return frame, np.concatenate(owners), np.concatenate(rows), np.concatenate(codes)


def schema_findings(batch: list[SheetCheck]) -> None:
    """R01/R02 from `CellsModel`, for every sheet of the batch in one lazy validation (every
    failure, not the first); each sheet's findings are appended to its `findings`.

    One finding per cell. Cells at fault are set to NaN in the sheet's values and marked
    invalid, so that no later rule (relations, totals) reasons from a value already known
    to be wrong; a cell the reader already found to be no number is not reported again.
    """
    frame, owners, rows, codes = cells_frame(batch)
    if frame.empty:
        return
    try:
        CellsModel.validate(frame, lazy=True)
        return
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    cases = cases[cases["index"].notna()].drop_duplicates("index", keep="first")
    for pos, check in zip(cases["index"].astype("int64"), cases["check"].astype(str)):
        sc, idx, code = batch[owners[pos]], int(rows[pos]), str(codes[pos])
        values, key = sc.values, (int(rows[pos]), str(codes[pos]))
        if key in values.invalid:
            continue
        values.set_invalid(idx, code)
        rule, why = check_rule(check)
        kind = next(i.type for i in sc.sheet.indicators if i.code == code)
        message = (f"Cột {code} ({_label(sc.sheet, code)}): {why}"
                   + ("" if rule == "R02" else f"; cần {TYPE_WORDS[kind]}") + ".")
        sc.findings.append(sc.where(rule, message, values.cells.get(key, ""),
                                    values.raw.get(key, "")))


def _label(sheet: Sheet, code: str) -> str:
    return next(i.label for i in sheet.indicators if i.code == code)


def year_findings(values: SheetValues, sheet: Sheet, period: Period, where: Where) -> list[Finding]:
    """R10: a recognition year later than the period's year."""
    out = []
    rows = values.rows
    for ind in sheet.indicators:
        if ind.type != "year":
            continue
        years = values.array(ind.code)
        with np.errstate(invalid="ignore"):
            late = np.flatnonzero(years > period.year)  # bad cells are NaN already
        for i in late:
            idx, v = int(rows[i]), float(years[i])
            out.append(where("R10", f"Năm công nhận {int(v)} sau năm của kỳ báo cáo ({period.year}).",
                             values.cells.get((idx, ind.code), ""), v))
    return out


def _nan_sum(arrays: list[np.ndarray]) -> np.ndarray:
    """Row sums that are NaN when any term is (pandas' `min_count` = all)."""
    return np.sum(arrays, axis=0)


def recognition_findings(values: SheetValues, sheet: Sheet, where: Where) -> list[Finding]:
    """R11 (NTM year set, fewer than all criteria) and R12 (VM03 against VM04)."""
    out: list[Finding] = []
    flags = [i.code for i in sheet.indicators if i.type == "flag"]
    years = [i.code for i in sheet.indicators if i.type == "year"]
    if not flags or not years or values.empty:
        return out
    year = years[0]
    rows = values.rows
    spoiled = {idx for idx, code in values.invalid if code in (year, *flags)}
    fine = ~np.isin(rows, list(spoiled))  # a cell already in error says nothing more
    when = values.array(year)
    if len(flags) > 1:  # the NTM shape: criteria flags and a recognition year
        met = _nan_sum([values.array(f) for f in flags])
        with np.errstate(invalid="ignore"):
            bad = fine & ~np.isnan(when) & ~np.isnan(met) & (met < len(flags))
        for i in np.flatnonzero(bad):
            idx = int(rows[i])
            out.append(where("R11", f"Xã được ghi công nhận đạt chuẩn NTM năm {int(when[i])} "
                                    f"nhưng chỉ đạt {int(met[i])}/{len(flags)} tiêu chí.",
                             values.cells.get((idx, year), ""), float(when[i])))
    else:  # the VM shape: one standard flag and its recognition year
        flag = values.array(flags[0])
        for i in np.flatnonzero(fine & (flag == 1) & np.isnan(when)):
            out.append(where("R12", "Đã ghi đạt chuẩn văn minh đô thị nhưng chưa ghi năm công nhận.",
                             values.cells.get((int(rows[i]), year), ""), ""))
        for i in np.flatnonzero(fine & (flag == 0) & ~np.isnan(when)):
            out.append(where("R12", "Đã ghi năm công nhận nhưng cột đạt chuẩn ghi 0 (chưa đạt).",
                             values.cells.get((int(rows[i]), year), ""), float(when[i])))
    return out


def total_findings(table: Table, values: SheetValues, sheet: Sheet, where: Where) -> list[Finding]:
    """R13: the total row against the sum of the unit rows (flags: the count of 1s)."""
    if table.total is None:
        return []
    out, bad_columns = [], values.invalid_columns
    for ind in sheet.indicators:
        raw, addr = table.total.cells.get(ind.code, (None, ""))
        if ind.type == "year":
            continue
        stated = parse_cell(raw, "money").value
        if stated is None or ind.code in bad_columns:
            continue  # blank, a formula saved without its value, or a column with bad cells
        col = values.array(ind.code)
        expected = float((col == 1).sum() if ind.type == "flag" else np.nansum(col))
        if abs(stated - expected) > 0.005:
            out.append(where("R13", f"Dòng Tổng cộng ghi {vn_flexible(stated)} nhưng tổng các đơn vị "
                                    f"là {vn_flexible(expected)}.", addr, raw))
    return out


@dataclass
class WorkbookCells:
    """One workbook's accepted-so-far values, wide (one row per unit code), and where each
    value is: (unit code, indicator) -> (sheet name in the file, address)."""

    wide: pd.DataFrame
    cells: dict[tuple[str, str], tuple[str, str]]
    where: Where


def relation_findings(batch: list[WorkbookCells], catalogue: Catalogue) -> list[list[Finding]]:
    """R07-R09 across each workbook's sheets, for a batch of workbooks in one validation.

    A finding is placed on the first indicator of the relation's left side."""
    out: list[list[Finding]] = [[] for _ in batch]
    parts = [(k, b.wide) for k, b in enumerate(batch) if not b.wide.empty]
    if not parts:
        return out
    columns = sorted(set(catalogue.indicators).union(*(set(w.columns) for _, w in parts)))
    frame = pd.concat([w.reindex(columns=columns) for _, w in parts], ignore_index=True)
    owners = np.concatenate([np.full(len(w), k) for k, w in parts])
    units = np.concatenate([w.index.astype(str).to_numpy(dtype=object) for _, w in parts])
    frame[UNIT] = units
    try:
        relations_model(catalogue).validate(frame, lazy=True)
        return out
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    by_text = {f"{r.rule}:{r.text}": r for r in catalogue.relations}
    for (check, pos) in cases[["check", "index"]].drop_duplicates().itertuples(index=False):
        rel = by_text.get(str(check))
        if rel is None or pos is None or pd.isna(pos):
            continue
        b, unit = batch[owners[int(pos)]], units[int(pos)]
        target = rel.left[0].code
        sheet_name, addr = b.cells.get((unit, target), ("", ""))
        row = frame.loc[int(pos)]
        detail = ", ".join(f"{c} = {vn_flexible(row[c])}" for c in dict.fromkeys(rel.codes))
        out[owners[int(pos)]].append(Where(b.where.file, b.where.district_code, sheet_name)(
            rel.rule, f"{_relation_text(rel)} không thỏa mãn ({detail}).", addr, row[target],
            severity=catalogue.rules[rel.rule].severity if rel.rule in catalogue.rules else None))
    return out


def _relation_text(rel) -> str:
    def side(terms):
        return " ".join(("− " if t.sign < 0 else ("+ " if i else "")) + t.code
                        for i, t in enumerate(terms))
    op = "=" if rel.op == "==" else "≤"
    return f"Điều kiện {side(rel.left)} {op} {side(rel.right)}"



def cost_findings(values: SheetValues, sheet: Sheet, where: Where, cost: CostPerHouse
                  ) -> list[Finding]:
    """R17: the support money per house (AS03 / (AS01 + AS02)) outside [low, high].

    Money with no house at all is flagged too; rows with a blank or bad input are not.
    """
    codes = [cost.cost, *cost.houses]
    if not set(codes) <= set(sheet.codes):
        return []
    out: list[Finding] = []
    rows = values.rows
    houses = _nan_sum([values.array(c) for c in cost.houses])
    money = values.array(cost.cost)
    for i in np.flatnonzero(~np.isnan(money) & ~np.isnan(houses)):
        idx, m, n = int(rows[i]), float(money[i]), float(houses[i])
        if n == 0:
            if m == 0:
                continue
            why = f"có {vn_flexible(m)} triệu đồng nhưng không có nhà nào được xây mới hay sửa chữa"
        else:
            per = m / n
            if cost.low <= per <= cost.high:
                continue
            why = (f"bình quân {vn_flexible(round(per, 2))} triệu đồng một nhà "
                   f"({vn_flexible(m)} triệu đồng cho {vn_flexible(n)} nhà), ngoài khoảng "
                   f"{vn_flexible(cost.low)}–{vn_flexible(cost.high)} triệu đồng")
        out.append(where("R17", f"Kinh phí hỗ trợ nhà ở {why}. Hãy kiểm tra lại số tiền "
                                "(đơn vị triệu đồng) và số nhà.",
                         values.cells.get((idx, cost.cost), ""), values.raw.get((idx, cost.cost), m)))
    return out
