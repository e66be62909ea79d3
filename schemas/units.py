"""The unit registry: Hải Phòng's districts and commune-level units with validity dates.

Built from `schemas/data/haiphong_units.csv` (copied from the GSO snapshots in the
shared reference data) plus `schemas/data/districts_extra.csv` for districts with
no commune-level unit (Bạch Long Vĩ, 318), which report as one unit: the district
itself, with its own code.

The 2025 snapshot types every unit as `xã` and every district as `huyện`; the
real type is in the name's prefix (`Phường …`, `Quận …`), so types are taken
from the name wherever it has a known prefix.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from pipelines.text import ascii_fold, fold
from schemas.periods import Period

DATA_DIR = Path(__file__).resolve().parent / "data"
CITY_CODE = "31"
CITY_NAME = "Thành phố Hải Phòng"
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
    def __init__(self, units: list[Unit], districts: list[District]):
        self._units = units
        self._districts = districts

    def districts(self, period: Period) -> list[District]:
        day = period.end
        return sorted((d for d in self._districts if d.valid_from <= day <= d.valid_to),
                      key=lambda d: int(d.code))

    def district(self, code: str, period: Period) -> District | None:
        return next((d for d in self.districts(period) if d.code == code), None)

    def units(self, district_code: str, period: Period) -> list[Unit]:
        """Units of a district valid on the period's last day, in registry order."""
        day = period.end
        return [u for u in self._units if u.district_code == district_code and u.valid_on(day)]

    def all_units(self, period: Period) -> list[Unit]:
        day = period.end
        return [u for u in self._units if u.valid_on(day)]

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


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _unit_type(name: str, listed: str) -> str:
    kind, _ = split_prefix(name)
    return kind if kind and name.split()[0] in ("Xã", "Phường", "Thị") else listed


def _district_type(name: str, listed: str) -> str:
    kind, _ = split_prefix(name, DISTRICT_PREFIXES)
    return kind or listed


@lru_cache(maxsize=4)
def load_registry(data_dir: Path = DATA_DIR) -> Registry:
    data_dir = Path(data_dir)
    units: list[Unit] = []
    districts: dict[tuple[str, str], District] = {}
    with (data_dir / "haiphong_units.csv").open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
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
    if extra.exists():
        with extra.open(encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                d = District(code=r["district_code"], name=r["district_name"],
                             type=r["district_type"], valid_from=_day(r["valid_from"]),
                             valid_to=_day(r["valid_to"]))
                districts[(d.code, r["valid_from"])] = d
                units.append(Unit(code=d.code, name=d.name, type=DISTRICT_UNIT,
                                  district_code=d.code, valid_from=d.valid_from,
                                  valid_to=d.valid_to))
    return Registry(units, list(districts.values()))
