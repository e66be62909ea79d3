"""A checker of the report's words: every number in every sentence of a rendered report,
recomputed from the two periods' `aggregates.csv` with the coverage the sentence states.

Independent of the code that wrote the sentences: it reads the HTML, the CSVs, the catalogue's
CSV files and the units file, and recomputes
- a district's eligibility from the unit rows it carries for the indicator (a quận has no unit
  row for a commune-only indicator);
- a total over some districts from their district rows (sums; rates from the sums of their
  numerators and denominators) or their unit rows (averages per commune);
- every change over the districts complete in both periods, which the sentence must name.

`check(html, now_csv, before_csvs)` returns the list of problems (empty when every sentence is
right); a sentence of a form it does not know is a problem too.
"""
from __future__ import annotations

import csv
import html as html_lib
import math
import re
import tomllib
from collections import defaultdict
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "schemas" / "data"
TOPS = ("Toàn thành phố", "Cả nước")
MIN_SHARE = 2 / 3
NUM = r"[+−-]?\d{1,3}(?:\.\d{3})*(?:,\d+)?"


def vn_float(text: str) -> tuple[float, int]:
    """`1.234,5` -> (1234.5, 1 decimal); `−0,41` -> (-0.41, 2)."""
    text = text.strip().replace("−", "-").replace("+", "")
    whole, _, frac = text.partition(",")
    return float(whole.replace(".", "") + ("." + frac if frac else "")), len(frac)


def shows(text: str, value: float) -> bool:
    """Whether `text` (a Vietnamese number) is `value` rounded as shown."""
    if math.isnan(value):
        return False
    shown, decimals = vn_float(text)
    return abs(shown - value) <= 0.5 * 10 ** -decimals + 1e-9


def split_names(text: str) -> list[str]:
    parts = [p.strip() for p in re.split(r", | và ", text)]
    return [p for p in parts if p]


class Catalogue:
    def __init__(self):
        with (DATA / "indicators.csv").open(encoding="utf-8", newline="") as f:
            self.base = {r["code"]: r for r in csv.DictReader(f)}
        with (DATA / "derived.csv").open(encoding="utf-8", newline="") as f:
            self.derived = {r["code"]: r for r in csv.DictReader(f) if "{" not in r["code"]}
        with (DATA / "report.toml").open("rb") as f:
            self.report = tomllib.load(f)

    def code_of(self, label: str) -> str:
        key = label[:1].lower() + label[1:]
        for code, r in {**self.base, **self.derived}.items():
            if r["label"][:1].lower() + r["label"][1:] == key:
                return code
        raise KeyError(label)

    def unit(self, code: str) -> str:
        return (self.base.get(code) or self.derived[code])["unit"]

    def shape(self, code: str) -> str:
        d = self.derived.get(code)
        if d is None:
            return "sum"
        if d["unit"] == "%":
            return "rate"
        return "mean" if d["method"] in ("mean_flags", "share_flag") else "sum"

    def flow(self, code: str) -> bool:
        if code in self.base:
            return self.base[code]["kind"] == "flow"
        d = self.derived[code]
        parts = [p for p in (d["numerator"] + "+" + d["denominator"]).split("+") if p]
        return bool(parts) and all(self.flow(p) for p in parts)


class Period:
    """One period's aggregates."""

    def __init__(self, path: Path):
        f = pd.read_csv(path, dtype={"org_unit_code": str, "period": str})
        units = units_of(str(f["period"].iloc[0]))
        f["complete"] = f["complete"].astype(str).str.lower().isin(["true", "1"])
        self.name = str(f["period"].iloc[0])
        self.d = {(r.level, r.org_unit_code, r.indicator): (float(r.value), bool(r.complete))
                  for r in f.itertuples()}
        self.names = {r.org_unit_code: r.org_unit_name for r in f.itertuples() if r.level == "district"}
        self.units = defaultdict(list)  # (district, indicator) -> unit values
        for r in f[f["level"] == "unit"].itertuples():
            self.units[(units[r.org_unit_code], r.indicator)].append(
                float(r.value))

    def get(self, level, code, ind):
        return self.d.get((level, code, ind), (math.nan, False))

    def city(self, ind):
        return next(v for (lv, _, i), v in self.d.items() if lv == "city" and i == ind)


