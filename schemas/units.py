"""The unit registry: Hải Phòng's districts and commune-level units with validity dates.

Built from `schemas/data/haiphong_units.csv` (copied from the GSO snapshots in the
shared reference data) plus `schemas/data/districts_extra.csv` for districts with
no commune-level unit (Bạch Long Vĩ, 318), which report as one unit: the district
itself, with its own code.

Another units file of the same layout (`load_registry(units_file=…)`; the setting
`THONGKE_UNITS`, `pipelines/settings.py`), such as the national snapshot
`vietnam_units_2016.csv` for the national-scale benchmark: the whole program then runs
on its districts, and the top level is the province when the file holds one, else the
country (`Registry.top_code`, `top_name`, `top_label`).

The 2025 snapshot types every unit as `xã` and every district as `huyện`; the
real type is in the name's prefix (`Phường …`, `Quận …`), so types are taken
from the name wherever it has a known prefix.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from schemas.names import ascii_fold, fold
from schemas.periods import Period
from schemas.successions import Succession, carried, load_successions, successor

DATA_DIR = Path(__file__).resolve().parent / "data"
CITY_CODE = "31"  # Hải Phòng: the default registry's top level
CITY_NAME = "Thành phố Hải Phòng"
CITY_LABEL = "Toàn thành phố"
COUNTRY_CODE, COUNTRY_NAME, COUNTRY_LABEL = "0", "Cả nước", "Cả nước"
DISTRICT_UNIT = "huyện"  # unit type of a district that reports as its own single unit

_UNIT_PREFIXES = [  # (folded prefix, unit type); longer first
    ("thị trấn", "thị trấn"), ("phường", "phường"), ("xã", "xã"),
    ("tt.", "thị trấn"), ("tt", "thị trấn"), ("p.", "phường"), ("x.", "xã"),
]
DISTRICT_PREFIXES = [
    ("thành phố", "thành phố"), ("thị xã", "thị xã"), ("quận", "quận"), ("huyện", "huyện"),
    ("tp.", "thành phố"), ("tp", "thành phố"), ("q.", "quận"), ("h.", "huyện"),
]


def split_prefix(name: str, prefixes=_UNIT_PREFIXES) -> tuple[str | None, str]:
    """`Xã Đại Thắng` -> ('xã', fold('Đại Thắng')); no prefix -> (None, fold(name))."""
    key = fold(name)
    for prefix, kind in prefixes:
        fp = fold(prefix)
        if key.startswith(fp) and (fp.endswith(".") or key[len(fp):len(fp) + 1] in (" ", "")):
            rest = key[len(fp):].lstrip(" .")
            if rest:
                return kind, rest
    words = ascii_fold(name).split(" ")  # typed without diacritics: `Xa Dai Thang`, `Huyen …`
    for prefix, kind in prefixes:
        plain = ascii_fold(prefix).split(" ")
        rest = " ".join(key.replace(".", " ").split()[len(plain):])
        if plain != [""] and words[:len(plain)] == plain and rest:
            return kind, rest
    return None, key


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    type: str  # xã | phường | thị trấn | huyện (a district reporting as itself)
    district_code: str
    valid_from: date
    valid_to: date

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class District:
    code: str
    name: str
    type: str
    valid_from: date
    valid_to: date


def normalise_code(value: object) -> str | None:
    """A GSO code typed as a number or text (`11296`, `11296.0`, `011296`) -> `11296`."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if value != value or not value.is_integer():
            return None
        value = int(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.0+)?", text):
        return str(int(text.split(".")[0]))
    return None


