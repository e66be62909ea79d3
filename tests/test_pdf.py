"""The leaders' report on paper and in a browser.

The PDF (`pipelines.report.pdf.write_pdf`, WeasyPrint) is read back with poppler-utils (`pdftotext`,
`pdffonts`); the HTML is loaded in headless Chromium over the DevTools protocol (a pipe, no
network port) to see what a reader's browser sees: the headings, every picture loaded, no
console message, no request beyond the file itself.
"""
from __future__ import annotations

import base64
import fcntl
import json
import logging
import os
import re
import select
import shutil
import subprocess
import sys
import time
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from pipelines.report import pdf as pdf_module
from pipelines.report.pdf import PdfError, layout, write_pdf
from pipelines.report.render import render_report
from schemas.catalogue import load_catalogue
from schemas.periods import parse_period
from schemas.units import load_registry
from test_render import FORMULA, PERIOD, SCRIPT, _aggregates, _findings

TITLE = "Báo cáo kết quả thực hiện Chương trình phối hợp"
KEY_HEADING = "Số liệu chính toàn thành phố"
REPORTING = "Tình hình nộp báo cáo"
SUBS_HEADER = "Số cảnh báo"  # a header of the table of files received, and of no other table
ODD_CODE = "399"  # a district on record under an untrusted name
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

needs_poppler = pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdffonts")),
                                   reason="pdftotext/pdffonts not installed (Debian poppler-utils; "
                                          "`make system-tools`)")
LIBERATION = Path("/usr/share/fonts/truetype/liberation2")  # where Debian puts it
needs_liberation = pytest.mark.skipif(
    not all((LIBERATION / f).is_file() for f, _, _ in pdf_module.LIBERATION_FILES),
    reason="Liberation Serif not installed (Debian fonts-liberation2; `make system-libs`): the "
           "PDF is set in DejaVu Serif")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (Debian "
                                                             "chromium; `make system-tools`)")


# -- the report --------------------------------------------------------------------------

def _submissions() -> pd.DataFrame:
    """Five files from every district, so that the table of files runs over a page; among
    them names that are markup and a spreadsheet formula."""
    districts = [d.code for d in load_registry().districts(parse_period(PERIOD))]
    rows = []
    for n, code in enumerate(districts):
        for k in range(5):
            status = ("accepted", "superseded", "superseded", "duplicate", "rejected")[k]
            rows.append((f"Báo cáo quận huyện {code} lần {k + 1}.xlsx", f"{n:02d}{k}" * 16, code,
                         PERIOD, status, k, 5 - k))
    rows += [(SCRIPT, "e" * 64, ODD_CODE, PERIOD, "partial", 4, 1),
             (FORMULA, "f" * 64, "304", PERIOD, "accepted", 0, 0)]
    return pd.DataFrame(rows, columns=["file", "sha256", "district_code", "period", "status",
                                       "errors", "warnings"])


def _aggregates_with_odd_district() -> pd.DataFrame:
    agg = _aggregates()
    odd = agg[agg["org_unit_code"] == "304"].assign(org_unit_code=ODD_CODE,
                                                    org_unit_name="<script>alert(1)</script>")
    return pd.concat([agg, odd], ignore_index=True)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120).stdout


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bao_cao_pdf") / PERIOD
    history = pd.concat([_aggregates("2018", shift=0.1), _aggregates("2018-H1", shift=0.5)])
    paths = render_report(PERIOD, _aggregates_with_odd_district(), _submissions(), _findings(),
                          out, history=history, pdf=False)  # with history: change columns, trend
    # charts; the PDF is written below, to catch WeasyPrint's warnings
    html = paths["html"].read_text(encoding="utf-8")
    pdf = out / "bao_cao.pdf"
    logged = _Collect()
    logging.getLogger("weasyprint").addHandler(logged)
    try:
        pages = write_pdf(html, pdf)
    finally:
        logging.getLogger("weasyprint").removeHandler(logged)
    return {"html_path": paths["html"], "html": html, "pdf": pdf, "pages": pages,
            "logged": logged.records, "overflow": _past_the_right_margin(layout(html))}