def units_of(period: str) -> dict[str, str]:
    """Unit code -> district code on the period's last day (codes move between snapshots)."""
    end = f"{period[:4]}-06-30" if period.endswith("H1") else f"{period[:4]}-12-31"
    with (DATA / "haiphong_units.csv").open(encoding="utf-8", newline="") as f:
        out = {r["unit_code"]: r["district_code"] for r in csv.DictReader(f)
               if r["valid_from"] <= end <= r["valid_to"]}
    with (DATA / "districts_extra.csv").open(encoding="utf-8", newline="") as f:
        out |= {r["district_code"]: r["district_code"] for r in csv.DictReader(f)}
    return out


class Checker:
    def __init__(self, now: Period, before: dict[str, Period]):
        self.cat, self.now, self.before = Catalogue(), now, before
        self.problems: list[str] = []
        self.by_name = {n: c for c, n in now.names.items()}

    # -- recomputation, independent of the report's code ----------------------------------

    def eligible(self, code: str, p: Period | None = None) -> list[str]:
        """Districts with a unit row for the indicator: a unit carries what applies to it."""
        p = p or self.now
        return [c for c in p.names if p.units.get((c, code))]

    def total(self, code: str, p: Period, codes: list[str]) -> float:
        d = self.cat.derived.get(code)
        if d is None or d["method"] in ("sum", "count", "count_set", "count_flag"):
            return sum(p.get("district", c, code)[0] for c in codes)
        if d["method"] == "ratio":
            num = sum(p.get("district", c, n)[0] for c in codes for n in d["numerator"].split("+"))
            den = sum(p.get("district", c, n)[0] for c in codes for n in d["denominator"].split("+"))
            return float(d["scale"]) * num / den if den else math.nan
        values = [v for c in codes for v in p.units[(c, code)]]  # averages over the communes
        return sum(values) / len(values) * float(d["scale"]) if values else math.nan

    def basis(self, code: str, phrase: str) -> Period:
        """The earlier period a phrase names; checks it is the one the rule asks for."""
        m = re.fullmatch(r"(cuối |cả )?(6 tháng đầu )?năm (\d{4})", phrase)
        if not m:
            raise AssertionError(f"unknown comparison {phrase!r}")
        name = m.group(3) + ("-H1" if m.group(2) else "")
        assert name == self.expected(code), f"{code}: compared with {name}, not {self.expected(code)}"
        now_h1 = self.now.name.endswith("H1")
        flow_sum = self.cat.flow(code) and self.cat.shape(code) == "sum"
        if flow_sum and now_h1 != bool(m.group(2)):
            self.problems.append(f"{code}: a flow compared with another half ({phrase})")
        if not flow_sum and m.group(2):
            self.problems.append(f"{code}: a stock or rate compared with a first half ({phrase})")
        if now_h1 and not m.group(2):
            want = "cả " if self.cat.flow(code) else "cuối "
            if m.group(1) != want:
                self.problems.append(f"{code}: a first half against a year must say {want!r}: {phrase}")
        return self.before[name]

    def expected(self, code: str) -> str | None:
        """The earlier period the rule compares `code` with: a flow with the same half of the
        latest earlier year on record, anything else with the latest earlier annual report."""
        def key(name):
            return (int(name[:4]), 0 if name.endswith("H1") else 1)
        now_h1 = self.now.name.endswith("H1")
        flow_sum = self.cat.flow(code) and self.cat.shape(code) == "sum"
        fits = [n for n in self.before if key(n) < key(self.now.name)
                and (n.endswith("H1") == now_h1 if flow_sum else not n.endswith("H1"))]
        return max(fits, key=key, default=None)

    def both(self, code: str, before: Period) -> tuple[list[str], list[str]]:
        elig = self.eligible(code)
        complete = [c for c in elig if self.now.get("district", c, code)[1]
                    and before.get("district", c, code)[1]]
        return elig, complete

    # -- the sentences ----------------------------------------------------------------------

    def sentence(self, text: str) -> None:
        for pattern, method in self.FORMS:
            m = re.match(pattern, text)
            if m:
                try:
                    method(self, m, text)
                except (AssertionError, KeyError, ValueError) as exc:
                    self.problems.append(f"{text!r}: {exc}")
                return
        self.problems.append(f"a sentence of no known form: {text!r}")

    def _value_unit(self, code: str) -> str:
        unit = self.cat.unit(code)
        return "" if unit == "%" else unit

    def level(self, m, text):
        code = self.cat.code_of(m["label"])
        value, complete = self.now.city(code)
        assert shows(m["value"], value), f"{code}: {m['value']} is not {value}"
        elig = self.eligible(code)
        missing = [self.now.names[c] for c in elig if not self.now.get("district", c, code)[1]]
        if m["inc"]:
            assert not complete, f"{code} called incomplete but complete"
            who = re.split(r"; |: ", m["inc"])[-1]
            assert who.endswith(" chưa đủ số liệu"), m["inc"]
            assert split_names(who.removesuffix(" chưa đủ số liệu")) == missing, m["inc"]
            assert ("cận dưới" in m["inc"]) == (self.cat.shape(code) == "sum"), \
                f"{code}: 'cận dưới' said of a {self.cat.shape(code)}"
        else:
            assert complete, f"{code} is incomplete but not said so"
        rest = m["rest"]
        if not rest:
            assert self.expected(code) is None, f"{code}: no comparison, yet {self.expected(code)} is on record"
            return
        full = re.fullmatch(rf", (?:(?P<word>tăng|giảm) (?P<diff>{NUM})(?: [^(]+?)?(?: \((?:tăng|giảm)"
                            rf" (?P<pct>{NUM})%\))?|không đổi) so với (?P<phrase>.+)", rest)
        narrow = re.fullmatch(
            rf"\. So sánh trên (?P<k>\d+)/(?P<n>\d+) .+? (?:có|và) đủ số liệu cả hai (?:năm|kỳ) "
            rf"\(trừ (?P<out>.+?)\): (?:(?P<word>tăng|giảm) (?P<diff>{NUM})(?: [^(]+?)?(?: \((?:tăng|"
            rf"giảm) (?P<pct>{NUM})%\))?|không đổi) so với (?P<phrase>.+?), (?:từ (?P<a>{NUM})"
            rf"%? (?:lên|xuống) (?P<b>{NUM})|vẫn là (?P<same>{NUM})).*", rest)
        thin = re.fullmatch(rf"\. Không nêu thay đổi so với (?P<phrase>.+?): chỉ (?P<k>\d+)/(?P<n>\d+)"
                            rf" .+ \(cần ít nhất (?P<need>\d+)\)", rest)
        if full:
            before = self.basis(code, full["phrase"])
            elig, complete = self.both(code, before)
            assert complete == elig, (f"{code}: a change stated over every district, but "
                                      f"{sorted(set(elig) - set(complete))} are not complete in both")
            self._check_change(code, full, before, complete)
        elif narrow:
            before = self.basis(code, narrow["phrase"])
            elig, complete = self.both(code, before)
            assert (int(narrow["k"]), int(narrow["n"])) == (len(complete), len(elig)), \
                f"{code}: coverage {narrow['k']}/{narrow['n']} is {len(complete)}/{len(elig)}"
            left = [self.now.names[c] for c in elig if c not in complete]
            assert split_names(narrow["out"]) == left, f"{code}: left out {narrow['out']} != {left}"
            assert len(complete) >= math.ceil(MIN_SHARE * len(elig) - 1e-9), "coverage too thin"
            a, b = self.total(code, before, complete), self.total(code, self.now, complete)
            if narrow["a"]:
                assert shows(narrow["a"], a) and shows(narrow["b"], b), f"{code}: {a} -> {b}"
            self._check_change(code, narrow, before, complete)
        elif thin:
            before = self.basis(code, thin["phrase"])
            elig, complete = self.both(code, before)
            need = math.ceil(MIN_SHARE * len(elig) - 1e-9)
            assert (int(thin["k"]), int(thin["n"]), int(thin["need"])) == (
                len(complete), len(elig), need), f"{code}: thin coverage wrong"
            assert len(complete) < need, f"{code}: coverage enough, yet no change stated"
        else:
            raise AssertionError(f"unknown change clause {rest!r}")

    def _check_change(self, code, m, before, complete):
        a, b = self.total(code, before, complete), self.total(code, self.now, complete)
        diff = b - a
        if m["word"] is None:
            assert round(diff, 2) == 0, f"{code}: 'không đổi' but {diff}"
            return
        assert (m["word"] == "tăng") == (diff > 0), f"{code}: direction of {diff}"
        assert shows(m["diff"], abs(diff)), f"{code}: change {m['diff']} is not {diff}"
        if m["pct"] is not None:
            assert self.cat.shape(code) == "sum", f"{code}: a percentage change of a rate"
            assert shows(m["pct"], abs(diff) / a * 100), f"{code}: {m['pct']}% is not {diff / a * 100}"

    def _side(self, text: str) -> tuple[str, list[str], str]:
        many = re.fullmatch(rf"(?P<n>\d+) quận, huyện cùng (?P<w>cao nhất|thấp nhất) \((?P<v>{NUM})"
                            rf"[^)]*\): (?P<names>.+)", text)
        if many:
            names = many["names"].split(", ")
            assert len(names) == int(many["n"]), text
            return many["w"], names, many["v"]
        one = re.fullmatch(rf"(?P<w>cao nhất|thấp nhất) ở (?P<names>.+) \((?P<v>{NUM})[^)]*\)", text)
        assert one, f"unknown side {text!r}"
        return one["w"], split_names(one["names"]), one["v"]

    def ranking(self, m, text):
        head = m["head"]
        rates = self.cat.report.get("rank_rates", {})
        if head.startswith("Xếp theo "):
            code, rate = next((c, r) for c, r in rates.items() if r["label"] == head[9:])
        else:
            code, rate = self.cat.code_of(head), None
        elig = self.eligible(code)
        named = set()
        ranked = {}
        unranked = []
        for c in elig:
            v, k = self.now.get("district", c, code)
            if rate is not None and k:
                den, dk = self.now.get("district", c, rate["per"])
                v, k = (rate.get("scale", 100) * v / den if den else math.nan), k and dk
            if k and not math.isnan(v):
                ranked[self.now.names[c]] = v
            elif not k:
                unranked.append(self.now.names[c])
        assert bool(m["noun"]) == (len(elig) < len(self.now.names)), f"{code}: scope not said"
        for side in (m["s1"], m["s2"]):
            word, names, shown = self._side(side)
            best = max(ranked.values()) if word == "cao nhất" else min(ranked.values())
            assert shows(shown, best), f"{code}: {word} {shown} is not {best}"
            tied = [n for n, v in ranked.items() if abs(v - best) < 1e-6]
            assert names == tied, f"{code}: {word} names {names}, tied are {tied}"
            named |= set(names)
        if m["unr"]:
            assert split_names(m["unr"]) == unranked and int(m["k"]) == len(unranked), m["unr"]
        else:
            assert not unranked, f"{code}: {unranked} not ranked, not said"
        outside = named - {self.now.names[c] for c in elig}
        assert not outside, f"{code}: ranks {outside}, which cannot have it"

    def movers(self, m, text):
        parts = m["parts"].split("; ")
        codes = set()
        for part in parts:
            pm = re.fullmatch(rf"(?P<w>[^()]+?) là (?P<names>.+) \((?P<v>{NUM})[^)]*\)", part)
            assert pm, f"unknown part {part!r}"
            codes.add(pm["w"])
        # the indicator: the headline of the sentence before (the section's first), given by caller
        code = self.current
        before = self.basis(code, m["phrase"])
        elig, complete = self.both(code, before)
        assert int(m["k"]) == len(complete), f"{code}: movers over {m['k']}, not {len(complete)}"
        diffs = {self.now.names[c]: self.now.get("district", c, code)[0]
                 - before.get("district", c, code)[0] for c in complete}
        for part in parts:
            pm = re.fullmatch(rf"(?P<w>[^()]+?) là (?P<names>.+) \((?P<v>{NUM})[^)]*\)", part)
            want = vn_float(pm["v"])[0]
            tied = [n for n, d in diffs.items() if abs(d - want) <= 0.5 * 10 ** -vn_float(pm["v"])[1]]
            assert split_names(pm["names"]) == [n for n in tied], f"{code}: {pm['names']} vs {tied}"
            extreme = max(diffs.values()) if want > 0 else min(diffs.values())
            assert shows(pm["v"], extreme), f"{code}: {pm['v']} is not the largest change {extreme}"

    def criteria(self, m, text):
        for label, v in re.findall(rf"([^,:]+?) \(({NUM})%\)", m["list"]):
            code = next(c for c, r in self.cat.base.items() if r["label"] == label.strip())
            share = self.now.city(f"NTM_TC{code[3:]}_TL_DAT")[0]
            assert shows(v, share), f"criterion {label}: {v} is not {share}"

    FORMS = [
        (rf"^(?P<top>{'|'.join(TOPS)}), (?P<label>.+?) là (?P<value>{NUM})(?:%| [^(.]+?)?"
         r"(?: \((?P<inc>chưa đầy đủ[^)]*)\))?(?P<rest>(?:, |\. ).*)?\.$", level),
        (r"^So với (?P<phrase>.+?) \(trên (?P<k>\d+) .+? cả hai (?:năm|kỳ)\), (?P<parts>.+)\.$", movers),
        (r"^Các tiêu chí có tỷ lệ xã đạt thấp nhất: (?P<list>.+?)(?: \(tính trên các xã đã báo cáo đủ\))?\.$",
         criteria),
        (r"^(?P<head>[^:;]+?)(?: \(xếp trong các (?P<noun>[^)]+)\))?: (?P<s1>.+?); (?P<s2>.+?)"
         r"(?:; (?P<k>\d+) quận, huyện chưa đủ số liệu không được xếp hạng \((?P<unr>.+)\))?\.$", ranking),
    ]


def sections(html: str) -> dict[str, list[str]]:
    """Each content area's sentences, by section id."""
    out = {}
    for sid, body in re.findall(r'<section class="area" id="(bieu-[a-z]+)">(.*?)</section>', html, re.S):
        summary = re.search(r'<div class="summary">(.*?)</div>', body, re.S)
        out[sid] = ([html_lib.unescape(re.sub(r"<[^>]+>", "", p)).strip()
                     for p in re.findall(r"<p>(.*?)</p>", summary.group(1), re.S)] if summary else [])
    return out


def check(html: str, now_csv: Path, before_csvs: list[Path]) -> list[str]:
    """Every problem with the report's sentences (empty when all are right)."""
    now = Period(now_csv)
    before = {p.name: p for p in (Period(b) for b in before_csvs)}
    checker = Checker(now, before)
    cat = checker.cat
    for sid, lines in sections(html).items():
        checker.current = None
        for line in lines:
            lm = re.match(rf"^(?:{'|'.join(TOPS)}), (.+?) là ", line)
            if lm:
                checker.current = cat.code_of(lm.group(1))
            checker.sentence(line)
    return checker.problems
