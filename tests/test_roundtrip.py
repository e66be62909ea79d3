"""The template round trip: `thongke template`, typed in by a person, read back exactly."""
import random

import openpyxl
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.forms.form import CODE_ROW, FIRST_DATA_ROW
from pipelines.check.checker import check_workbook
from schemas.periods import parse_period


def test_filled_template_reads_back_exactly_what_was_typed(tmp_path, catalogue, registry):
    path = tmp_path / "bieu.xlsx"
    assert CliRunner().invoke(app, ["template", "-d", "315", "-p", "2017", "-o", str(path)]).exit_code == 0
    rng = random.Random(7)
    wb = openpyxl.load_workbook(path)
    typed: dict[tuple[str, str, str], float | None] = {}
    for sheet in catalogue.sheets:
        ws = wb[sheet.display_name]
        codes = {ws.cell(CODE_ROW, c).value: c for c in range(1, ws.max_column + 1)}
        row = FIRST_DATA_ROW
        while ws.cell(row, 3).value not in (None, "Tổng cộng"):
            unit = str(ws.cell(row, 2).value)
            gn = {"GN01": 3000 + row, "GN02": 50, "GN03": 10, "GN04": 1, "GN05": 4}
            gn["GN06"], gn["GN07"] = 45, 60
            for ind in sheet.indicators:
                if sheet.key == "GN":
                    value = gn[ind.code]
                elif ind.type == "money":
                    value = round(rng.uniform(0, 900), 2)
                elif ind.type == "flag":
                    value = 1
                elif ind.type == "year":
                    value = 2015
                elif not ind.required and rng.random() < 0.2:
                    value = None  # a flow not reported
                else:
                    value = rng.randint(0, 80)
                if ind.code in ("TT03", "TT04"):  # keep TT04 <= TT03 <= GN01
                    value = 2000 if ind.code == "TT03" else 1500
                if ind.code in ("TT05", "VM01", "GS03", "GS05"):
                    value = 100
                if ind.code == "AS03":  # 60 million per house keeps R17 quiet
                    houses = [typed[(sheet.key, unit, c)] for c in ("AS01", "AS02")]
                    value = 60.0 * sum(h or 0 for h in houses)
                ws.cell(row, codes[ind.code]).value = value
                typed[(sheet.key, unit, ind.code)] = value
            row += 1
    wb.save(path)
    result = check_workbook(path, catalogue=catalogue, registry=registry,
                            expected_period=parse_period("2017"))
    assert result.findings == []
    got = {(r.sheet, r.unit_code, r.indicator): (None if r.value != r.value else r.value)
           for r in result.values().itertuples()}
    assert got == typed
    assert len(typed) > 1000
