"""A rule id is data: a relation added to `relations.csv` with a new rule id, and the rule's
severity and title in `rules.csv`, is checked by the real checker with no code change."""
from __future__ import annotations

import shutil

import pytest
from builders import column_of, edit, unit_row, write_clean

from pipelines.check.checker import check_workbook
from schemas.catalogue import DATA_DIR, load_catalogue
from schemas.periods import parse_period
from schemas.rules import load_rules
from schemas.units import load_registry

D, P = "317", "2017-H1"  # Huyện Cát Hải
UNIT = "11920"  # Xã Nghĩa Lộ
RELATION = "R90,MH04,<=,MH03\n"  # people out of poverty through a model: at most its members
TITLE = "Số người thoát nghèo nhờ mô hình vượt số người tham gia"


def _data_dir(tmp_path, relation: str = RELATION, rule: str | None = None):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    with (data / "relations.csv").open("a", encoding="utf-8", newline="") as f:
        f.write(relation)
    if rule is not None:
        with (data / "rules.csv").open("a", encoding="utf-8", newline="") as f:
            f.write(rule)
    return data


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return write_clean(tmp_path_factory.mktemp("r90") / "clean.xlsx", D, P)


@pytest.mark.parametrize("severity", ["warning", "error"])
def test_new_relation_with_a_new_rule_id_is_checked(clean, tmp_path, severity):
    cat = load_catalogue(_data_dir(tmp_path, rule=f"R90,{severity},{TITLE}\n"))
    assert cat.rules["R90"].title == TITLE and any(r.rule == "R90" for r in cat.relations)
    sheet = cat.sheet("MH").display_name
    mh03 = f"{column_of('MH', 'MH03')}{unit_row(D, P, 'MH', UNIT)}"
    mh04 = f"{column_of('MH', 'MH04')}{unit_row(D, P, 'MH', UNIT)}"
    period = parse_period(P)

    def check(path):
        return check_workbook(path, catalogue=cat, registry=load_registry(),
                              expected_period=period)

    assert check(clean).findings == []  # the clean values keep MH04 <= MH03
    import openpyxl

    members = openpyxl.load_workbook(clean)[sheet][mh03].value
    broken = edit(clean, tmp_path / "broken.xlsx", **{f"{sheet}!{mh04}": members + 7})
    result = check(broken)
    assert [(f.rule, f.severity, f.sheet, f.cell) for f in result.findings] == [
        ("R90", severity, sheet, mh04)]
    message = result.findings[0].message
    assert "MH04 ≤ MH03" in message and "không thỏa mãn" in message
    assert f"MH04 = {members + 7}" in message, message
    # the severity decides the sheet's fate, as for any rule
    assert result.sheets["MH"].status == ("rejected" if severity == "error" else "accepted")
    assert result.status == ("partial" if severity == "error" else "accepted")


def test_a_relation_whose_rule_is_not_in_rules_csv_is_refused(tmp_path):
    data = _data_dir(tmp_path)  # R90 in relations.csv, not in rules.csv
    with pytest.raises(ValueError, match=r"relations\.csv.*R90.*rules\.csv"):
        load_catalogue(data)


@pytest.mark.parametrize("row, says", [
    ("R90,fatal,Tên\n", "mức độ 'fatal' không hợp lệ"),
    ("R9,error,Tên\n", "mã quy tắc 'R9' không hợp lệ"),
    ("R07,error,Lần nữa\n", "quy tắc R07: bị khai báo hai lần"),
    ("R90,error,\n", "quy tắc R90: thiếu tên quy tắc"),
    ("R90,error,Tên,thừa\n", "số cột khác 3"),
])
def test_a_bad_rule_row_is_refused(tmp_path, row, says):
    data = _data_dir(tmp_path, relation="", rule=row)
    with pytest.raises(ValueError, match="rules.csv") as exc:
        load_rules(data)
    assert says in str(exc.value)


def test_the_rule_table_is_the_data(tmp_path):
    """The rule table (the titles of the listing, the marked copy and the report) is
    rules.csv, read when asked."""
    from pipelines.check.findings import shipped_rules

    RULES = shipped_rules()

    rules = load_rules(DATA_DIR)
    assert RULES == {k: (r.severity, r.title) for k, r in rules.items()}
    assert {r.rule for r in load_catalogue().relations} <= set(rules)
