"""The demo generator: files, manifest, consistent numbers, quirks and defects, determinism."""
from __future__ import annotations

import datetime as dt
import unicodedata
from collections import defaultdict

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from pipelines.forms.form import (CODE_ROW, COVER_SHEET, FIRST_DATA_ROW, TOTAL_LABEL, locate_table,
                            total_row, write_form)
from pipelines.forms.quirks import QUIRKS, apply_quirk, strip_marks, swap_tone
from pipelines.forms.sample import DEFECTS, generate, simulate_values
from schemas.catalogue import load_catalogue
from schemas.periods import parse_period
from schemas.units import load_registry

CAT = load_catalogue()
REG = load_registry()
PERIODS = ("2016", "2017-H1", "2017")
DISTRICTS = {"303", "304", "305", "306", "307", "308", "309",
             "311", "312", "313", "314", "315", "316", "317", "318"}


def sheets(path) -> dict[str, list[list]]:
    wb = CalamineWorkbook.from_path(str(path))
    return {n: wb.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in wb.sheet_names}


def table(rows) -> dict[str, dict[str, object]]:
    """unit code -> indicator code -> value, from a template-layout sheet."""
    codes = rows[CODE_ROW - 1]
    out = {}
    for row in rows[FIRST_DATA_ROW - 1:]:
        if row[2] == TOTAL_LABEL:
            return out
        out[row[1]] = {c: (None if v == "" else v) for c, v in zip(codes[3:], row[3:])}
    raise AssertionError("no total row")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    return raw, generate(raw, PERIODS, seed=2017)


@pytest.fixture(scope="module")
def clean(demo):
    """(period, district) -> sheet key -> unit table, for files with no quirk and no defect."""
    raw, manifest = demo
    out = {}
    for e in manifest:
        if not e["quirks"] and not e["defects"]:
            grids = sheets(raw / e["period"] / e["file"])
            out[e["period"], e["district_code"]] = {
                s.key: table(grids[s.display_name]) for s in CAT.sheets}
    return out


def test_files_match_manifest(demo):
    raw, manifest = demo
    for period in PERIODS:
        entries = [e for e in manifest if e["period"] == period]
        on_disk = sorted(p.name for p in (raw / period).iterdir())
        assert on_disk == sorted(e["file"] for e in entries)  # nothing else in the folder
        assert len(on_disk) >= 15 and len(set(on_disk)) == len(on_disk)
        counted = [e["district_code"] for e in entries
                   if e["status"] not in ("superseded", "duplicate")]
        assert sorted(counted) == sorted(DISTRICTS)
    assert sum(e["status"] == "accepted" for e in manifest) >= 0.8 * len(manifest)
    assert any(not e["file"].isascii() for e in manifest)  # some names carry diacritics
    assert any(e["file"].isascii() for e in manifest)


def test_manifest_lists_every_quirk_and_defect(demo):
    _, manifest = demo
    applied = {q for e in manifest for q in e["quirks"]}
    assert applied == set(QUIRKS)
    defects = {d["name"]: d for e in manifest for d in e["defects"]}
    assert set(defects) == set(DEFECTS)
    assert {d["rule"] for d in defects.values()} >= {"R04", "R07", "R13", "R19"}
    assert all(len(e["quirks"]) <= 3 for e in manifest)
    clean = [e for e in manifest if not e["quirks"] and not e["defects"]]
    assert len(clean) > len(manifest) / 2
    assert sum(bool(e["blanks"]) for e in manifest) >= 2