def _past_the_right_margin(document) -> list[str]:
    """Every box of the laid-out report that reaches beyond its page's right margin."""
    from weasyprint.formatting_structure import boxes

    found = []
    for n, page in enumerate(document.pages, start=1):
        page_box = page._page_box
        right = page_box.content_box_x() + page_box.width

        def walk(box):
            if isinstance(box, boxes.MarginBox):  # the running header and the page number
                return
            if not isinstance(box, boxes.PageBox) and box.width is not None:
                over = box.border_box_x() + box.border_width() - right
                if over > 0.5:
                    found.append(f"page {n}: <{box.element_tag}> {over:.0f}px too wide")
            for child in getattr(box, "children", ()):
                walk(child)

        walk(page_box)
    return found


@pytest.fixture(scope="module")
def pdf_text(report):
    """Per page: the text as laid out (`-layout`) and in drawing order (`-raw`)."""
    pdf = str(report["pdf"])
    layout = _run("pdftotext", "-layout", "-enc", "UTF-8", pdf, "-").split("\f")
    raw = _run("pdftotext", "-raw", "-enc", "UTF-8", pdf, "-").split("\f")
    return {"layout": layout[:report["pages"]], "raw": raw[:report["pages"]],
            "all": "\n".join(raw)}


class _HtmlText(HTMLParser):
    """The text of a page; the text of `td.num` cells and key figures; the <h2> headings."""

    def __init__(self):
        super().__init__()
        self.text: list[str] = []
        self.numbers: list[str] = []
        self.figures: list[str] = []
        self.h2: list[str] = []
        self._stack: list[tuple[str, str, list[str]]] = []  # (tag, kind, text)
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script", "title"):
            self._skip += 1
            return
        classes = (dict(attrs).get("class") or "").split()
        kind = ("num" if tag == "td" and "num" in classes else
                "figure" if tag == "div" and "v" in classes else
                "h2" if tag == "h2" else None)
        if kind:
            self._stack.append((tag, kind, []))
        elif tag == "sup" and self._stack:
            self._stack.append((tag, "sup", []))

    def handle_endtag(self, tag):
        if tag in ("style", "script", "title"):
            self._skip -= 1
            return
        if self._stack and self._stack[-1][0] == tag:
            _, kind, parts = self._stack.pop()
            text = " ".join("".join(parts).split())
            {"num": self.numbers, "figure": self.figures, "h2": self.h2,
             "sup": []}[kind].append(text)

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        if self._stack and self._stack[-1][1] != "sup":
            self._stack[-1][2].append(data)


@pytest.fixture(scope="module")
def html_parts(report):
    parser = _HtmlText()
    parser.feed(report["html"])
    return parser


def _areas() -> list[str]:
    return [s.display_name for s in load_catalogue().sheets]


# -- the PDF -----------------------------------------------------------------------------

@needs_poppler
def test_pdf_has_the_headings_and_every_number_as_the_html_shows_it(report, pdf_text,
                                                                     html_parts):
    text = pdf_text["all"]
    for heading in [KEY_HEADING, *_areas(), REPORTING, "Lỗi và cảnh báo"]:
        assert heading in text, heading
    squashed = _squash(text)
    assert html_parts.numbers and html_parts.figures
    missing = [n for n in {*html_parts.numbers, *html_parts.figures}
               if _squash(n) not in squashed]
    assert not missing, missing
    # the same figures as test_render checks in the HTML, in Vietnamese number format
    for shown in ("4.348", "0,72%", "604.813", "1.234,50", "5.291,00", "17,69", "12*",
                  "35/51 xã (68,63%)", "45 nhà"):
        assert _squash(shown) in squashed, shown


@needs_poppler
def test_pdf_keeps_vietnamese_text(report, pdf_text, html_parts):
    text = pdf_text["all"]
    assert "\ufffd" not in text
    html_text = "".join(html_parts.text)
    assert text.count("?") == html_text.count("?")  # no glyph came out as a question mark
    for words in ("Huyện Bạch Long Vĩ", "Huyện Thuỷ Nguyên", "Hỗ trợ hộ nghèo",
                  "Đô thị văn minh", "không có số liệu", "Chưa đầy đủ"):
        assert words in text, words
    # WeasyPrint understood all of the stylesheet and found every glyph in the fonts
    assert not [r.getMessage() for r in report["logged"] if r.levelno >= logging.WARNING]


