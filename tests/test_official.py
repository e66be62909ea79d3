"""The report as an administrative document (Nghị định 30/2020/NĐ-CP): the heading with the
national motto, the recipients and the signature block from `official.toml` (or the file
THONGKE_OFFICIAL names), every value escaped; the PDF in Liberation Serif, else DejaVu Serif."""
from __future__ import annotations

import logging
import re
import shutil
import subprocess
from datetime import date

import pytest

from pipelines.report import official, pdf
from pipelines.report.render import render_report
from test_render import PERIOD, _aggregates, _catalogue_of, _findings, _submissions

MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_2 = "Độc lập - Tự do - Hạnh phúc"
SIGNER = "Nguyễn Thị Thử Nghiệm"
CONFIGURED = f"""
issuer_parent = "Ủy ban nhân dân"
issuer = "Thành phố Hải Phòng"
number_prefix = "BC-UBND"
place = "Hải Phòng"
recipients = ["Thường trực Thành ủy", "UBND các quận, huyện;"]
signer_authority = "TM. Ủy ban nhân dân"
signer_title = "Chủ tịch"
signer_name = "{SIGNER}"
"""
BLANK = 'issuer_parent = "ỦY BAN NHÂN DÂN"\nissuer = "THÀNH PHỐ HẢI PHÒNG"\n' \
        'number_prefix = "BC-UBND"\nplace = "Hải Phòng"\n'

needs_poppler = pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdffonts")),
                                   reason="pdftotext/pdffonts not installed (Debian poppler-utils; "
                                          "`make system-tools`)")


def _text(path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True, timeout=60).stdout


def _report(tmp_path, monkeypatch, toml: str, *, pdf_too: bool = True):
    """A small report (one content area: fast) with `toml` as its official details."""
    config = tmp_path / "official.toml"
    config.write_text(toml, encoding="utf-8")
    return render_report(PERIOD, _aggregates(), _submissions(), _findings(), tmp_path / PERIOD,
                         catalogue=_catalogue_of("GN"), pdf=pdf_too, official_path=config)


def _signature_part(text: str) -> str:
    """The last page's text from "Nơi nhận:" on, without the running footer."""
    last = text.split("\f")[-2] if text.endswith("\f") else text.split("\f")[-1]
    part = last[last.index("Nơi nhận:"):]
    return "\n".join(ln for ln in part.splitlines() if not ln.strip().startswith("Báo cáo kết quả"))


def test_dateline_follows_the_decree():
    """Days below 10 and the months 1 and 2 with a leading 0."""
    cases = {date(2026, 12, 3): "Hải Phòng, ngày 03 tháng 12 năm 2026",
             date(2027, 2, 9): "Hải Phòng, ngày 09 tháng 02 năm 2027",
             date(2027, 1, 31): "Hải Phòng, ngày 31 tháng 01 năm 2027",
             date(2026, 3, 15): "Hải Phòng, ngày 15 tháng 3 năm 2026",
             date(2026, 9, 10): "Hải Phòng, ngày 10 tháng 9 năm 2026"}
    for made, line in cases.items():
        assert official.load(made=made).dateline == line
    assert official.parse({}, made=date(2026, 7, 1)).dateline == "Ngày 01 tháng 7 năm 2026"


def test_shipped_file_is_blank_where_an_officer_signs():
    shipped = official.load()
    assert (shipped.issuer_parent, shipped.issuer, shipped.number_prefix, shipped.place) == (
        "ỦY BAN NHÂN DÂN", "THÀNH PHỐ HẢI PHÒNG", "BC-UBND", "Hải Phòng")
    assert shipped.signer_authority == shipped.signer_title == shipped.signer_name == ""


def test_settings_read_the_override(monkeypatch, tmp_path):
    from pipelines.settings import get_settings

    monkeypatch.delenv("THONGKE_OFFICIAL", raising=False)
    assert get_settings().official_path is None
    monkeypatch.setenv("THONGKE_OFFICIAL", str(tmp_path / "x.toml"))
    assert get_settings().official_path == tmp_path / "x.toml"


