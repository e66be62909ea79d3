"""Demo submissions: realistic, internally consistent workbooks for every district and period.

`generate(raw_dir)` writes one workbook per district valid in each period into
`raw_dir/<period>/` (and nothing else there), with the messiness real offices produce
(`QUIRKS`, each a small function over an openpyxl Workbook) and a few deliberate defects
(`DEFECTS`, each named with the rule or status it should produce). It returns a manifest:
one dict per file written.

Numbers come from a per-unit simulation seeded by (seed, unit code, year), so a unit's
figures do not depend on which periods are asked for: GN02 of year Y (and of Y-H1) is GN06
of year Y-1, H1 flows are 40-60 % of the year's, NTM criteria only grow and the year a
commune was recognised never changes.

A unit's series runs across the registry's snapshots (`_Simulator.start`): its state at the
start of year Y is its state at the end of Y-1 whenever the same unit existed then (same
code, whatever its name or district). A change of `schemas/data/successions.csv` effective
during year Y that carries values (absorbed, split with its share, recoded) is applied from
the start of Y, on Y's boundaries, as `Registry.carried` says: the absorber starts the year
with its own households and poor households plus those of what it absorbed (so its GN02 is
the sum of their GN06 of Y-1, what R14 checks) and their villages; every other part of its
state (criteria met, years of recognition, rates) is its own. A recoded unit continues its
old code's series, and a reused code does not continue the unit that had it before. A unit
with no predecessor starts afresh (`_initial`). The random draws stay keyed by (seed, code,
year), so the years before a change do not depend on it.

A period in which the registry has no district (from 1 Jul 2025 Hải Phòng's district level
is abolished) gets no folder and no line in the manifest: `periods_without_districts` names
such periods, for a caller that must say so.

What the catalogue says is read from it (`schemas/data/`): the codes of each sheet, which
are money (two decimals), the criteria (the flags) and the year of recognition of the sheet
that has them, the balance of poor households (the `==` relation) and the parts that may not
exceed their whole (the `<=` relations between two flows). A code of the catalogue that the
simulation has no number for is an error (`values`), not a blank.
"""
from __future__ import annotations

import datetime as dt
import os
import random
import re
import shutil
import unicodedata
from pathlib import Path


from pipelines.base.atomic import atomic_path
from pipelines.forms.form import (CODE_COL, NAME_COL, build_form,
                            locate_table, relocate, save_workbook, sheet_units)
from pipelines.forms.quirks import QUIRKS, swap_tone
from pipelines.base.xlsx import set_text
from schemas.catalogue import Catalogue, load_catalogue
from schemas.periods import Period, parse_period
from schemas.successions import carried
from schemas.units import Registry, Unit, load_registry

BASE_YEAR = 2016  # first year simulated; a unit created later starts in its first year
DEFECTS = {  # defect -> the rule or submission status it should produce
    "wrong_total": "R13", "name_of_other_unit": "R19", "gn_unbalanced": "R07",
    "missing_unit_row": "R04", "superseded": "superseded", "duplicate": "duplicate",
    "extra_zeros": "R15",
}
_PEOPLE = ["Nguyễn Thị Hương", "Trần Văn Hùng", "Phạm Thị Lan", "Lê Minh Tuấn", "Vũ Thị Hoà",
           "Đỗ Quang Huy", "Hoàng Thị Thuỷ", "Bùi Văn Nam", "Đặng Thị Mai", "Ngô Đức Thắng"]


