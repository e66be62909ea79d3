"""Who has reported: the completeness table, from real checked workbooks."""
import os
from datetime import date, datetime

import pytest
from builders import edit, write_clean

from pipelines.check.completeness import completeness
from pipelines.check.submissions import decide_statuses
from pipelines.check.checker import check_workbook
from schemas.periods import parse_period

P = "2017-H1"
DEADLINE = date(2017, 7, 15)


def _at(path, day: date):
    t = datetime(day.year, day.month, day.day, 10).timestamp()
    os.utime(path, (t, t))
    return path


@pytest.fixture(scope="module")
def table(tmp_path_factory, catalogue, registry):
    d = tmp_path_factory.mktemp("c")
    files = [
        _at(write_clean(d / "blv.xlsx", "318", P), date(2017, 7, 10)),  # on time, accepted
        _at(edit(write_clean(d / "cat hai v1.xlsx", "317", P), **{"Thông tin!B6": "01/07/2017"}),
            date(2017, 7, 12)),  # on time, then superseded by a later correction
        _at(edit(write_clean(d / "cat hai v2.xlsx", "317", P),
                 **{"Thông tin!B6": "20/07/2017", "4. Giảm nghèo!D7": "abc"}), date(2017, 7, 20)),
        _at(write_clean(d / "do son.xlsx", "308", P), date(2017, 7, 16)),  # a day late
    ]
    results = [check_workbook(f, catalogue=catalogue, registry=registry,
                              expected_period=parse_period(P)) for f in files]
    frame = completeness(results, decide_statuses(results), registry, parse_period(P), DEADLINE)
    return {r["district_code"]: r for r in frame.to_dict("records")}


def test_each_district_expected_in_the_period(table, registry):
    expected = {d.code for d in registry.districts(parse_period(P))}
    assert set(table) == expected | {"31"}


def test_district_rows(table):
    blv, cat_hai, do_son, le_chan = table["318"], table["317"], table["308"], table["305"]
    assert (blv["status"], blv["on_time"], blv["received"], blv["files"]) == ("accepted", 1, 1, 1)
    assert blv["sheets_accepted"] == blv["sheets_expected"] == 6  # no NTM, no VM sheet
    # a correction sent late does not make a report that came in on time late
    assert (cat_hai["status"], cat_hai["on_time"], cat_hai["files"]) == ("partial", 1, 2)
    assert cat_hai["counted_file"] == "cat hai v2.xlsx" and cat_hai["first_received"] == date(2017, 7, 12)
    assert cat_hai["sheets_accepted"] == cat_hai["sheets_expected"] - 1
    assert (do_son["status"], do_son["on_time"], do_son["received"]) == ("accepted", 0, 1)
    assert (le_chan["status"], le_chan["received"], le_chan["missing"], le_chan["files"]) == \
        ("missing", 0, 1, 0)


def test_city_row_counts_and_rates(table):
    city = table["31"]
    assert (city["expected"], city["received"], city["on_time"]) == (15, 3, 2)
    assert (city["accepted"], city["partial"], city["rejected"], city["missing"]) == (2, 1, 0, 12)
    assert city["files"] == 4
    assert city["reporting_rate"] == pytest.approx(100 * 3 / 15)
    assert city["on_time_rate"] == pytest.approx(100 * 2 / 15)
    assert city["accepted_rate"] == pytest.approx(100 * 2 / 15)