class Registry:
    """Lookups are indexed per day (a period's last day): at national scale (707 districts,
    10,767 units) a scan per call would cost more than the checks themselves."""

    def __init__(self, units: list[Unit], districts: list[District],
                 top: tuple[str, str, str] = (CITY_CODE, CITY_NAME, CITY_LABEL),
                 source: Path | None = None, provinces: dict[str, str] | None = None,
                 successions: tuple[Succession, ...] = (),
                 province_codes: dict[str, str] | None = None,
                 province_names: dict[str, str] | None = None):
        self._units = units
        self.successions = successions  # what became of the units that left the list
        self.source = source  # another units file (national scale); None: Hải Phòng's own
        self.provinces = provinces or {}  # district code -> its province's name
        self.province_codes = province_codes or {}  # district code -> its province's code
        self.province_names = province_names or {}  # province code -> its name
        self._districts = districts
        self.top_code, self.top_name, self.top_label = top
        # The top of the hierarchy: the city (Hải Phòng's own file, or a file of one
        # province), or the country (a file of several provinces, ranked under it).
        self.top_level = "country" if self.top_code == COUNTRY_CODE else "city"
        self._former: dict[tuple[str, date], list[tuple[Unit, Succession]]] = {}
        self._by_day: dict[date, tuple[list[District], dict[str, District],
                                       dict[str, list[Unit]], list[Unit]]] = {}

    def _on(self, day: date):
        if day not in self._by_day:
            districts = sorted((d for d in self._districts if d.valid_from <= day <= d.valid_to),
                               key=lambda d: int(d.code))
            units = [u for u in self._units if u.valid_on(day)]
            by_district: dict[str, list[Unit]] = {}
            for u in units:
                by_district.setdefault(u.district_code, []).append(u)
            self._by_day[day] = (districts, {d.code: d for d in districts}, by_district, units)
        return self._by_day[day]

    def districts(self, period: Period) -> list[District]:
        return list(self._on(period.end)[0])

    def levels(self, period: Period) -> tuple[str, ...]:
        """The levels of the hierarchy in `period`, lowest first, as the data has them:
        ("unit", "district", "city") for Hải Phòng (or a file of one province);
        ("unit", "district", "province", "country") for a file of several provinces. A
        period with no district has no district level (nor a province level)."""
        if not self._on(period.end)[0]:
            return ("unit", self.top_level)
        if self.top_level == "country":
            return ("unit", "district", "province", "country")
        return ("unit", "district", self.top_level)

    def province_of(self, district_code: str) -> str | None:
        """The code of the province a district belongs to (None if the file does not say)."""
        return self.province_codes.get(str(district_code))

    def refusal(self, period: Period) -> str | None:
        """Why `period` cannot be reported on the district form, in words for an officer
        (None when it can): the registry has no district on its last day. From 1 Jul 2025
        Hải Phòng has no district level (communes, wards and two special zones directly
        under the city): every command says this one message and does nothing else."""
        if self._on(period.end)[0]:
            return None
        ends = [d.valid_to for d in self._districts if d.valid_to < period.end]
        starts = [d.valid_from for d in self._districts if d.valid_from > period.end]
        if ends and not starts:
            last = max(ends)
            day = (last + timedelta(days=1)).strftime("%d/%m/%Y")
            final = Period(last.year, h1=True) if last.month < 12 else Period(last.year)
            return (f"kỳ {period} ({_lower(period.label)}) kết thúc sau ngày {last.strftime('%d/%m/%Y')}: từ {day} "
                    f"{self.top_name} không còn cấp quận, huyện (xã, phường, đặc khu trực thuộc "
                    "thành phố), nên biểu mẫu theo quận, huyện không dùng được cho kỳ này và "
                    "thongke chưa lập báo cáo theo mô hình chính quyền hai cấp. Kỳ cuối cùng "
                    f"báo cáo được là {final} ({_lower(final.label)}).")
        return (f"danh mục đơn vị không có quận, huyện nào trong kỳ {period} "
                f"({_lower(period.label)}); "
                "hãy kiểm tra kỳ báo cáo hoặc danh mục đơn vị (THONGKE_UNITS).")

    def district(self, code: str, period: Period) -> District | None:
        return self._on(period.end)[1].get(code)

    def units(self, district_code: str, period: Period) -> list[Unit]:
        """Units of a district valid on the period's last day, in registry order."""
        return list(self._on(period.end)[2].get(district_code, ()))

    def all_units(self, period: Period) -> list[Unit]:
        return list(self._on(period.end)[3])

    def every_unit(self) -> tuple[Unit, ...]:
        """Every unit row of the registry, all periods (a code may appear more than once,
        each row with its own validity)."""
        return tuple(self._units)

    def carried(self, since: Period, to: Period) -> dict[str, list[tuple[str, float]]]:
        """Unit code in `to` -> [(unit code in `since`, share)] for the units whose values
        are summed on `to`'s boundaries (predecessors into successors); only units whose
        list changed between the two periods' last days."""
        existing = frozenset(u.code for u in self.all_units(since))
        return carried(self.successions, since.end, to.end, existing)

    def successor(self, code: str, period: Period) -> Succession | None:
        """The change that ended unit `code` by the end of `period` (not a rename or move)."""
        if any(u.code == code for u in self.all_units(period)):
            return None
        return successor(self.successions, code, period.end)

    def former(self, district_code: str, period: Period) -> list[tuple[Unit, Succession]]:
        """The district's units that ended before the period's last day (not renamed or
        moved), each with the change that ended it: what a row naming one is told."""
        key = (district_code, period.end)
        if key not in self._former:
            current = {u.code for u in self.all_units(period)}
            last: dict[str, Unit] = {}
            for u in self._units:
                if (u.district_code == district_code and u.valid_to < period.end
                        and u.code not in current):
                    if u.code not in last or u.valid_to > last[u.code].valid_to:
                        last[u.code] = u
            self._former[key] = [(u, s) for u in last.values()
                                 if (s := successor(self.successions, u.code, period.end))]
        return list(self._former[key])

    def find_district(self, code: object, name: object, period: Period) -> District | None:
        """By code; if the code is missing or unknown, by a name that names exactly one."""
        code = normalise_code(code)
        found = self.district(code, period) if code else None
        if found or not name:
            return found
        _, key = split_prefix(str(name), DISTRICT_PREFIXES)
        hits = [d for d in self.districts(period)
                if split_prefix(d.name, DISTRICT_PREFIXES)[1] == key]
        if not hits:
            akey = ascii_fold(key)
            hits = [d for d in self.districts(period)
                    if ascii_fold(split_prefix(d.name, DISTRICT_PREFIXES)[1]) == akey]
        return hits[0] if len(hits) == 1 else None


