"""The thongke CLI through typer's CliRunner."""
import pytest
from builders import edit, write_clean
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()
COMMANDS = ["run", "check", "template", "sample", "demo"]


def test_every_command_has_help():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output
        sub = runner.invoke(app, [name, "--help"])
        assert sub.exit_code == 0, name
        assert len(sub.output.strip().splitlines()) > 3
    registered = {c.name or c.callback.__name__ for c in app.registered_commands}
    assert registered == set(COMMANDS)


def test_template_then_check(tmp_path):
    out = tmp_path / "bieu.xlsx"
    result = runner.invoke(app, ["template", "--district", "318", "--period", "2017-H1", "-o", str(out)])
    assert result.exit_code == 0 and out.exists()
    assert "Huyện Bạch Long Vĩ" in result.output
    blank = runner.invoke(app, ["check", str(out)])
    assert blank.exit_code == 1 and "R02" in blank.output  # a blank form has empty required cells


def test_template_unknown_district(tmp_path):
    result = runner.invoke(app, ["template", "-d", "310", "-p", "2017", "-o", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 2 and "310" in result.output and "Traceback" not in result.output


def test_check_clean_and_bad(tmp_path):
    clean = write_clean(tmp_path / "ok.xlsx", "318", "2017")
    result = runner.invoke(app, ["check", str(clean)])
    assert result.exit_code == 0 and "Không phát hiện lỗi" in result.output
    bad = edit(clean, tmp_path / "bad.xlsx", **{"4. Giảm nghèo!D7": "mười"})
    result = runner.invoke(app, ["check", str(bad), "--period", "2017"])
    assert result.exit_code == 1
    assert "'4. Giảm nghèo'!D7" in result.output and "R01" in result.output
    result = runner.invoke(app, ["check", str(clean), "--period", "2017-H1"])
    assert result.exit_code == 1 and "R05" in result.output


def test_check_missing_file(tmp_path):
    result = runner.invoke(app, ["check", str(tmp_path / "none.xlsx")])
    assert result.exit_code == 2 and "không tìm thấy" in result.output


@pytest.mark.parametrize("period,message", [("2017-H3", "không hợp lệ"), ("2017", "không có thư mục")])
def test_run_cannot_run(tmp_path, period, message):
    result = runner.invoke(app, ["run", "--period", period, "--raw-dir", str(tmp_path),
                                 "--reports-dir", str(tmp_path / "out")])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_run_prints_summary(prefect_harness, tmp_path):
    write_clean(tmp_path / "raw" / "2017" / "a.xlsx", "318", "2017")
    (tmp_path / "raw" / "2017" / "b.xlsx").write_bytes(b"not a workbook")
    result = runner.invoke(app, ["run", "-p", "2017", "--raw-dir", str(tmp_path / "raw"),
                                 "--reports-dir", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "2 tệp" in result.output and "Đã tiếp nhận: 1" in result.output
    assert "Bị từ chối: 1" in result.output and "R18" in result.output
    assert str(tmp_path / "out" / "2017" / "bao_cao.html") in result.output
