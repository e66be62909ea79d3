"""The leaders' report as an administrative document (Nghị định 30/2020/NĐ-CP): the issuing
body, the number, the place and date, the recipients and the signature block.

They are data (`schemas/data/official.toml`, or the file `THONGKE_OFFICIAL` names: see
`pipelines.settings`), read by `load`; the template (`templates/report.html.j2`) lays them
out at the top of the first page and after the method note. Every value is plain text: the
template escapes it like any other (Jinja2 autoescape).

The shipped file is Hải Phòng's. On another units registry (`other_units`: `THONGKE_UNITS`, e.g. the
national one) without a file of its own, the details are blank (dotted lines to fill in by
hand): the report names no issuing body it does not know.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from schemas.catalogue import DATA_DIR

DEFAULT_PATH = DATA_DIR / "official.toml"
TEXT_KEYS = ("issuer_parent", "issuer", "number_prefix", "place", "signer_authority",
             "signer_title", "signer_name")


@dataclass(frozen=True)
class Official:
    issuer_parent: str = ""  # tên cơ quan chủ quản, e.g. "ỦY BAN NHÂN DÂN"
    issuer: str = ""  # the issuing body, e.g. "THÀNH PHỐ HẢI PHÒNG"
    number_prefix: str = ""  # ký hiệu after the number, e.g. "BC-UBND"
    place: str = ""  # địa danh, e.g. "Hải Phòng"
    recipients: tuple[str, ...] = ()  # nơi nhận, without "- " and ";"; "Lưu: VT." is added
    signer_authority: str = ""  # e.g. "TM. ỦY BAN NHÂN DÂN"
    signer_title: str = ""  # e.g. "CHỦ TỊCH"
    signer_name: str = ""
    made: date | None = None  # the report's date of making: the place-date line

    @property
    def dateline(self) -> str:
        """"Hải Phòng, ngày 03 tháng 12 năm 2026": days below 10 and months 1 and 2 with a
        leading 0 (Nghị định 30/2020/NĐ-CP, Phụ lục I)."""
        if self.made is None:
            return ""
        month = f"{self.made.month:02d}" if self.made.month < 3 else str(self.made.month)
        when = f"ngày {self.made.day:02d} tháng {month} năm {self.made.year}"
        return f"{self.place}, {when}" if self.place else when[0].upper() + when[1:]

    @property
    def recipient_lines(self) -> tuple[str, ...]:
        """Each recipient as its line ends (";" unless it ends in punctuation already)."""
        return tuple(r if r[-1] in ";:,." else f"{r};" for r in self.recipients)


def load(path: Path | str | None = None, *, made: date | None = None,
         other_units: bool = False) -> Official:
    """The report's official details from `path` (default `schemas/data/official.toml`; blank
    on another units registry). An unknown key, or a value of the wrong kind, is a `ValueError`
    naming the file."""
    if not path and other_units:
        return Official(made=made)
    path = Path(path) if path else DEFAULT_PATH
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ValueError(f"{path}: không đọc được tệp ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: tệp TOML không hợp lệ ({exc})") from exc
    return parse(data, str(path), made=made)


def fingerprint(path: Path | str | None = None, other_units: bool = False) -> str:
    """What the report's official details are made from, for the report's cache key: the file
    `load` reads (the default one or another) and a digest of its content."""
    import hashlib

    if not path and other_units:
        return "official=blank (another units registry)"
    path = Path(path) if path else DEFAULT_PATH
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        digest = "unreadable"
    return f"official={path}:{digest}"


def parse(data: dict, source: str = "official.toml", *, made: date | None = None) -> Official:
    def fail(message: str):
        raise ValueError(f"{source}: {message}")

    unknown = set(data) - {*TEXT_KEYS, "recipients"}
    if unknown:
        fail(f"khóa không hợp lệ: {', '.join(sorted(unknown))}")
    texts = {}
    for key in TEXT_KEYS:
        value = data.get(key, "")
        if not isinstance(value, str):
            fail(f"{key} phải là một chuỗi")
        texts[key] = " ".join(value.split())
    recipients = data.get("recipients", [])
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        fail("recipients phải là một danh sách chuỗi")
    lines = tuple(t for r in recipients if (t := " ".join(r.split()).removeprefix("- ").strip()))
    return Official(**texts, recipients=lines, made=made)
