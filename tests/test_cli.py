"""The thongke CLI through typer's CliRunner."""
import pytest
from builders import edit, write_clean
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()
COMMANDS = ["run", "check", "history", "watch", "server", "serve", "template", "sample", "demo"]


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
    assert "2 tệp" in result.output
    assert "Đã tiếp nhận: a.xlsx" in result.output and "Bị từ chối: b.xlsx" in result.output
    assert "Cộng: đã tiếp nhận 1; bị từ chối 1." in result.output and "R18" in result.output
    assert "Nộp báo cáo: 1/15 quận, huyện" in result.output
    assert "đúng hạn 15/01/2018" in result.output
    assert str(tmp_path / "out" / "2017" / "bao_cao.html") in result.output


def test_check_annotate_writes_a_marked_copy(tmp_path):
    import hashlib

    import openpyxl

    clean = write_clean(tmp_path / "ok.xlsx", "318", "2017")
    bad = edit(clean, tmp_path / "bad.xlsx", **{"4. Giảm nghèo!D7": "mười"})
    before = hashlib.sha256(bad.read_bytes()).hexdigest()
    out = tmp_path / "bad (danh dau).xlsx"
    result = runner.invoke(app, ["check", str(bad), "--annotate", str(out)])
    assert result.exit_code == 1 and str(out) in result.output
    assert hashlib.sha256(bad.read_bytes()).hexdigest() == before  # the original is untouched
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "Kết quả kiểm tra"
    assert "R01" in wb["4. Giảm nghèo"]["D7"].comment.text
    refused = runner.invoke(app, ["check", str(bad), "--annotate", str(bad)])
    assert refused.exit_code == 2 and hashlib.sha256(bad.read_bytes()).hexdigest() == before


def test_check_uses_the_record_and_history_lists_versions(prefect_harness, tmp_path):
    from builders import clean_values

    raw, reports = tmp_path / "raw", tmp_path / "reports"
    write_clean(raw / "2016" / "bao cao 2016.xlsx", "318", "2016")
    run = runner.invoke(app, ["run", "-p", "2016", "--raw-dir", str(raw), "--reports-dir", str(reports)])
    assert run.exit_code == 0, run.output
    v = clean_values("318", "2017")
    row = v["GN"]["318"]
    row["GN02"] += 3
    row["GN06"] = row["GN02"] - row["GN03"] + row["GN04"] + row["GN05"]
    path = write_clean(tmp_path / "2017.xlsx", "318", "2017", values=v)
    without = runner.invoke(app, ["check", str(path)])
    assert without.exit_code == 0 and "[Cảnh báo R14]" not in without.output
    assert "Chưa có sổ lưu số liệu" in without.output
    found = runner.invoke(app, ["check", str(path), "--reports-dir", str(reports)])
    assert found.exit_code == 0 and "[Cảnh báo R14]" in found.output  # a warning: exit 0
    listed = runner.invoke(app, ["history", "--reports-dir", str(reports), "-d", "318"])
    assert listed.exit_code == 0 and "bao cao 2016.xlsx" in listed.output
    assert "Đã tiếp nhận" in listed.output and "Kỳ 2016" in listed.output


AFTER_JUNE_2025 = "không còn cấp quận, huyện"


@pytest.mark.parametrize("command", [
    ["run", "--period", "2025"],
    ["run", "--period", "2026-H1"],
    ["template", "-d", "315", "-p", "2025", "-o", "{tmp}/bieu.xlsx"],
    ["check", "-p", "2025", "{tmp}/ok.xlsx"],
    ["sample", "--periods", "2024,2025", "--raw-dir", "{tmp}/mau"],
])
def test_every_command_answers_a_period_after_june_2025(tmp_path, command):
    """One clear Vietnamese message, rc 2, and nothing written (issue 15): from 1 Jul 2025
    Hải Phòng has no districts, so the district form cannot be reported."""
    write_clean(tmp_path / "ok.xlsx", "318", "2017")
    raw = tmp_path / "raw"
    (raw / "2025").mkdir(parents=True)  # a folder there: still refused, not read
    before = sorted(p.name for p in tmp_path.rglob("*"))
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    if command[0] == "run":
        args += ["--raw-dir", str(raw), "--reports-dir", str(tmp_path / "out")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert AFTER_JUNE_2025 in result.output and "2025-H1" in result.output
    assert "Traceback" not in result.output and "Đã sinh" not in result.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing claimed, nothing made


def test_a_workbook_dated_after_june_2025_gets_one_finding(tmp_path):
    book = edit(write_clean(tmp_path / "ok.xlsx", "318", "2017"), tmp_path / "b.xlsx",
                **{"Thông tin!B3": "2025"})
    result = runner.invoke(app, ["check", str(book)])
    assert result.exit_code == 1
    assert result.output.count("[LỖI") == 1 and AFTER_JUNE_2025 in result.output
    assert "'Thông tin'!B3" in result.output