def _fonts(pdf: Path) -> list[tuple[str, str]]:
    """Each font of a PDF: (name without the subset tag, embedded yes/no)."""
    return [(ln.split()[0].split("+")[-1], ln.split()[-5])  # emb (then sub, uni, object, gen)
            for ln in _run("pdffonts", str(pdf)).splitlines()[2:]]


def _words(pdf: Path) -> list[list[tuple[float, float, float, float, str]]]:
    """Per page, each word with its box in points from the top left: (x0, y0, x1, y1, text)."""
    out = []
    for page in re.findall(r"<page .*?</page>", _run("pdftotext", "-bbox", str(pdf), "-"), re.S):
        out.append([(float(a), float(b), float(c), float(d), unescape(t)) for a, b, c, d, t in
                    re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                               r'yMax="([\d.]+)">(.*?)</word>', page)])
    return out


@needs_poppler
@needs_liberation
def test_pdf_fonts_are_liberation_serif_and_embedded(report):
    fonts = _fonts(report["pdf"])
    assert {name for name, _ in fonts} == {"Liberation-Serif", "Liberation-Serif-Bold",
                                           "Liberation-Serif-Italic",
                                           "Liberation-Serif-Bold-Italic"}, fonts
    assert all(emb == "yes" for _, emb in fonts), fonts


@needs_poppler
def test_pdf_pages_are_numbered_at_the_top_from_the_second(report, pdf_text):
    """Nghị định 30/2020/NĐ-CP: the page number centred at the top, none on the first page."""
    n = report["pages"]
    assert n > 1
    assert int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", str(report["pdf"])))[1]) == n
    first = [ln.strip() for ln in pdf_text["layout"][0].splitlines() if ln.strip()]
    assert not re.fullmatch(r"\d+", first[0]), first[0]
    for i, page in enumerate(pdf_text["layout"][1:], start=2):
        lines = [ln for ln in page.splitlines() if ln.strip()]
        assert lines[0].strip() == str(i), lines[0]
    # centred over the text (margins 30 mm left, 15 mm right), above it
    mm = 72 / 25.4
    centre = (30 * mm + (210 - 15) * mm) / 2
    words = _words(report["pdf"])
    for i, page in enumerate(words[1:], start=2):
        number = next(w for w in page if w[4] == str(i))
        assert abs((number[0] + number[2]) / 2 - centre) < 2, number
        assert number[3] < 20 * mm and number[3] == min(w[3] for w in page), number


@needs_poppler
def test_each_area_starts_a_page_over_a_running_footer(report, pdf_text):
    layout = pdf_text["layout"]
    pages = [[ln.strip() for ln in page.splitlines() if ln.strip()] for page in layout]
    starts: dict[str, int] = {}
    for i, lines in enumerate(pages[1:], start=2):
        body, footer = lines[1], lines[-1]
        assert footer.startswith(f"{TITLE} – Năm {PERIOD}"), footer  # the report and period
        starts.setdefault(body, i)
    for heading in [*_areas(), REPORTING]:
        assert heading in starts, f"{heading} does not start a page"
        assert pages[starts[heading] - 1][-1].endswith(heading)  # the footer names the area
    assert sorted(starts[h] for h in _areas()) == [starts[h] for h in _areas()]
    # the contents on the first page give those pages
    contents = {m[1].strip(): int(m[2]) for m in
                re.finditer(r"^(.+?)\s*\.{3,}\s*(\d+)\s*$", layout[0], flags=re.M)}
    for heading in [*_areas(), REPORTING]:
        assert contents.get(heading) == starts[heading], heading


def test_nothing_reaches_past_the_right_margin(report):
    """The widest tables (12 columns with the change column) fit A4 portrait."""
    assert report["overflow"] == []


@needs_poppler
def test_long_table_repeats_its_header_and_keeps_rows_whole(report, pdf_text):
    files = _submissions()["file"].tolist()
    pages = [page for page in pdf_text["raw"] if any(_squash(f) in _squash(page) for f in files)]
    assert len(pages) >= 2, "the table of files was meant to run over a page"
    for page in pages:
        assert _squash(SUBS_HEADER) in _squash(page)
    squashed = [_squash(page) for page in pdf_text["raw"]]
    for f in files:  # every row whole on one page
        assert any(_squash(f) in page for page in squashed), f