@pytest.mark.parametrize("toml, message", [
    ('signer = "A"', "khóa không hợp lệ: signer"),
    ("signer_name = 3", "signer_name phải là một chuỗi"),
    ('recipients = "Thành ủy"', "recipients phải là một danh sách chuỗi"),
    ("issuer = ", "tệp TOML không hợp lệ"),
])
def test_bad_file_is_named(tmp_path, toml, message):
    path = tmp_path / "official.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as err:
        official.load(path)
    assert str(path) in str(err.value)


def test_recipients_lines():
    got = official.parse({"recipients": ["Thường trực Thành ủy", "- Như trên;", " ", "Các sở:"]})
    assert got.recipient_lines == ("Thường trực Thành ủy;", "Như trên;", "Các sở:")


def test_configured_values_are_escaped(tmp_path, monkeypatch):
    toml = ('signer_name = "<b>&"\nrecipients = ["<b>& Sở"]\nissuer = "<i>x</i>"\n'
            'place = "<script>alert(1)</script>"\n')
    html = _report(tmp_path, monkeypatch, toml, pdf_too=False)["html"].read_text(encoding="utf-8")
    assert "<b>&" not in html and "<i>" not in html and "<script>" not in html
    assert '<div class="name">&lt;b&gt;&amp;</div>' in html
    assert "- &lt;b&gt;&amp; Sở;" in html
    assert "&lt;I&gt;X&lt;/I&gt;" in html  # upper case, as the decree writes the body's name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;, ngày" in html


@needs_poppler
def test_pdf_has_the_heading_recipients_and_the_signer(tmp_path, monkeypatch):
    paths = _report(tmp_path, monkeypatch, CONFIGURED)
    text = _text(paths["pdf"], "-layout")
    first = text.split("\f")[0]
    for words in (MOTTO, MOTTO_2, "ỦY BAN NHÂN DÂN", "THÀNH PHỐ HẢI PHÒNG", "/BC-UBND",
                  "BÁO CÁO", "Kết quả thực hiện Chương trình phối hợp", f"Năm {PERIOD}",
                  official.load(made=date.today(), path=tmp_path / "official.toml").dateline):
        assert words in first, words
    assert re.search(r"Số:\s+/BC-UBND", first)  # room for the number
    signing = _signature_part(text)
    for words in ("- Thường trực Thành ủy;", "- UBND các quận, huyện;", "- Lưu: VT.",
                  "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", SIGNER):
        assert words in signing, words
    assert signing.index("CHỦ TỊCH") < signing.index(SIGNER)
    assert "……" not in signing  # no placeholder where a value is configured


@needs_poppler
def test_blank_signer_leaves_room_and_dots_but_no_name(tmp_path, monkeypatch):
    paths = _report(tmp_path, monkeypatch, BLANK)
    signing = _signature_part(_text(paths["pdf"], "-layout"))
    assert "Nơi nhận:" in signing and "- Lưu: VT." in signing
    rest = signing.replace("Nơi nhận:", "").replace("Lưu: VT.", "")
    assert not re.search(r"[^\W\d_]", rest), rest  # no letter: no name, no title
    assert rest.count("……") >= 4  # a recipient, the authority, the title, the name
    html = paths["html"].read_text(encoding="utf-8")
    assert '<div class="sign-here"></div>' in html


def _small_pdf(path) -> None:
    words = "Huyện Thuỷ Nguyên: tỷ lệ hộ nghèo giảm 1,25 điểm %"
    pdf.write_pdf(f"<p>{words}</p><p><b>{words}</b></p><p><i>{words}</i></p>"
                  f"<p><b><i>{words}</i></b></p>", path)


def _font_names(path) -> list[tuple[str, str]]:
    lines = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True,
                           timeout=60).stdout.splitlines()[2:]
    return [(ln.split()[0].split("+")[-1], ln.split()[-5]) for ln in lines]