def _lower(label: str) -> str:
    """A period's label inside a sentence: "Năm 2025" -> "năm 2025"."""
    return label[:1].lower() + label[1:]


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _unit_type(name: str, listed: str) -> str:
    kind, _ = split_prefix(name)
    return kind if kind and name.split()[0] in ("Xã", "Phường", "Thị") else listed


def _district_type(name: str, listed: str) -> str:
    kind, _ = split_prefix(name, DISTRICT_PREFIXES)
    return kind or listed


def load_registry(data_dir: Path = DATA_DIR, units_file: Path | str | None = None) -> Registry:
    """Hải Phòng's registry (from `data_dir`), or the one in `units_file` (another units
    file of the same layout: no extra districts)."""
    return _load(Path(units_file).resolve() if units_file else Path(data_dir))


@lru_cache(maxsize=4)
def _load(source: Path) -> Registry:
    if source.is_file():  # another units file: no extra districts
        data_dir, units_csv = source.parent, source
    else:
        data_dir, units_csv = source, source / "haiphong_units.csv"
    units: list[Unit] = []
    districts: dict[tuple[str, str], District] = {}
    provinces: dict[str, str] = {}
    district_provinces: dict[str, str] = {}
    province_codes: dict[str, str] = {}  # district code -> province code
    with units_csv.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            provinces[str(int(r["province_code"]))] = r["province_name"]
            district_provinces[str(int(r["district_code"]))] = r["province_name"].strip()
            province_codes[str(int(r["district_code"]))] = str(int(r["province_code"]))
            units.append(Unit(
                code=str(int(r["unit_code"])), name=r["unit_name"],
                type=_unit_type(r["unit_name"], r["unit_type"]),
                district_code=str(int(r["district_code"])),
                valid_from=_day(r["valid_from"]), valid_to=_day(r["valid_to"]),
            ))
            key = (str(int(r["district_code"])), r["valid_from"])
            districts.setdefault(key, District(
                code=key[0], name=r["district_name"],
                type=_district_type(r["district_name"], r["district_type"]),
                valid_from=_day(r["valid_from"]), valid_to=_day(r["valid_to"]),
            ))
    extra = data_dir / "districts_extra.csv"
    if extra.exists() and not source.is_file():
        with extra.open(encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                d = District(code=r["district_code"], name=r["district_name"],
                             type=r["district_type"], valid_from=_day(r["valid_from"]),
                             valid_to=_day(r["valid_to"]))
                districts[(d.code, r["valid_from"])] = d
                units.append(Unit(code=d.code, name=d.name, type=DISTRICT_UNIT,
                                  district_code=d.code, valid_from=d.valid_from,
                                  valid_to=d.valid_to))
    if len(provinces) == 1:
        code, name = next(iter(provinces.items()))
        top = (code, name, CITY_LABEL if name.startswith("Thành phố") else "Toàn tỉnh")
    else:
        top = (COUNTRY_CODE, COUNTRY_NAME, COUNTRY_LABEL)
    return Registry(units, list(districts.values()), top,
                    source=source if source.is_file() else None, provinces=district_provinces,
                    successions=() if source.is_file() else load_successions(data_dir),
                    province_codes=province_codes,
                    province_names={c: n.strip() for c, n in provinces.items()})
