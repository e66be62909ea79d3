"""The defect corpus (tests/data/defects, see its README): every bad workbook gives exactly
the findings FORM.md says, every clean one none, checked against a real record."""
from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from schemas.periods import parse_period

ROOT = Path(__file__).parent / "data" / "defects"
PERIOD = "2018"
RECORD_PERIODS = ("2017", "2018-H1", "2018")
WARNING_RULES = {"R11", "R12", "R13", "R14", "R15", "R16", "R17", "R19"}  # FORM.md section 3
ALL_RULES = {f"R{n:02d}" for n in range(1, 20)}
_VIETNAMESE = re.compile(r"[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]",
                         re.IGNORECASE)


def _files(sub: str) -> list[str]:
    folder = ROOT / sub
    return sorted(p.relative_to(ROOT).as_posix() for p in folder.iterdir() if p.is_file())


def _expected() -> dict[str, Counter]:
    """file -> Counter of (rule, sheet, cell): one row of expected.csv per expected finding."""
    out: dict[str, Counter] = defaultdict(Counter)
    with (ROOT / "expected.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            out[row["file"]][(row["rule"], row["sheet"], row["cell"])] += 1
    return dict(out)


EXPECTED = _expected()
BAD = _files("bad")
CLEAN = _files(f"record/{PERIOD}") + _files("ok")


def _hashes() -> dict[str, str]:
    return {p.relative_to(ROOT).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(ROOT.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, catalogue, registry):
    """The record of `record/` in a fresh DuckDB file (no Prefect), and a memo of checks."""
    from pipelines.record import db as record
    from pipelines.check.period import period_tables
    from pipelines.check.checker import check_workbook

    before = _hashes()
    db = tmp_path_factory.mktemp("defects") / "record.duckdb"
    recorded = {}
    for period in RECORD_PERIODS:
        files = sorted((ROOT / "record" / period).glob("*.xlsx"))
        results = [check_workbook(p, catalogue=catalogue, registry=registry,
                                  expected_period=parse_period(period), name=p.name) for p in files]
        tables = period_tables(results, period)
        record.write_period(db, period, f"defects-{period}", submissions=tables["submissions"],
                            sheets=tables["sheets"], values=tables["values"],
                            findings=tables["findings"])
        recorded[period] = results
    return _Corpus(db=db, before=before, recorded=recorded, checked={})


class _Corpus(dict):
    def __repr__(self) -> str:  # keep failure reports short
        return f"<defect corpus, record {self['db']}>"


def checked(corpus, rel: str):
    """`check_one` of one corpus file (each file checked once per module)."""
    memo = corpus["checked"]
    if rel not in memo:
        from pipelines.check.period import check_one

        path = ROOT / rel
        memo[rel] = check_one(path, corpus["db"], expected_period=parse_period(PERIOD),
                              name=path.name)
    return memo[rel]


def _found(result) -> Counter:
    """(rule, sheet, cell) of each finding, counted: a defect must be reported once."""
    return Counter((f.rule, f.sheet, f.cell) for f in result.findings)


def _assert_well_formed(result, name: str) -> None:
    for f in result.findings:
        assert f.file == name
        assert f.severity == ("warning" if f.rule in WARNING_RULES else "error"), f
        text = unicodedata.normalize("NFC", f.message or "")
        assert text.strip() and _VIETNAMESE.search(text), f"message not Vietnamese: {f}"


def test_record_is_clean(corpus):
    """The record the corpus is checked against holds every clean workbook, accepted."""
    for period, results in corpus["recorded"].items():
        assert len(results) == 4, period
        for r in results:
            assert (r.status, r.findings, r.period) == ("accepted", [], period), r.file


@pytest.mark.parametrize("rel", BAD, ids=[Path(r).name for r in BAD])
def test_bad_workbook_gives_exactly_its_findings(corpus, rel):
    result = checked(corpus, rel)
    assert _found(result) == EXPECTED[rel]
    _assert_well_formed(result, Path(rel).name)
    # FORM.md 3-4: R05/R18 reject the workbook; another error rejects its sheet only (each
    # file has one bad sheet, the others still count); warnings keep everything.
    rules = {rule for rule, _, _ in EXPECTED[rel]}
    status = ("rejected" if rules & {"R05", "R18"} else
              "partial" if rules - WARNING_RULES else "accepted")
    assert result.status == status


@pytest.mark.parametrize("rel", CLEAN, ids=[Path(r).name for r in CLEAN])
def test_clean_workbook_gives_no_finding(corpus, rel):
    result = checked(corpus, rel)
    assert _found(result) == EXPECTED.get(rel, Counter())
    assert all(f.rule == "R15" for f in result.findings)  # a listed outlier, never an error
    _assert_well_formed(result, Path(rel).name)
    assert result.status == "accepted"


def test_expected_names_real_files():
    assert set(EXPECTED) <= set(BAD) | set(CLEAN), set(EXPECTED) - set(BAD) - set(CLEAN)
    assert [rel for rel in BAD if not EXPECTED.get(rel)] == []
    for rel, rows in EXPECTED.items():
        for rule, sheet, cell in rows:
            assert rule in ALL_RULES, (rel, rule)
            assert cell == "" or re.fullmatch(r"[A-Z]{1,3}[1-9]\d*", cell), (rel, cell)
            assert (sheet == "") == (rule == "R18" or (rule == "R05" and not cell)), (rel, rule)
    covered = {rule for rows in EXPECTED.values() for rule, _, _ in rows}
    assert covered == ALL_RULES


def test_checking_leaves_the_corpus_unchanged(corpus):
    for rel in BAD + CLEAN:
        try:
            checked(corpus, rel)
        except Exception:  # reported by the tests above; here only the bytes matter
            pass
    assert _hashes() == corpus["before"]
