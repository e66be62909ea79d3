"""Several files for one district (FORM.md section 4) and the DuckDB record."""
from datetime import date

import duckdb
import pandas as pd
from builders import write_clean

from pipelines.record import db as record
from pipelines.check.period import period_tables
from pipelines.check.submissions import decide_statuses
from pipelines.check.checker import WorkbookResult, check_workbook
from schemas.periods import parse_period


def _r(file, sha, district="315", made_on=None, mtime=0.0, status="accepted"):
    return WorkbookResult(file=file, sha256=sha, mtime=mtime, district_code=district,
                          made_on=made_on, status=status)


def test_newest_made_on_wins_then_mtime_then_name():
    results = [
        _r("old.xlsx", "a", made_on=date(2017, 7, 1), mtime=200),
        _r("new.xlsx", "b", made_on=date(2017, 7, 5), mtime=100, status="partial"),
        _r("other district.xlsx", "c", district="316"),
        _r("tie1.xlsx", "d", district="317", made_on=date(2017, 7, 1), mtime=5),
        _r("tie2.xlsx", "e", district="317", made_on=date(2017, 7, 1), mtime=9),
        _r("unknown.xlsx", "f", district="", status="rejected"),
    ]
    assert decide_statuses(results) == {
        "old.xlsx": "superseded", "new.xlsx": "partial", "other district.xlsx": "accepted",
        "tie1.xlsx": "superseded", "tie2.xlsx": "accepted", "unknown.xlsx": "rejected"}


def test_byte_identical_files_first_name_counts():
    results = [_r("b.xlsx", "same"), _r("a.xlsx", "same"), _r("c.xlsx", "same", district="")]
    assert decide_statuses(results) == {"a.xlsx": "accepted", "b.xlsx": "duplicate",
                                        "c.xlsx": "duplicate"}


def test_record_replaces_a_period(tmp_path, catalogue, registry):
    raw = tmp_path / "raw"
    path = write_clean(raw / "a.xlsx", "318", "2017-H1")
    result = check_workbook(path, catalogue=catalogue, registry=registry,
                            expected_period=parse_period("2017-H1"))
    tables = period_tables([result], "2017-H1")
    db = tmp_path / "reports" / "thongke.duckdb"
    for run in ("run-1", "run-2"):
        record.write_period(db, "2017-H1", run, submissions=tables["submissions"],
                            sheets=tables["sheets"], values=tables["values"],
                            findings=tables["findings"])
    other = tables["submissions"].assign(period="2017")
    record.write_period(db, "2017", "run-3", submissions=other, sheets=tables["sheets"],
                        values=tables["values"], findings=tables["findings"])
    con = duckdb.connect(str(db), read_only=True)
    n_values = len(tables["values"])
    assert con.execute("SELECT count(*) FROM unit_values WHERE period = '2017-H1'").fetchone()[0] == n_values
    dupes = con.execute("SELECT count(*) FROM (SELECT period, unit_code, indicator FROM unit_values "
                        "GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
    assert dupes == 0
    assert con.execute("SELECT DISTINCT sha256 FROM unit_values").fetchall() == [(result.sha256,)]
    assert con.execute("SELECT count(*) FROM submissions").fetchone()[0] == 2
    # a blank (not reported) is NULL in the record, never 0
    blanks = tables["values"]["value"].isna().sum()
    assert con.execute("SELECT count(*) FROM unit_values WHERE value IS NULL AND period = '2017-H1'"
                       ).fetchone()[0] == blanks
    con.close()
    values, accepted = record.read_period(db, "2017-H1")
    assert len(values) == n_values and set(accepted["sheet"]) == {"TT", "NL", "AS", "GN", "MH", "GS"}


def test_record_transaction_rolls_back(tmp_path):
    db = tmp_path / "r.duckdb"
    good = pd.DataFrame([{"file": "a", "sha256": "x" * 64, "district_code": "315", "status": "accepted",
                          "errors": 0, "warnings": 0}])
    empty = pd.DataFrame()
    record.write_period(db, "2017", "r1", submissions=good, sheets=empty, values=empty, findings=empty)
    bad_values = pd.DataFrame([{"district_code": "315", "unit_code": "1", "sheet": "GN",
                                "indicator": "GN01", "value": "not a number"}])
    try:
        record.write_period(db, "2017", "r2", submissions=good, sheets=empty, values=bad_values,
                            findings=empty)
    except Exception:
        pass
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT run_id FROM submissions").fetchall() == [("r1",)]
    con.close()


def test_a_file_for_another_period_supersedes_nothing(tmp_path, catalogue, registry):
    """Sent into the wrong folder: rejected (R05) for its district, while the district's
    right file, though older, still counts."""
    from builders import edit, write_clean

    from pipelines.check.submissions import decide_statuses
    from pipelines.check.checker import check_workbook
    from schemas.periods import parse_period

    right = edit(write_clean(tmp_path / "dung.xlsx", "318", "2017"), **{"Thông tin!B6": "02/01/2018"})
    wrong = edit(write_clean(tmp_path / "nham ky.xlsx", "318", "2017-H1"),
                 **{"Thông tin!B6": "20/01/2018"})
    results = [check_workbook(p, catalogue=catalogue, registry=registry,
                              expected_period=parse_period("2017")) for p in (right, wrong)]
    assert decide_statuses(results) == {"dung.xlsx": "accepted", "nham ky.xlsx": "rejected"}
    bad = results[1]
    assert bad.district_code == "318" and [f.rule for f in bad.findings] == ["R05"]
    assert bad.findings[0].district_code == "318" and "thư mục 2017" in bad.findings[0].message