@needs_poppler
def test_without_liberation_the_pdf_is_in_dejavu_serif(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(pdf, "LIBERATION_DIR", tmp_path / "no_such_folder")
    target = tmp_path / "x.pdf"
    with caplog.at_level(logging.WARNING, logger="pipelines.report.pdf"):
        _small_pdf(target)
    fonts = _font_names(target)
    assert {n for n, _ in fonts} == {"DejaVu-Serif", "DejaVu-Serif-Bold", "DejaVu-Serif-Italic",
                                     "DejaVu-Serif-Bold-Italic"}, fonts
    assert all(emb == "yes" for _, emb in fonts)
    notes = [r for r in caplog.records if r.name == "pipelines.report.pdf"]
    assert len(notes) == 1 and notes[0].levelno == logging.WARNING
    assert "fonts-liberation2" in notes[0].getMessage()
    assert "Thuỷ Nguyên" in _text(target)


def test_the_fetcher_reads_the_chosen_font_files_only(tmp_path, monkeypatch):
    pytest.importorskip("weasyprint")
    monkeypatch.setattr(pdf, "LIBERATION_DIR", tmp_path / "no_such_folder")
    dejavu = pdf.face()
    fetch = pdf._fetcher(dejavu).fetch
    assert fetch(dejavu.paths[0].as_uri())  # a chosen font
    others = [pdf.font_dir() / "DejaVuSans.ttf",  # the same folder, not the chosen face
              pdf.LIBERATION_DIR / "LiberationSerif-Regular.ttf", tmp_path / "x.ttf"]
    (tmp_path / "x.ttf").write_bytes(dejavu.paths[0].read_bytes())
    for path in others:
        with pytest.raises(ValueError, match="refused"):
            fetch(path.as_uri())
    with pytest.raises(ValueError, match="refused"):
        fetch("file:///etc/hostname")


def test_a_changed_official_file_makes_the_report_again(tmp_path, monkeypatch):
    """The report of the same inputs on the same day stands, unless the official details it
    was made with changed: another file named, or the file edited."""
    from pipelines import flows
    from pipelines.report import render

    made = []

    def fake_render(period, aggregates, submissions, findings, out_dir, **kw):
        made.append(official.load(kw["official_path"]).signer_name)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "bao_cao.html").write_text("x", encoding="utf-8")
        return {"html": out_dir / "bao_cao.html"}

    monkeypatch.setattr(render, "render_report", fake_render)
    monkeypatch.setattr(flows, "earlier_aggregates", lambda settings, period: None)
    monkeypatch.setattr(flows, "read_targets", lambda settings: None)
    tables = {"submissions": _submissions(), "findings": _findings(),
              "completeness": _findings().iloc[0:0]}
    config = tmp_path / "official.toml"

    def run():
        settings = flows.get_settings(raw_dir=tmp_path, db_path=tmp_path / "x.duckdb")
        flows.render_outputs.fn(PERIOD, str(tmp_path / PERIOD), _aggregates(), tables,
                                settings.with_overrides(pdf=False))

    monkeypatch.delenv("THONGKE_OFFICIAL", raising=False)
    run()
    run()
    assert made == [""]  # the same: it stands
    config.write_text('signer_name = "Trần Văn A"\n', encoding="utf-8")
    monkeypatch.setenv("THONGKE_OFFICIAL", str(config))
    run()
    config.write_text('signer_name = "Trần Văn B"\n', encoding="utf-8")
    run()
    run()
    assert made == ["", "Trần Văn A", "Trần Văn B"]
    assert official.fingerprint(config) != official.fingerprint(None)


def test_another_registry_gets_a_blank_heading_unless_it_has_its_own_file(tmp_path):
    """The shipped file names Hải Phòng: not on the national registry."""
    blank = official.load(made=date(2026, 12, 3), other_units=True)
    assert (blank.issuer_parent, blank.issuer, blank.place, blank.signer_name) == ("",) * 4
    assert blank.dateline == "Ngày 03 tháng 12 năm 2026"
    own = tmp_path / "official.toml"
    own.write_text('issuer = "BỘ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI"\nplace = "Hà Nội"\n',
                   encoding="utf-8")
    assert official.load(own, other_units=True).issuer == "BỘ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI"
    assert official.fingerprint(None, other_units=True) != official.fingerprint(own, True)
    assert official.fingerprint(None, other_units=True) != official.fingerprint(None)
    assert official.load().issuer == "THÀNH PHỐ HẢI PHÒNG"
