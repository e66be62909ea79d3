"""Batches of files to check, and the per-file result cache (pipelines/check/batches.py)."""
import math

import numpy as np
import pytest

from pipelines.settings import get_settings
from builders import edit, write_clean
from hypothesis import given
from hypothesis import strategies as st

from pipelines.check import batches
from pipelines.check.batches import FileToCheck
from pipelines.check.checker import check_workbook, check_workbooks
from schemas.periods import parse_period


def _files(n: int) -> list[FileToCheck]:
    return [FileToCheck(f"/x/{i}.xlsx", f"{i}.xlsx", f"mới – {i}.xlsx", f"k{i}") for i in range(n)]


@given(st.integers(min_value=0, max_value=3000), st.integers(min_value=0, max_value=8))
def test_plan_keeps_every_file_once_in_order(n, workers):
    plan = batches.plan(_files(n), workers)
    assert [f for b in plan for f in b] == _files(n)
    assert len(plan) <= batches.MAX_TASKS
    if n:
        assert all(b for b in plan)
        # no batch is bigger than a worker's share (unless there would be too many tasks)
        share = max(math.ceil(n / max(workers, 1)), math.ceil(n / batches.MAX_TASKS))
        assert max(len(b) for b in plan) <= share
        if n <= batches.BATCH_FILES * batches.MAX_TASKS:
            assert max(len(b) for b in plan) <= batches.BATCH_FILES


def test_a_city_is_one_batch_in_process():
    assert batches.workers_for(17, None) == 0
    assert [len(b) for b in batches.plan(_files(17), 0)] == [17]
    assert batches.workers_for(707, None) >= 1 and batches.workers_for(707, 0) == 0


def test_batch_results_equal_one_by_one(tmp_path, catalogue, registry):
    """Checking workbooks together gives each the findings it gets alone."""
    a = write_clean(tmp_path / "a.xlsx", "318", "2017")
    b = edit(write_clean(tmp_path / "b.xlsx", "317", "2017"),
             **{"4. Giảm nghèo!D7": "sai", "4. Giảm nghèo!E8": -3, "2. Nguồn lực!D7": 1.234})
    c = tmp_path / "c.xlsx"
    c.write_bytes(b"not a workbook")
    per = parse_period("2017")
    alone = [check_workbook(p, catalogue=catalogue, registry=registry, expected_period=per)
             for p in (a, b, c)]
    together = check_workbooks([(p, p.name) for p in (a, b, c)], catalogue=catalogue,
                               registry=registry, expected_period=per)
    assert [r.findings for r in together] == [r.findings for r in alone]
    assert [r.status for r in together] == [r.status for r in alone]
    assert {f.rule for f in together[1].findings} >= {"R01"}
    assert together[2].findings[0].rule == "R18"


def test_cache_round_trip_and_damage(tmp_path, catalogue, registry):
    path = write_clean(tmp_path / "a.xlsx", "318", "2017")
    result = check_workbook(path, catalogue=catalogue, registry=registry)
    folder = batches.cache_dir(tmp_path / "reports")
    batches.store(folder, "k1", result)
    again = batches.load_cached(folder, "k1")
    assert again is not None and again.findings == result.findings
    assert again.values().equals(result.values())
    assert batches.load_cached(folder, "absent") is None
    (folder / "k1.pkl").write_bytes(b"\x80\x05broken")
    assert batches.load_cached(folder, "k1") is None  # a damaged entry is redone, not trusted


def test_pool_checks_like_in_process(tmp_path):
    files = [write_clean(tmp_path / f"{c}.xlsx", c, "2017") for c in ("317", "318")]
    pairs = [(str(p), p.name) for p in files]
    settings = get_settings()
    here = batches.check_in(0, pairs, "2017", settings)
    there = batches.check_in(2, pairs, "2017", settings)
    assert [r.findings for r in there] == [r.findings for r in here]
    assert [r.sha256 for r in there] == [r.sha256 for r in here]


@pytest.fixture(autouse=True, scope="module")
def _stop_pool():
    yield
    if batches._pool is not None:
        batches._pool.shutdown()


def test_values_attached_by_the_check_are_the_accepted_cells(tmp_path, catalogue, registry):
    """The long values a check attaches to its result (the one copy of its numbers) are
    those of its accepted sheets, each the number in the cell it names."""
    import openpyxl

    path = edit(write_clean(tmp_path / "b.xlsx", "317", "2017"), **{"4. Giảm nghèo!D7": "sai"})
    result = check_workbook(path, catalogue=catalogue, registry=registry)
    values = result.values()
    accepted = {k for k, s in result.sheets.items() if s.status == "accepted"}
    assert not values.empty and set(values["sheet"]) == accepted and "GN" not in accepted
    names = {k: s.name for k, s in result.sheets.items()}
    wb = openpyxl.load_workbook(path, data_only=True)
    for row in values.itertuples():
        typed = wb[names[row.sheet]][row.cell].value
        if typed is None or typed == "":
            assert np.isnan(row.value), row
        else:
            assert float(typed) == row.value, row


def test_a_batch_that_fails_falls_back_to_one_by_one(tmp_path, catalogue, registry, monkeypatch):
    """If the batch rules fail for a batch, each workbook is read again and checked alone:
    no finding twice, and a workbook that fails alone gets R18, the others their findings."""
    from pipelines.check import checker as validate

    a = write_clean(tmp_path / "a.xlsx", "318", "2017")
    b = edit(write_clean(tmp_path / "b.xlsx", "317", "2017"), **{"4. Giảm nghèo!D7": "sai"})
    per = parse_period("2017")
    alone = [check_workbook(p, catalogue=catalogue, registry=registry, expected_period=per)
             for p in (a, b)]
    real = validate.rules.relation_findings

    def fails_in_batches(batch, cat):
        if len(batch) > 1 or batch[0].where.district_code == "318":
            raise RuntimeError("boom")
        return real(batch, cat)

    monkeypatch.setattr(validate.rules, "relation_findings", fails_in_batches)
    got = check_workbooks([(p, p.name) for p in (a, b)], catalogue=catalogue,
                          registry=registry, expected_period=per)
    assert [f.rule for f in got[0].findings] == ["R18"] and got[0].status == "rejected"
    assert got[1].findings == alone[1].findings and got[1].status == alone[1].status