# ---------------------------------------------------------------- simulation
class _Simulator:
    def __init__(self, seed: int, catalogue: Catalogue | None = None,
                 registry: Registry | None = None):
        self.seed, self._plans, self._years = seed, {}, {}
        self.registry = registry or load_registry()
        cat = catalogue or load_catalogue()
        self._money = frozenset(c for c, i in cat.indicators.items() if i.type == "money")
        crit = next(s for s in cat.sheets if any(i.type == "flag" for i in s.indicators))
        self._criteria = [i.code for i in crit.indicators if i.type == "flag"]
        self._recognised = next(i.code for i in crit.indicators if i.type == "year")
        # a code the `==` relations define from others: GN06 = GN02 - GN03 + GN04 + GN05
        self._balances = {r.left[0].code: r.right for r in cat.relations
                          if r.op == "==" and len(r.left) == 1}
        # a part and its whole (`<=` between two codes; applied to the H1 flows): GS04 <= GS03
        self._parts = [(r.left[0].code, r.right[0].code) for r in cat.relations
                       if r.op == "<=" and len(r.left) == len(r.right) == 1
                       and r.left[0].sign == r.right[0].sign == 1]

    def _balance(self, code: str, known: dict) -> int:
        return sum(t.sign * known[t.code] for t in self._balances[code])

    def _rng(self, *key) -> random.Random:
        return random.Random(":".join(str(k) for k in (self.seed, *key)))

    def _initial(self, unit: Unit, year: int) -> dict:
        r = self._rng(unit.code, "init")
        kind = unit.type
        h = r.randint(200, 400) if kind == "huyện" else round(r.triangular(1500, 6000, 1800))
        rate = {"xã": (2, 5), "thị trấn": (1, 2.5), "phường": (0.5, 1.5)}.get(kind, (1.5, 4))
        vil = r.randint(4, 15)
        every = len(self._criteria)
        order = list(range(1, every + 1))
        r.shuffle(order)
        recognised = kind == "xã" and r.random() < 0.33
        return dict(H=h, P=round(h * r.uniform(*rate) / 100), vil=vil,
                    vil_ok=vil - r.randint(0, min(4, vil)), reg=r.uniform(0.85, 0.95),
                    fam=r.uniform(0.8, 0.92), order=order,
                    met=every if recognised else r.randint(8, every - 1),
                    ntm=r.randint(2012, year - 1) if recognised else None,
                    vm=r.randint(2010, year - 1) if kind != "xã" and r.random() < 0.45 else None)

    def plan(self, unit: Unit, year: int) -> dict:
        """{'h1': values, 'year': values, 'end': state at the year's end} for one unit (a code
        names one unit on the days a year's periods end)."""
        key = (unit.code, year)
        if key not in self._plans:
            self._plans[key] = self._year(unit, year, self.start(unit, year))
        return self._plans[key]

    def start(self, unit: Unit, year: int) -> dict:
        """The unit's state at the start of `year`: the end of `year - 1` of the units it
        continues (itself, or what it absorbed too), or a fresh start if it continues none."""
        parts = self.sources(unit.code, year) if year > BASE_YEAR else []
        if not parts:
            return self._initial(unit, year)
        before = self._before(year)[0]
        states = [(self.plan(before[code], year - 1)["end"], share) for code, share in parts]
        return _combined(states)

    def sources(self, code: str, year: int) -> list[tuple[str, float]]:
        """[(code at the end of `year - 1`, share)] of the units whose end of last year the
        unit `code` of `year` starts from, its own line first; [] for a new unit."""
        before, into = self._before(year)
        if code in into:
            return list(into[code])
        # what went to other units this year; a code wholly carried away and listed again
        # names another unit (a reused code)
        given = sum(w for new, olds in into.items() if new != code for c, w in olds if c == code)
        return [(code, 1.0 - given)] if code in before and given < 1.0 - 1e-9 else []

    def _before(self, year: int) -> tuple[dict[str, Unit], dict[str, list[tuple[str, float]]]]:
        """(the units on the last day of `year - 1` by code, `carried` for the changes
        effective during `year`: applied from its start)."""
        if year not in self._years:
            last = Period(year - 1)
            units = {u.code: u for u in self.registry.all_units(last)}
            into = carried(self.registry.successions, last.end, Period(year).end,
                           frozenset(units))
            self._years[year] = (units, into)
        return self._years[year]

    def _year(self, unit: Unit, year: int, st: dict) -> dict:
        r = self._rng(unit.code, year)
        small, rural = unit.type == "huyện", unit.type == "xã"
        share = lambda: r.uniform(0.4, 0.6)  # noqa: E731
        # a flow's level is the unit's own (drawn once for its code, the same every year);
        # the year moves it by -20..+25 %, so a clean series holds no outlier by chance
        lvl = self._rng(unit.code, "level")
        money = lambda lo, hi: round(lvl.uniform(lo, hi) * r.uniform(0.8, 1.25), 2)  # noqa: E731
        level = lambda lo, hi: max(lo, round(lvl.uniform(lo, hi) * r.uniform(0.8, 1.25)))  # noqa: E731
        p0 = st["P"]
        f = {"GN03": round(p0 * r.uniform(0.25, 0.40)), "GN04": round(p0 * r.uniform(0, 0.03)),
             "GN05": round(p0 * r.uniform(0.04, 0.10))}
        f["TT01"] = level(4, 12) if small else level(10, 40)
        f["TT02"] = f["TT01"] * level(30, 120)
        f["NL01"] = money(20, 80) if small else money(50, 500)
        f["NL02"] = money(10, 100) if small else money(200, 3000) if rural else money(50, 800)
        f["NL03"] = money(5, 50) if small else money(20, 600)
        f["NL04"] = level(*(50, 300) if small else (500, 5000) if rural else (100, 1500))
        f["AS01"] = r.choice([0, 1]) if small else r.choice([0, 0, 1, 1, 2, 3])
        f["AS02"] = r.choice([0, 1]) if small else r.choice([0, 1, 1, 2, 3])
        costs = [round(r.uniform(40, 80), 2) for _ in range(f["AS01"] + f["AS02"])]
        f["AS03"] = round(sum(costs), 2)
        f["AS04"] = level(1, 10) if small else level(5, 60)
        f["AS05"] = round(p0 * r.uniform(1, 2.5)) + r.randint(0, 20)
        f["MH01"], f["MH02"] = r.randint(0, 4), r.randint(0, 3)
        f["MH03"] = (f["MH01"] + f["MH02"]) * r.randint(5, 20)
        f["MH04"] = min(round(f["MH03"] * r.uniform(0.05, 0.3)), f["GN03"])
        f["GS01"], f["GS02"], f["GS03"] = r.randint(1, 8), r.randint(0, 3), r.randint(0, 12)
        f["GS04"] = round(f["GS03"] * r.uniform(0.5, 1))
        f["GS05"] = level(20, 80) if small else level(50, 400)
        f["GS06"] = round(f["GS05"] * r.uniform(0.75, 0.97))
        h = {k: (round(v * share(), 2) if k in self._money else round(v * share()))
             for k, v in f.items()}
        built, fixed = round(f["AS01"] * share()), round(f["AS02"] * share())
        h.update(AS01=built, AS02=fixed, AS03=round(sum(costs[:built]) + sum(
            costs[f["AS01"]:f["AS01"] + fixed]), 2))
        parts = [(a, b) for a, b in self._parts if a in h and b in h]
        for small_code, big_code in (*parts, ("MH04", "MH03"), ("MH04", "GN03")):
            h[small_code] = min(h[small_code], h[big_code])

        end_h = round(st["H"] * (1 + r.uniform(0.005, 0.02)))
        reg = min(0.98, st["reg"] + r.uniform(0, 0.01))
        fam = min(0.97, st["fam"] + r.uniform(0, 0.015))
        vil_ok = min(st["vil"], st["vil_ok"] + (r.random() < 0.4))
        step = r.randint(1, 4) if st["met"] >= 14 else r.randint(0, 3)  # criteria gained
        every = len(self._criteria)
        k = min(every - st["met"], step)
        k_h1 = r.randint(0, k)
        vm, vm_h1 = st["vm"], st["vm"]
        if vm is None and r.random() < 0.25:
            vm = year
            vm_h1 = year if r.random() < 0.5 else None
        ntm = st["ntm"] or (year if st["met"] + k == every else None)
        out = {}
        for half, flows, hh, met, ok, vm_year in (
                ("h1", h, (st["H"] + end_h) // 2, st["met"] + k_h1, st["vil_ok"], vm_h1),
                ("year", f, end_h, st["met"] + k, vil_ok, vm)):
            v = dict(flows)
            poor = self._balance("GN06", {"GN02": p0, **flows})
            near = min(round(poor * r.uniform(2, 3)), hh - poor)
            v.update(GN01=hh, GN02=p0, GN06=poor, GN07=near,
                     TT03=round(hh * reg), TT05=st["vil"], TT06=ok, VM01=st["vil"], VM02=ok,
                     VM03=int(vm_year is not None), VM04=vm_year)
            v["TT04"] = round(v["TT03"] * fam)
            done = set(st["order"][:met])
            v.update({code: int(n in done) for n, code in enumerate(self._criteria, 1)})
            v[self._recognised] = st["ntm"] or (year if met == every else None)
            out[half] = v
        out["end"] = dict(st, H=end_h, P=out["year"]["GN06"], reg=reg, fam=fam, vil_ok=vil_ok,
                          met=st["met"] + k, ntm=ntm, vm=vm)
        return out

    def values(self, units: list[Unit], period: Period, catalogue: Catalogue) -> dict:
        """`values` for `write_form`: sheet key -> unit code -> indicator code -> value."""
        out: dict = {}
        for sheet in catalogue.sheets:
            if units and (none := [c for c in sheet.codes
                                   if c not in self.plan(units[0], period.year)["year"]]):
                raise ValueError(f"the sample generator simulates no value for {none} "
                                 f"(sheet {sheet.key} of the catalogue)")
            out[sheet.key] = {}
            for u in sheet_units(sheet, units):
                v = self.plan(u, period.year)["h1" if period.h1 else "year"]
                out[sheet.key][u.code] = {c: v[c] for c in sheet.codes}
        return out


def _combined(states: list[tuple[dict, float]]) -> dict:
    """One starting state from the end states of the units a unit continues, with the
    share of each it takes: households, poor households and villages summed (each part
    rounded), everything else from the first (the unit's own line)."""
    def total(key: str) -> int:
        return sum(round(st[key] * share) for st, share in states)
    return dict(states[0][0], H=total("H"), P=total("P"), vil=total("vil"),
                vil_ok=total("vil_ok"))


def simulate_values(district_code: str, period: Period | str, seed: int = 2017,
                    catalogue: Catalogue | None = None, registry: Registry | None = None) -> dict:
    """The clean values `generate` would write for one district and period (for tests:
    write them with `write_form`, apply a quirk, and check a reader gets them back)."""
    period = period if isinstance(period, Period) else parse_period(period)
    registry = registry or load_registry()
    units = registry.units(str(district_code), period)
    catalogue = catalogue or load_catalogue()
    return _Simulator(seed, catalogue, registry).values(units, period, catalogue)


def periods_without_districts(periods, registry: Registry | None = None) -> list[Period]:
    """The periods of `periods` (Period or text) in which `registry` (default Hải Phòng's)
    has no district, in period order: `generate` writes nothing for them (no folder, no line
    in the manifest), so a caller can say so instead of claiming it wrote them."""
    registry = registry or load_registry()
    asked = {p if isinstance(p, Period) else parse_period(p) for p in periods}
    return sorted((p for p in asked if not registry.districts(p)), key=lambda p: p.sort_key)


# ---------------------------------------------------------------- planning and writing
_NAMES_H1 = ["BC 6 thang {year} - {ascii}", "Bao cao 6 thang {ascii} (sua lan 2)",
             "Báo cáo 6 tháng đầu năm {year} - {short}", "{code}_{year}_H1",
             "{short} - báo cáo sơ kết 6 tháng {year}"]
_NAMES_YEAR = ["BC nam {year} - {ascii}", "Bao cao ca nam {year} {ascii} (final)",
               "Báo cáo năm {year} {short}", "{code}_{year}", "{short} - BC tong ket nam {year}"]
_ERRORS = {"R04", "R07"}


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFD", text).replace("Đ", "D").replace("đ", "d")
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _file_name(district, period: Period, style: int) -> str:
    short = re.sub(r"^(Quận|Huyện)\s+", "", district.name)
    pattern = (_NAMES_H1 if period.h1 else _NAMES_YEAR)[style]
    return pattern.format(year=period.year, ascii=_ascii(short), short=short,
                          code=district.code) + ".xlsx"


def _eligible(quirk: str, job: dict) -> bool:
    if quirk == "names_other_tone":
        return any(swap_tone(u.name) != u.name for u in job["units"])
    # Bạch Long Vĩ's single row would hide most quirks; it gets the cover ones.
    return len(job["units"]) >= 2 or quirk.startswith("cover_")


def _assign(jobs: list[dict], rng: random.Random, optional: list[str],
            catalogue: Catalogue) -> None:
    """Spread defects (distinct districts), quirks (each at least once, a few files get two)
    and a few blank optional cells over the jobs; most files stay clean."""
    order = jobs[:]
    rng.shuffle(order)
    used: set[str] = set()
    for name in DEFECTS:  # R07 in an H1 report, so no R14 follows in the next year
        late = [j for j in order if name != "gn_unbalanced" or j["period"].h1
                or j["period"] == jobs[-1]["period"]]
        pick = next((j for j in late + order if len(j["units"]) >= 2 and not j["defects"]
                     and j["district"].code not in used), None)
        if pick:
            pick["defects"].append(name)
            used.add(pick["district"].code)
    for n, quirk in enumerate(QUIRKS):
        want = 1 if n % 3 == 2 else 0
        cands = [j for j in order if _eligible(quirk, j) and len(j["quirks"]) < 3]
        cands.sort(key=lambda j: (bool(j["defects"]), len(j["quirks"]) != want, len(j["quirks"])))
        if cands:
            cands[0]["quirks"].append(quirk)
    for job in sorted((j for j in order if not j["defects"]), key=lambda j: len(j["quirks"]))[:3]:
        for unit in rng.sample(job["units"], min(2, len(job["units"]))):
            for code in rng.sample(optional, rng.randint(1, 3)):
                job["blanks"].append((catalogue.indicators[code].sheet, unit.code, code))


def _sheet_name(catalogue: Catalogue, key: str) -> str:
    return catalogue.sheet(key).display_name


def _write_job(folder: Path, job: dict, sim: _Simulator, catalogue: Catalogue,
               seed: int, registry: Registry) -> list[dict]:
    period, district, units = job["period"], job["district"], job["units"]
    r = random.Random(f"{seed}:{period}:{district.code}")
    values = sim.values(units, period, catalogue)
    blanks = [dict(sheet=_sheet_name(catalogue, s), unit_code=u, indicator=c)
              for s, u, c in job["blanks"] if u in values[s]]
    for s, u, c in job["blanks"]:
        values[s].get(u, {})[c] = None
    made = (dt.date(period.year, 7, r.randint(3, 20)) if period.h1
            else dt.date(period.year, 12, 20) + dt.timedelta(days=r.randint(0, 25)))
    cover = {"Người lập biểu": r.choice(_PEOPLE), "Ngày lập": made,
             "Điện thoại": f"0225 {r.randint(3500, 3899)} {r.randint(100, 999)}"}
    style = 0 if "duplicate" in job["defects"] else r.randrange(len(_NAMES_H1))
    name, defects, totals = _file_name(district, period, style), [], None
    if (folder / name).exists():  # another district of the same name (the national registry)
        name = f"{name[:-5]} ({district.code}).xlsx"
    def defect(kind: str, sheet: str, **kw) -> None:
        defects.append(dict(name=kind, rule=DEFECTS[kind], sheet=_sheet_name(catalogue, sheet),
                            **kw))

    if "gn_unbalanced" in job["defects"]:  # the balance of the defect's rule broken
        code = next(rel.left[0].code for rel in catalogue.relations
                    if rel.rule == DEFECTS["gn_unbalanced"] and rel.op == "==")
        rows = values[catalogue.indicators[code].sheet]
        unit = r.choice(sorted(rows))
        rows[unit][code] += r.randint(2, 5)
        defect("gn_unbalanced", catalogue.indicators[code].sheet, unit_code=unit, indicator=code)
    if "extra_zeros" in job["defects"]:  # a number typed with two zeros too many
        key = catalogue.indicators["TT02"].sheet
        unit = r.choice(sorted(values[key]))
        values[key][unit]["TT02"] *= 100
        defect("extra_zeros", key, unit_code=unit, indicator="TT02")
    if "wrong_total" in job["defects"]:
        key = catalogue.indicators["GN01"].sheet
        totals = {key: {c: sum(v[c] for v in values[key].values())
                        for c in catalogue.sheet(key).codes}}
        totals[key]["GN01"] += r.randint(50, 300)
        defect("wrong_total", key, indicator="GN01")
    wb = build_form(district.code, period, values=values, cover=cover, totals=totals,
                    catalogue=catalogue, registry=registry)
    if "name_of_other_unit" in job["defects"]:
        ws = wb[_sheet_name(catalogue, "GN")]
        first, total, _ = locate_table(ws, catalogue)
        row, other = r.sample(range(first, total), 2)
        set_text(ws.cell(row, NAME_COL), ws.cell(other, NAME_COL).value)
        defect("name_of_other_unit", "GN", unit_code=ws.cell(row, CODE_COL).value,
               named=ws.cell(other, CODE_COL).value)
    if "missing_unit_row" in job["defects"]:
        ws = wb[_sheet_name(catalogue, "MH")]
        first, total, _ = locate_table(ws, catalogue)
        gone = r.randrange(first, total)
        defect("missing_unit_row", "MH", unit_code=ws.cell(gone, CODE_COL).value)
        relocate(ws, lambda row, c: None if row == gone else (row - (row > gone), c))
    quirks = [q for q in QUIRKS if q in job["quirks"]]
    for q in quirks:
        QUIRKS[q](wb)
    stamp = dt.datetime.combine(made, dt.time(8 + r.randint(0, 8), r.randint(0, 59))).timestamp()
    save_workbook(wb, folder / name)
    os.utime(folder / name, (stamp, stamp))
    status = "partial" if any(d["rule"] in _ERRORS for d in defects) else "accepted"
    entry = dict(period=str(period), file=name, district_code=district.code, quirks=quirks,
                 defects=defects, blanks=blanks, date=made.isoformat(), status=status)
    out = [entry]
    if "superseded" in job["defects"]:  # an earlier draft, sent first, with a smaller fund
        for rows in values["NL"].values():
            rows["NL01"] = None if rows["NL01"] is None else round(rows["NL01"] * 0.8, 2)
        old_day = made - dt.timedelta(days=r.randint(5, 15))
        old = name.replace(".xlsx", " (ban cu).xlsx")
        save_workbook(build_form(district.code, period, values=values, catalogue=catalogue,
                                 cover=dict(cover, **{"Ngày lập": old_day}), registry=registry),
                      folder / old)
        os.utime(folder / old, (stamp - 86400 * (made - old_day).days,) * 2)
        out.append(dict(entry, file=old, quirks=[], date=old_day.isoformat(), status="superseded",
                        defects=[dict(name="superseded", rule="superseded", by=name)]))
    if "duplicate" in job["defects"]:  # the same bytes sent again under another name
        copy = f"Gui lai - {name}"
        with atomic_path(folder / copy) as tmp:
            shutil.copyfile(folder / name, tmp)
        os.utime(folder / copy, (stamp + 3600,) * 2)
        kept, dup = sorted([name, copy])
        out = [dict(entry, file=kept), dict(entry, file=dup, status="duplicate", defects=[
            dict(name="duplicate", rule="duplicate", of=kept)])]
    return out


def generate(raw_dir: Path | str, periods=("2016", "2017-H1", "2017"),
             seed: int = 2017, clean: bool = False, registry: Registry | None = None,
             districts=None) -> list[dict]:
    """Write demo submissions for every district valid in each period into
    `raw_dir/<period>/` and return the manifest (one dict per file written).
    `clean`: one plain workbook per district, with no quirk, defect or blank cell.
    `registry`: the units (default Hải Phòng's; the settings' `units_path` names another).
    `districts`: only these district codes (default every district of each period).
    A period with no district in the registry gets nothing: no folder, no manifest line
    (`periods_without_districts`)."""
    raw_dir = Path(raw_dir)
    catalogue, registry = load_catalogue(), registry or load_registry()
    periods = sorted({p if isinstance(p, Period) else parse_period(p) for p in periods},
                     key=lambda p: p.sort_key)
    related = {c for rel in catalogue.relations for c in rel.codes} | {"AS01", "AS02", "AS03"}
    optional = [i.code for i in catalogue.indicators.values()
                if not i.required and i.kind == "flow" and i.code not in related]
    wanted = None if districts is None else {str(c) for c in districts}
    jobs = [dict(period=p, district=d, units=registry.units(d.code, p), quirks=[], defects=[],
                 blanks=[]) for p in periods for d in registry.districts(p)
            if districts is None or d.code in wanted]
    if not clean:
        _assign(jobs, random.Random(seed), optional, catalogue)
    sim, manifest = _Simulator(seed, catalogue, registry), []
    for job in jobs:
        folder = raw_dir / str(job["period"])
        folder.mkdir(parents=True, exist_ok=True)
        manifest += _write_job(folder, job, sim, catalogue, seed, registry)
    return manifest