@needs_poppler
def test_untrusted_text_is_plain_text_in_the_pdf(report, pdf_text):
    squashed = _squash(pdf_text["all"])
    assert _squash(SCRIPT) in squashed  # the file name, literally
    assert "<script>alert(1)</script>" in squashed  # the district's name, literally
    assert _squash(FORMULA) in squashed
    assert b"/JavaScript" not in report["pdf"].read_bytes()


def test_write_pdf_refuses_anything_not_embedded(tmp_path):
    target = tmp_path / "bao_cao.pdf"
    target.write_bytes(b"old")
    for body in ('<img src="http://127.0.0.1:9/x.png">', '<img src="file:///etc/hostname">',
                 '<img src="data:image/png;base64,AAAA">',
                 '<style>@import url("http://127.0.0.1:9/a.css");</style><p>x</p>'):
        with pytest.raises(PdfError):
            write_pdf(f"<!DOCTYPE html><html><body>{body}</body></html>", target)
        assert target.read_bytes() == b"old", body
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bao_cao.pdf"]  # no temporary left
    assert write_pdf("<p>Tiếng Việt: Thuỷ Nguyên, Bạch Long Vĩ</p>", target) == 1
    assert target.read_bytes()[:5] == b"%PDF-"


def test_importing_the_module_does_not_load_weasyprint():
    code = "import sys, pipelines.report.pdf; sys.exit('weasyprint' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


