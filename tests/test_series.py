"""A unit's series as reported and on current boundaries (issue 15), and the record's unit
dimension: a code reused for another unit keeps two series apart."""
import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.feedback.listing import series_lines
from pipelines.record import db as record
from pipelines.record.series import identities, registry_tables, unit_series, with_validity
from schemas.periods import parse_period

# 11344 is Phường Lương Khánh Thiện until 31/01/2020 (then absorbed into Cầu Đất, 11353)
# and Phường Cầu Đất from 01/01/2025 (11353 recoded to 11344)
ROWS = [  # period, unit, GN01
    ("2019", "11344", 1000.0), ("2019", "11353", 2000.0),
    ("2021", "11353", 3100.0),
    ("2025-H1", "11344", 3300.0),
]


def _values() -> pd.DataFrame:
    return pd.DataFrame([(p, "304", u, "GN01", v) for p, u, v in ROWS],
                        columns=["period", "district_code", "unit_code", "indicator", "value"])


def test_a_reused_code_keeps_two_series_apart(registry, catalogue):
    s = unit_series(_values(), registry, catalogue, "11344", "GN01")
    assert [(b.unit.name, [str(p) for p, _ in b.values]) for b in s.reported] == [
        ("Phường Lương Khánh Thiện", ["2019"]), ("Phường Cầu Đất", ["2025-H1"])]
    assert str(s.to) == "2025-H1" and s.current.name == "Phường Cầu Đất"
    # on 2025-H1's boundaries: 2019 is Lương Khánh Thiện + Cầu Đất (under 11353), 2021 Cầu
    # Đất under its old code; the 2019 Lương Khánh Thiện alone is never its history
    assert [(str(p), v) for p, v in s.restated] == [
        ("2019", 3000.0), ("2021", 3100.0), ("2025-H1", 3300.0)]


def test_a_unit_cut_by_snapshots_is_one_unit_and_a_rename_keeps_it(registry):
    rows = identities(registry, "11458")  # Ngọc Hải, renamed Hải Sơn on 01/02/2020
    chains = set(rows.values())
    assert len(chains) == 1 and len(next(iter(chains))) >= 2
    assert len(set(identities(registry, "11344").values())) == 2


def test_series_words(registry, catalogue):
    s = unit_series(_values(), registry, catalogue, "11344", "GN01")
    text = "\n".join(series_lines(s, catalogue, registry))
    assert "Phường Lương Khánh Thiện, Quận Ngô Quyền, mã 11344 từ 01/01/2016 đến 31/01/2020: 2019: 1.000" in text
    assert "2019: 3.000; 2021: 3.100; 2025-H1: 3.300" in text


def test_the_record_keeps_units_with_validity_and_periods_in_order(tmp_path, registry):
    db = tmp_path / "thongke.duckdb"
    units, successions = registry_tables(registry)
    for period in ("2019", "2019-H1", "2025-H1"):
        vals = _values()
        vals = vals[vals["period"] == period].drop(columns="period").assign(sheet="GN", cell="D7",
                                                                             file="a.xlsx", sha256="x")
        agg = pd.DataFrame([(period, "city", "0", "Hải Phòng", "GN01", 1.0, True)],
                           columns=["period", "level", "org_unit_code", "org_unit_name",
                                    "indicator", "value", "complete"])
        record.write_period(db, period, "r", submissions=pd.DataFrame(), sheets=pd.DataFrame(),
                            values=with_validity(vals, registry, parse_period(period)),
                            findings=pd.DataFrame(), aggregates=agg, units=units,
                            successions=successions)
    assert record.recorded_periods(db) == ["2019-H1", "2019", "2025-H1"]
    con = duckdb.connect(str(db), read_only=True)
    try:
        got = con.execute("SELECT period, unit_valid_from FROM unit_values WHERE unit_code = "
                          "'11344' ORDER BY period").fetchall()
        n_units = con.execute("SELECT count(*) FROM units WHERE unit_code = '11344'").fetchone()[0]
        n_succ = con.execute("SELECT count(*) FROM successions").fetchone()[0]
    finally:
        con.close()
    assert [(p, str(d)) for p, d in got] == [("2019", "2016-01-01"), ("2025-H1", "2025-01-01")]
    assert n_units == 2 and n_succ == len(registry.successions)


@pytest.mark.parametrize("args,message", [
    (["-u", "11344"], "cần cả --unit"),
    (["-u", "11344", "-i", "XX99"], "không có chỉ tiêu"),
])
def test_history_series_refuses_in_words(tmp_path, args, message):
    (tmp_path / "thongke.duckdb").touch()
    result = CliRunner().invoke(app, ["history", "--reports-dir", str(tmp_path), *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