def test_clean_files_are_consistent(demo, clean):
    raw, manifest = demo
    assert len(clean) >= 20
    for (period, district), data in clean.items():
        year = int(period[:4])
        units = {u.code: u for u in REG.units(district, parse_period(period))}
        assert set(data["GN"]) == set(units)
        for u, v in data["GN"].items():
            assert v["GN06"] == v["GN02"] - v["GN03"] + v["GN04"] + v["GN05"]
            assert v["GN03"] <= v["GN02"] and v["GN06"] + v["GN07"] <= v["GN01"]
            lo, hi = (200, 450) if units[u].type == "huyện" else (1500, 6300)
            assert lo <= v["GN01"] <= hi
            assert 1.5 <= v["GN07"] / max(v["GN06"], 1) <= 3.5 or v["GN06"] < 5
            assert data["TT"][u]["TT03"] <= v["GN01"]
        for rel in CAT.relations:
            sheet = CAT.indicators[rel.codes[0]].sheet
            for u, v in data[sheet].items():
                row = {**v, **data["GN"].get(u, {})}
                if any(row.get(c) is None for c in rel.codes):
                    continue
                left = sum(t.sign * row[t.code] for t in rel.left)
                right = sum(t.sign * row[t.code] for t in rel.right)
                assert left == right if rel.op == "==" else left <= right, (rel.text, u)
        for u, v in data["TT"].items():
            assert 4 <= v["TT05"] <= 15
        for v in data["NL"].values():
            assert all(x is None or round(x, 2) == x for x in v.values())
        for v in data["AS"].values():
            houses = v["AS01"] + v["AS02"]
            assert houses == 0 and v["AS03"] == 0 or 40 <= v["AS03"] / houses <= 80
        for v in data["NTM"].values():
            met = sum(v[f"NTM{n:02d}"] for n in range(1, 20))
            assert (v["NTM20"] is not None) == (met == 19)
            assert v["NTM20"] is None or 2010 <= v["NTM20"] <= year
        for v in data["VM"].values():
            assert (v["VM03"] == 1) == (v["VM04"] is not None)
            assert v["VM04"] is None or v["VM04"] <= year


def test_history_across_periods(clean):
    flows = [i.code for i in CAT.indicators.values() if i.kind == "flow"]
    pairs = checked = 0
    for (period, district), data in clean.items():
        if period == "2016":
            continue
        before = clean.get(("2016", district))
        if before:
            for u, v in data["GN"].items():
                assert v["GN02"] == before["GN"][u]["GN06"]
                pairs += 1
        h1 = clean.get(("2017-H1", district))
        if period == "2017" and h1:
            for key, units in data.items():
                for u, v in units.items():
                    for c in flows:
                        if c in v and v[c] is not None and h1[key][u].get(c) is not None:
                            assert v[c] >= h1[key][u][c], (district, u, c)
                            checked += 1
                    if key == "NTM" and h1[key][u]["NTM20"] is not None:
                        assert v["NTM20"] == h1[key][u]["NTM20"]
    assert pairs > 50 and checked > 500


def test_city_magnitudes(demo):
    _, manifest = demo
    totals = defaultdict(lambda: defaultdict(int))
    for e in manifest:
        if e["status"] in ("superseded", "duplicate"):
            continue
        values = simulate_values(e["district_code"], e["period"], seed=2017)
        for v in values["GN"].values():
            for c in ("GN01", "GN06", "GN07"):
                totals[e["period"]][c] += v[c]
        for v in values["NTM"].values():
            totals[e["period"]]["xa"] += 1
            totals[e["period"]]["dat"] += v["NTM20"] is not None
    rate = {p: 100 * t["GN06"] / t["GN01"] for p, t in totals.items()}
    assert 1.0 < rate["2016"] < 4 and rate["2017"] < rate["2017-H1"] < rate["2016"]
    assert 500_000 < totals["2017"]["GN01"] < 900_000
    assert totals["2017"]["xa"] == 143
    assert 0.40 <= totals["2017"]["dat"] / 143 <= 0.65


def test_defects_are_in_the_files(demo):
    raw, manifest = demo
    for e in manifest:
        path = raw / e["period"] / e["file"]
        for d in e["defects"]:
            if d["name"] == "gn_unbalanced":
                v = table(sheets(path)[d["sheet"]])[d["unit_code"]]
                assert v["GN06"] != v["GN02"] - v["GN03"] + v["GN04"] + v["GN05"]
                assert e["status"] == "partial"
            elif d["name"] == "wrong_total":
                rows = sheets(path)[d["sheet"]]
                units = table(rows)
                total = next(r for r in rows if r[2] == TOTAL_LABEL)
                assert total[3] != sum(v["GN01"] for v in units.values())
                assert total[4] == sum(v["GN02"] for v in units.values())
            elif d["name"] == "name_of_other_unit":
                rows = sheets(path)[d["sheet"]]
                row = next(r for r in rows if r[1] == d["unit_code"])
                names = {u.code: u.name for u in REG.all_units(parse_period(e["period"]))}
                assert row[2] == names[d["named"]] != names[d["unit_code"]]
            elif d["name"] == "missing_unit_row":
                units = table(sheets(path)[d["sheet"]])
                assert d["unit_code"] not in units and len(units) >= 1
                assert e["status"] == "partial"
            elif d["name"] == "superseded":
                newer = next(x for x in manifest if x["file"] == d["by"])
                assert e["date"] < newer["date"] and e["status"] == "superseded"
                cover = {r[0]: r[1] for r in sheets(path)[COVER_SHEET]}
                assert cover["Ngày lập"] == dt.date.fromisoformat(e["date"])
            elif d["name"] == "duplicate":
                kept = raw / e["period"] / d["of"]
                assert path.read_bytes() == kept.read_bytes() and d["of"] < e["file"]
            elif d["name"] == "extra_zeros":
                v = table(sheets(path)[d["sheet"]])[d["unit_code"]]
                clean = simulate_values(e["district_code"], e["period"])["TT"][d["unit_code"]]
                assert v["TT02"] == 100 * clean["TT02"] and e["status"] == "accepted"
            else:
                raise AssertionError(d)


