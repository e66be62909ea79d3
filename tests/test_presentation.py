"""The report's programme knowledge is data (`schemas/data/report.toml`): loaded and checked
by `schemas.presentation`; a bad entry is refused with the file and the key named."""
from __future__ import annotations

import shutil

import pytest

from schemas.catalogue import DATA_DIR, load_catalogue
from schemas.presentation import Bands, Bars, Criteria, Stack, Trend, load_report_spec

SHIPPED = (DATA_DIR / "report.toml").read_text(encoding="utf-8")


def _load(tmp_path, old: str = "", new: str = "", append: str = ""):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    assert not old or SHIPPED.count(old) == 1, old
    text = SHIPPED.replace(old, new) if old else SHIPPED
    (data / "report.toml").write_text(text + append, encoding="utf-8")
    return load_report_spec(data)


def test_the_shipped_file_is_what_the_report_draws():
    from pipelines.report import plans, render

    spec = load_report_spec()
    cat = load_catalogue()
    assert set(spec.charts) <= {s.key for s in cat.sheets}
    assert {k: plans.plan_for(k, None, "int") for k in spec.charts} == spec.charts
    assert plans.bands() == tuple((b.label, b.low, b.high) for b in spec.bands)
    assert render.key_figure_specs() == tuple((k.title, k.codes, k.main, k.detail)
                                              for k in spec.key_figures)
    kinds = {type(c) for plan in spec.charts.values() for c in plan}
    assert kinds == {Bars, Stack, Trend, Criteria, Bands}
    # every band of criteria met, 0 to the number of criteria, falls in exactly one band
    criteria = sum(i.type == "flag" for i in cat.sheet("NTM").indicators)
    for met in range(criteria + 1):
        assert sum(b.low <= met <= b.high for b in spec.bands) == 1, met


def test_an_edited_file_is_read(tmp_path):
    spec = _load(tmp_path, 'GS = [{ chart = "bars", code = "GS_TL_GIAI_QUYET" }, ',
                 'GS = [{ chart = "bars", code = "GS04" }, ',
                 append='\n[[key_figures]]\ntitle = "Đơn thư"\ncodes = ["GS03", "GS04"]\n'
                        'main = "{1}/{0} đơn"\n')
    assert spec.charts["GS"][0] == Bars("GS04")
    last = spec.key_figures[-1]
    assert (last.title, last.codes, last.main, last.detail) == ("Đơn thư", ("GS03", "GS04"),
                                                               "{1}/{0} đơn", "")


BAD = [
    ("unknown top key", "", "", "\n[colours]\nTT = 1\n", "khóa colours: khóa không hợp lệ"),
    ("unknown area", 'GS = "GS_TL_GIAI_QUYET"', 'XX = "GS_TL_GIAI_QUYET"', "",
     "khóa headlines.XX: nội dung 'XX' không có trong sheets.csv"),
    ("unknown headline code", 'GS = "GS_TL_GIAI_QUYET"', 'GS = "GS99"', "",
     "khóa headlines.GS: mã chỉ tiêu 'GS99' không có trong danh mục"),
    ("another area's headline", 'GS = "GS_TL_GIAI_QUYET"', 'GS = "GN_TL_NGHEO"', "",
     "khóa headlines.GS: mã chỉ tiêu 'GN_TL_NGHEO' thuộc nội dung GN, không thuộc GS"),
    ("another area's chart", 'code = "MH01+MH02"', 'code = "MH01+GS02"', "",
     "khóa charts.MH[1]: mã chỉ tiêu 'GS02' thuộc nội dung GS"),
    ("unknown lower-is-better code", '"GN06", "GN07"]', '"GN06", "GN77"]', "",
     "khóa lower_is_better[7]: mã chỉ tiêu 'GN77'"),
    ("unknown chart", '{ chart = "criteria" }', '{ chart = "pie" }', "",
     "khóa charts.NTM[0].chart: loại biểu đồ 'pie' không hợp lệ"),
    ("unknown chart key", '{ chart = "bars", code = "TT_TL_GDVH" }',
     '{ chart = "bars", code = "TT_TL_GDVH", colour = "red" }', "",
     "khóa charts.TT[0].colour: khóa không hợp lệ"),
    ("missing chart key", '{ chart = "bars", code = "TT_TL_GDVH" }', '{ chart = "bars" }', "",
     "khóa charts.TT[0].code: thiếu khóa này"),
    ("unknown code in a sum", 'code = "MH01+MH02"', 'code = "MH01+MH20"', "",
     "khóa charts.MH[1].code: mã chỉ tiêu 'MH20'"),
    ("rest without its label", 'rest = "VM_SO_DV", rest_label = "Chưa đạt chuẩn" ',
     'rest = "VM_SO_DV" ', "", "khóa charts.VM[0]: rest và rest_label"),
    ("unknown key figure code", 'codes = ["GN03", "GN05"]', 'codes = ["GN03", "GN50"]', "",
     "khóa key_figures[2].codes[1]: mã chỉ tiêu 'GN50'"),
    ("placeholder past the codes", 'main = "{0}/{1} đơn vị"', 'main = "{0}/{2} đơn vị"', "",
     "khóa key_figures[5].main: {2} không ứng với mã nào"),
    ("unknown key figure key", 'main = "{0} triệu đồng"', 'main = "{0} triệu đồng"\nicon = "x"',
     "", "khóa key_figures[6].icon: khóa không hợp lệ"),
    ("overlapping bands", 'label = "15–18"\nlow = 15', 'label = "15–18"\nlow = 14', "",
     "khóa bands[2]: khoảng này trùng"),
    ("band upside down", 'label = "5–9"\nlow = 5\nhigh = 9', 'label = "5–9"\nlow = 9\nhigh = 5',
     "", "khóa bands[3]: low (9) lớn hơn high (5)"),
    ("unknown rank rate key", 'per = "GN02"', 'per = "GN02"\nround = 1', "",
     "khóa rank_rates.GN03.round: khóa không hợp lệ"),
]


@pytest.mark.parametrize("old, new, append, says", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_entry_is_refused(tmp_path, old, new, append, says):
    with pytest.raises(ValueError) as exc:
        _load(tmp_path, old, new, append)
    message = str(exc.value)
    assert str(tmp_path / "data" / "report.toml") in message, message
    assert says in message, message
