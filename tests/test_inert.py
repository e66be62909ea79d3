"""Text a district typed is data everywhere the pipeline writes it (issue 7, inert content):
one real run whose workbooks carry formula-like text, markup and path characters in every
field a district controls (file name, cover, unit names, number cells), then every workbook,
HTML page and file name the run made is inspected."""
from __future__ import annotations

import ast
import asyncio
import hashlib
from pathlib import Path

import duckdb
import openpyxl
import pytest
from builders import column_of, unit_row, write_clean

from pipelines.flows import period_report
from pipelines.base.xlsx import set_text

PERIOD = "2017"
ROOT = Path(__file__).resolve().parent.parent
# what a hostile or careless office could type; each must come back as the same text
FORMULA = '=HYPERLINK("http://evil.example","bấm")'
PLUS, MINUS, AT = "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)*cmd"
SCRIPT = "<script>alert(1)</script>"
MARKERS = ("HYPERLINK", "cmd|", "-2+3", "@SUM", "<script", "<img", "../")
IMG = "<img src=x onerror=alert(1)>"
PERSON, PHONE = "Nguyễn Thị Riêng Tư", "0912 345 678"  # personal data on a cover sheet
FILE_NAME = f"=1+1 {IMG} Cát Hải ..xlsx"  # a file name is district text too


def _set(path: Path, cells: dict[str, str]) -> None:
    """Write text into cells of a workbook, as text (a district's typed string)."""
    wb = openpyxl.load_workbook(path)
    for key, value in cells.items():
        sheet, cell = key.rsplit("!", 1)
        set_text(wb[sheet][cell], value)
    wb.save(path)


@pytest.fixture(scope="module")
def run(prefect_harness, tmp_path_factory):
    root = tmp_path_factory.mktemp("inert")
    raw = root / "raw" / PERIOD
    cat_hai = write_clean(raw / FILE_NAME, "317", PERIOD, cover={
        "Người lập biểu": FORMULA, "Điện thoại": PLUS, "Tên đơn vị": f"../../{SCRIPT}/..\\x"})
    row = unit_row("317", PERIOD, "GN", "11914")
    _set(cat_hai, {f"4. Giảm nghèo!{column_of('GN', 'GN01')}{row}": MINUS,
                   f"2. Nguồn lực!{column_of('NL', 'NL02')}{unit_row('317', PERIOD, 'NL', '11914')}": AT,
                   f"1. Tuyên truyền!C{unit_row('317', PERIOD, 'TT', '11914')}": SCRIPT})
    write_clean(raw / "Bach Long Vi.xlsx", "318", PERIOD,
                cover={"Người lập biểu": PERSON, "Điện thoại": PHONE})
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in raw.iterdir()}
    summary = asyncio.run(period_report(PERIOD, str(root / "raw"), str(root / "reports")))
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in raw.iterdir()}
    assert after == before
    return root, summary


def _outputs(root: Path) -> list[Path]:
    return sorted(p for p in (root / "reports").rglob("*") if p.is_file())


def test_every_workbook_keeps_district_text_as_text(run):
    root, _ = run
    books = [p for p in _outputs(root) if p.suffix == ".xlsx"]
    assert any(p.name == "tong_hop.xlsx" for p in books)
    assert any("phan_hoi" in p.parts for p in books)  # the marked copy for Cát Hải
    seen = set()
    for path in books:
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            for r in ws.iter_rows():
                for c in r:
                    if not isinstance(c.value, str):
                        continue
                    hits = [m for m in MARKERS if m in c.value]
                    if hits:
                        seen.update(hits)
                        assert c.data_type == "s", f"{path.name} {ws.title}!{c.coordinate}"
    # the test can fail: the hostile text did reach the workbooks (findings, the cover)
    assert {"HYPERLINK", "-2+3", "@SUM", "<script", "<img"} <= seen


def test_html_escapes_district_text(run):
    root, _ = run
    pages = [p for p in _outputs(root) if p.suffix == ".html"]
    assert {p.name for p in pages} >= {"bao_cao.html", "tom_tat.html"}
    escaped = 0
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html.lower(), page
        assert "<img src=x" not in html, page
        escaped += html.count("&lt;script&gt;") + html.count("&lt;img src=x onerror=alert(1)&gt;")
    assert escaped > 0


def test_output_paths_come_from_the_registry(run):
    root, summary = run
    reports = (root / "reports").resolve()
    for path in _outputs(root):
        assert path.resolve().is_relative_to(reports)
        inside = path.relative_to(root / "reports").parts
        # no output name carries the file's or the cover's text
        assert not any(m in part for part in inside for m in ("<", "=", "..\\", "HYPERLINK",
                                                              "script", "onerror")), inside
    assert not list(root.glob("*.xlsx")) and not (root / "script").exists()
    statuses = {f: s for f, s in summary["file_status"].items()}
    assert statuses[FILE_NAME] in ("partial", "rejected")  # its hostile cells are findings


def test_every_template_environment_autoescapes():
    """Each Jinja2 Environment in the pipeline is built with autoescape=True."""
    found = 0
    for source in (ROOT / "pipelines").rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Environment":
                found += 1
                kw = {k.arg: k.value for k in node.keywords}
                assert isinstance(kw.get("autoescape"), ast.Constant) \
                    and kw["autoescape"].value is True, f"{source.name}:{node.lineno}"
    assert found >= 2  # the report and the districts' summaries


def _texts(path: Path) -> list[str]:
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path)
        return [str(c.value) for ws in wb.worksheets for r in ws.iter_rows() for c in r
                if c.value is not None]
    if path.suffix in (".csv", ".html", ".json", ".md", ".txt", ".svg"):
        return [path.read_text(encoding="utf-8", errors="replace")]
    return [path.read_bytes().decode("latin-1")]  # anything else, byte for byte


def test_cover_names_and_phones_stay_out_of_reports(run):
    """The preparer's name and phone on a cover sheet reach no report, table or record;
    only the district's own marked copy (its workbook sent back) may hold them."""
    root, _ = run
    checked = 0
    for path in _outputs(root):
        if path.suffix == ".duckdb" or ("phan_hoi" in path.parts and "318" in str(path)):
            continue
        checked += 1
        for text in _texts(path):
            assert PERSON not in text and PHONE not in text, path
    assert checked >= 5
    # the scan sees covers where they are: Cát Hải's own copy holds its preparer's text
    copy = next(p for p in _outputs(root) if p.suffix == ".xlsx" and "317" in str(p.parent))
    assert FORMULA in _texts(copy)
    with duckdb.connect(str(root / "reports" / "thongke.duckdb"), read_only=True) as con:
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
            flat = " ".join(str(v) for row in rows for v in row)
            assert PERSON not in flat and PHONE not in flat, table


def test_cover_names_and_phones_stay_out_of_prefect(run):
    """Nor do they reach the Prefect server: its artifacts and the run's logs."""
    from prefect.client.orchestration import get_client

    async def read() -> tuple[list, list]:
        async with get_client() as client:
            return await client.read_artifacts(), await client.read_logs()

    artifacts, logs = asyncio.run(read())
    assert artifacts  # the run published its tables and notes
    texts = [str(a.data) + str(a.description) for a in artifacts] + [g.message for g in logs]
    assert not [t for t in texts if PERSON in t or PHONE in t]