def test_blank_cells_are_blank(demo):
    raw, manifest = demo
    seen = 0
    for e in manifest:
        for b in e["blanks"]:
            indicator = CAT.indicators[b["indicator"]]
            assert not indicator.required and indicator.kind == "flow"
            if not e["quirks"]:  # template layout: readable with `table`
                units = table(sheets(raw / e["period"] / e["file"])[b["sheet"]])
                assert units[b["unit_code"]][b["indicator"]] is None
                seen += 1
    assert seen >= 1


def test_deterministic(tmp_path):
    one = generate(tmp_path / "a", ("2017-H1",), seed=7)
    two = generate(tmp_path / "b", ("2017-H1",), seed=7)
    assert one == two
    for e in one:
        assert sheets(tmp_path / "a" / "2017-H1" / e["file"]) == \
            sheets(tmp_path / "b" / "2017-H1" / e["file"])
    assert simulate_values("315", "2017", seed=7) != simulate_values("315", "2017", seed=8)


def test_swap_tone():
    assert swap_tone("Xã Thuỷ Đường") == "Xã Thủy Đường"
    assert swap_tone("Phường Đồng Hòa") == "Phường Đồng Hoà"
    assert swap_tone("Xã Hoàng Động") == "Xã Hoàng Động"  # no variant: tone on the vowel nucleus
    assert swap_tone(swap_tone("Kiến Thuỵ")) == "Kiến Thuỵ"


# ---- one tiny workbook per quirk: the quirk shows, and everything else is still there
@pytest.fixture(scope="module")
def base(tmp_path_factory):
    path = tmp_path_factory.mktemp("q") / "base.xlsx"
    values = simulate_values("311", "2017")  # xã, thị trấn and Thuỷ names
    return write_form(path, "311", "2017", values=values, cover={"Ngày lập": dt.date(2018, 1, 5)})