@needs_poppler
def test_pdf_does_not_need_fonts_installed(tmp_path):
    """Without a single font configured, the PDF still has every glyph, from its own files."""
    conf = tmp_path / "fonts.conf"
    conf.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
                    f"<fontconfig><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>")
    pdf = tmp_path / "x.pdf"
    words = "Huyện Thuỷ Nguyên: tỷ lệ hộ nghèo giảm 1,25 điểm %; Bạch Long Vĩ – đạt chuẩn"
    code = ("import sys; from pathlib import Path; from pipelines.report.pdf import write_pdf; "
            f"write_pdf('<p>{words}</p><p><b>{words}</b></p><p><i>{words}</i></p>', "
            "Path(sys.argv[1]))")
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    run = subprocess.run([sys.executable, "-c", code, str(pdf)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "notdef" not in run.stderr
    fonts = _fonts(pdf)
    names = {name for name, _ in fonts}  # regular, bold, italic
    family = "Liberation-Serif" if pdf_module.face().family == "Liberation Serif" else "DejaVu-Serif"
    assert len(names) == 3 and all(n.startswith(family) for n in names), names
    assert all(emb == "yes" for _, emb in fonts)
    assert words in " ".join(_run("pdftotext", str(pdf), "-").split())


# -- the HTML in Chromium ----------------------------------------------------------------

class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (fds 3 and 4)."""

    FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             "--remote-debugging-pipe")

    def __init__(self, profile: Path):
        to_chrome, self._to_us = os.pipe(), os.pipe()

        def fds_3_and_4():  # in the child: Chromium reads fd 3 and writes fd 4
            r = fcntl.fcntl(to_chrome[0], fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(self._to_us[1], fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.log = profile.with_suffix(".log")
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen([CHROMIUM, *self.FLAGS, f"--user-data-dir={profile}"],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=err, pass_fds=(3, 4), preexec_fn=fds_3_and_4)
        os.close(to_chrome[0])
        os.close(self._to_us[1])
        self._w, self._r = to_chrome[1], self._to_us[0]
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 60) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m["result"]
            self.events.append(m)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._read(deadline))
        return next(e for e in self.events if e.get("method") == method)

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise TimeoutError(f"no answer from chromium (see {self.log})")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise EOFError(f"chromium closed the pipe (see {self.log})")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def open(self, url: str) -> str:
        """A new tab showing `url`, loaded; returns its session."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.events.clear()
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired")
        return session

    def evaluate(self, expression: str, session: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                           session=session)
        return result["result"].get("value")

    def problems(self, page_url: str) -> list[str]:
        """Console messages, uncaught errors, browser log errors, failed or outside requests."""
        out = []
        for e in self.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled":
                out.append(f"console.{p['type']}: " +
                           " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif method == "Runtime.exceptionThrown":
                out.append(f"exception: {p['exceptionDetails'].get('text')}")
            elif method == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                out.append(f"log {p['entry']['level']}: {p['entry']['text']}")
            elif method == "Network.loadingFailed":
                out.append(f"failed: {p.get('errorText')}")
            elif method == "Network.requestWillBeSent":
                url = p["request"]["url"]
                if url != page_url and not url.startswith("data:"):
                    out.append(f"request: {url}")
            elif method == "Page.javascriptDialogOpening":
                out.append(f"dialog: {p.get('message')}")
        return out

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        os.close(self._r)


PAGE_STATE = """JSON.stringify({
  h2: [...document.querySelectorAll('h2')].map(h => h.textContent.trim()),
  images: [...document.images].map(i => ({src: i.src.slice(0, 22),
                                           ok: i.complete && i.naturalWidth > 0})),
  scripts: document.querySelectorAll('script').length,
  links: [...document.querySelectorAll('link, iframe, object, embed')].length,
  text: document.body.innerText,
  title: document.title,
})"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chrome = Chromium(tmp_path_factory.mktemp("chromium") / "profile")
    yield chrome
    chrome.close()


@pytest.fixture(scope="module")
def in_browser(report, browser):
    url = report["html_path"].resolve().as_uri()
    session = browser.open(url)
    state = json.loads(browser.evaluate(PAGE_STATE, session))
    problems = browser.problems(url)
    printed = base64.b64decode(browser.send("Page.printToPDF", {
        "preferCSSPageSize": True, "printBackground": True}, session=session)["data"])
    return {"state": state, "problems": problems, "printed": printed}


@needs_chromium
def test_html_in_chromium_loads_clean(in_browser):
    state = in_browser["state"]
    assert in_browser["problems"] == []
    assert state["h2"][0] == KEY_HEADING
    assert [h for h in state["h2"] if h in _areas()] == _areas()
    assert REPORTING in state["h2"]
    assert len(state["images"]) >= len(_areas())  # a chart or more for each area
    for img in state["images"]:
        assert img["src"] == "data:image/png;base64," and img["ok"], img
    assert state["title"].startswith(f"{TITLE} – Năm {PERIOD}")


@needs_chromium
def test_untrusted_text_is_inert_in_chromium(in_browser):
    state = in_browser["state"]
    assert state["scripts"] == 0 and state["links"] == 0
    assert SCRIPT in state["text"] and "<script>alert(1)</script>" in state["text"]
    assert FORMULA in state["text"]


@needs_chromium
@needs_poppler
def test_printing_from_chromium_gives_numbered_a4_pages(in_browser, tmp_path):
    pdf = tmp_path / "in.pdf"
    pdf.write_bytes(in_browser["printed"])
    info = _run("pdfinfo", str(pdf))
    assert "(A4)" in info
    n = int(re.search(r"Pages:\s+(\d+)", info)[1])
    pages = _run("pdftotext", "-layout", str(pdf), "-").split("\f")[:n]
    assert n > 1
    for i, page in enumerate(pages[1:], start=2):  # the number at the top, from page 2
        assert page.split()[0] == str(i), page[:200]
    text = "\n".join(pages)
    # the <title> that WeasyPrint reads for its running header stays hidden in a browser
    assert f"{TITLE} – Năm {PERIOD}" not in text


@needs_chromium
def test_chromium_helper_sees_what_goes_wrong(tmp_path, browser):
    """What the checks above would catch: a console error, a thrown error, a missing picture."""
    page = tmp_path / "hong.html"
    page.write_text('<!DOCTYPE html><html><body><h2>Thử</h2><img src="khong_co.png">'
                    '<script>console.error("lỗi"); throw new Error("hỏng");</script>'
                    "</body></html>", encoding="utf-8")
    url = page.resolve().as_uri()
    session = browser.open(url)
    state = json.loads(browser.evaluate(PAGE_STATE, session))
    problems = browser.problems(url)
    assert any(p.startswith("console.error: lỗi") for p in problems), problems
    assert any(p.startswith("exception:") for p in problems), problems
    assert any("khong_co.png" in p or p.startswith("failed:") for p in problems), problems
    assert [img["ok"] for img in state["images"]] == [False]