def _check(name, before, after, wb):
    gn_b, gn_a = before["4. Giảm nghèo"], after.get("4. Giảm nghèo")
    if name.startswith("names_"):
        old = [r[2] for r in gn_b[6:43]]
        new = [r[2] for r in gn_a[6:43]]
        assert old != new
        if name == "names_nfd":
            assert all(unicodedata.normalize("NFC", n) == o for n, o in zip(new, old))
        if name == "names_upper":
            assert new == [o.upper() for o in old]
        if name == "names_without_prefix":
            assert not any(n.startswith(("Xã ", "Thị trấn ")) for n in new)
        if name == "names_abbreviated":
            assert all(n.startswith(("X. ", "TT ")) for n in new)
    elif name == "codes_as_numbers":
        assert all(isinstance(r[1], float) for r in gn_a[6:43])
    elif name == "numbers_as_text":
        assert any(isinstance(v, str) and "." in v for r in gn_a[6:43] for v in r[3:])
    elif name == "dash_for_zero":
        assert any(v == "-" for s in after.values() for r in s for v in r)
    elif name == "flags_as_text":
        flags = {v for r in after["5. Nông thôn mới"][6:41] for v in r[3:22]}
        assert flags <= {"x", "đạt", "chưa đạt"} and len(flags) >= 2
    elif name.startswith("cover_"):
        cover = {r[0]: r[1] for r in after[COVER_SHEET]}
        expected = {"cover_period_text": ("Kỳ báo cáo", "Năm 2017"),
                    "cover_code_blank": ("Mã đơn vị", ""),
                    "cover_date_text": ("Ngày lập", "05/01/2018")}[name]
        assert cover[expected[0]] == expected[1]
    elif name == "columns_reordered":
        assert gn_a[5][3:] == gn_b[5][3:][::-1]
        assert [r[3:] for r in gn_a[6:43]] == [r[3:][::-1] for r in gn_b[6:43]]
        ws = wb["4. Giảm nghèo"]
        assert ws.cell(total_row(37), 4).value == f"=SUM(D7:D{total_row(37) - 1})"
    elif name == "code_row_deleted":
        assert not any(len(r) > 2 and r[2] == "ten_dv" for s in after.values() for r in s)
        assert gn_a[5] == gn_b[6]
        ws = wb["4. Giảm nghèo"]
        assert ws.freeze_panes == "D6" and ws.cell(total_row(37) - 1, 4).value == "=SUM(D6:D42)"
    elif name == "extra_title_rows":
        assert gn_a[2:] == gn_b and gn_a[0][0].startswith("ỦY BAN NHÂN DÂN")
        ws = wb["4. Giảm nghèo"]
        assert ws.cell(total_row(37) + 2, 4).value == "=SUM(D9:D45)"
        assert "A3:J3" in {str(m) for m in ws.merged_cells.ranges}
        dv_ranges = {str(r) for dv in ws.data_validations.dataValidation for r in dv.sqref.ranges}
        assert "D9:D45" in dv_ranges
    elif name == "hidden_rows":
        assert any(d.hidden for d in wb["4. Giảm nghèo"].row_dimensions.values())
        assert gn_a == gn_b
    elif name == "hidden_columns":
        assert wb["4. Giảm nghèo"].column_dimensions["A"].hidden
        assert gn_a == gn_b
    elif name == "sheet_names_loose":
        assert "GIẢM NGHÈO" in after and "TUYÊN TRUYỀN" in after
    elif name == "no_diacritics":
        assert "4. Giam ngheo" in after and "Thong tin" in after
        names = [r[2] for r in after["4. Giam ngheo"][6:43]]
        assert names == [strip_marks(r[2]) for r in gn_b[6:43]] and names[0].isascii()
    else:
        raise AssertionError(f"no check for quirk {name}")


@pytest.mark.parametrize("name", list(QUIRKS))
def test_each_quirk(base, tmp_path, name):
    out = apply_quirk(base, tmp_path / f"{name}.xlsx", name)
    before, after = sheets(base), sheets(out)
    wb = load_workbook(out)
    _check(name, before, after, wb)
    for ws in wb.worksheets[1:]:  # the content is still findable
        first, total, cols = locate_table(ws)
        assert total > first and len(cols) >= 6


def test_simulated_values_follow_the_catalogue():
    """Each unit's values are exactly its sheet's codes of indicators.csv, typed as there, and
    keep the relations of relations.csv."""
    values = simulate_values("317", "2017")  # Cát Hải: thị trấn and xã
    for sheet in CAT.sheets:
        assert values[sheet.key], sheet.key
        for unit, row in values[sheet.key].items():
            assert list(row) == sheet.codes, (sheet.key, unit)
            for code, v in row.items():
                kind = CAT.indicators[code].type
                if kind == "flag":
                    assert v in (0, 1), (unit, code, v)
                elif v is not None:
                    assert isinstance(v, int) or (kind == "money" and round(v, 2) == v), (code, v)
    for rel in CAT.relations:
        for unit in values["GN"]:
            known = {c: v for key in values for c, v in values[key].get(unit, {}).items()}
            if not all(known.get(c) is not None for c in rel.codes):
                continue
            left = sum(t.sign * known[t.code] for t in rel.left)
            right = sum(t.sign * known[t.code] for t in rel.right)
            assert left == right if rel.op == "==" else left <= right, (rel.text, unit)


def test_a_code_the_simulation_has_no_number_for_is_an_error(tmp_path):
    import shutil

    from schemas.catalogue import DATA_DIR

    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    with (data / "indicators.csv").open("a", encoding="utf-8", newline="") as f:
        f.write("GS,GS07,Số cuộc đối thoại,int,flow,cuộc,false,\n")
    with pytest.raises(ValueError, match="GS07"):
        simulate_values("317", "2017", catalogue=load_catalogue(data))
