"""The watcher on raw/: which paths it handles, what `handle` writes for real workbooks, and
the real watcher in a thread seeing a dropped workbook's feedback appear."""
from __future__ import annotations

import os
import shutil
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from builders import column_of, edit, unit_row, write_clean
from hypothesis import given, settings as hsettings, strategies as st

from pipelines.service import watch as W
from pipelines.service import watch_batch
from pipelines.settings import get_settings
from schemas.periods import parse_period
from schemas.units import load_registry

P = "2017"
RAW = Path("/srv/thongke/raw")
GN = "4. Giảm nghèo"
FOLDERS = {"303": "303_quan_hong_bang", "315": "315_huyen_tien_lang", "316": "316_huyen_vinh_bao",
           "317": "317_huyen_cat_hai", "318": "318_huyen_bach_long_vi"}


# --------------------------------------------------------------------------- the filter


@pytest.mark.parametrize("rel, expected", [
    ("2017/Bao cao.xlsx", "2017"),
    ("2017/BAO CAO.XLSX", "2017"),
    ("2017-H1/Tiên Lãng 6 tháng.xlsm", "2017-H1"),
    ("2017/bao cao cu.xls", "2017"),
    ("2017/Tiên Lãng/lần 2/Bao cao.xlsx", "2017"),  # sub-folders count, as in the run
    ("2017/~$Bao cao.xlsx", None),  # Excel's owner file while the workbook is open
    ("2017/.~lock.Bao cao.xlsx#", None),  # LibreOffice's lock
    ("2017/.#Bao cao.xlsx", None),  # Emacs' lock
    ("2017/.Bao cao.xlsx", None),  # hidden
    ("2017/._Bao cao.xlsx", None),  # macOS resource fork
    ("2017/~WRL0001.tmp", None),  # Excel's save dance
    ("2017/~Bao cao.xlsx", None),  # a backup
    ("2017/Bao cao.xlsx~", None),
    ("2017/Bao cao.tmp", None),
    ("2017/Bao cao.xlsx.tmp", None),
    ("2017/Bao cao.xlsx.crdownload", None),
    ("2017/Bao cao.xlsx.part", None),
    ("2017/A1B2C3D4", None),  # Excel's extensionless temp file
    ("2017/Bao cao.pdf", None),  # not a workbook: the run accounts for it
    ("2017/Bao cao.csv", None),
    ("2017/.tmp/Bao cao.xlsx", None),  # inside a hidden folder
    ("2017/__MACOSX/._Bao cao.xlsx", None),
    ("Bao cao.xlsx", None),  # directly in raw/
    ("muc_tieu.xlsx", None),  # the targets file
    ("2017", None),  # the period folder itself
    ("Năm 2017/Bao cao.xlsx", None),  # not the folder the run reads
    ("2017-h1/Bao cao.xlsx", None),
    ("2017 /Bao cao.xlsx", None),
    ("2015/Bao cao.xlsx", None),  # outside the programme's years
    ("2017-H2/Bao cao.xlsx", None),
    ("cu/2017/Bao cao.xlsx", None),  # a period folder elsewhere
    ("bao cao/Bao cao.xlsx", None),
])
def test_relevant(rel, expected):
    assert W.relevant(RAW / rel, RAW) == expected


def test_relevant_outside_raw_and_relative_paths():
    assert W.relevant(Path("/srv/other/2017/Bao cao.xlsx"), RAW) is None
    assert W.relevant(Path("/srv/thongke/raw2017/x.xlsx"), RAW) is None
    assert W.relevant(RAW / "2017" / ".." / ".." / "x" / "2017" / "a.xlsx", RAW) is None
    here = Path.cwd()
    assert W.relevant(Path("raw/2017/a.xlsx"), Path("raw")) == "2017"
    assert W.relevant(here / "raw/2017/a.xlsx", Path("raw")) == "2017"


NAME = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\\x00"),
               min_size=1, max_size=30)


@hsettings(max_examples=300, deadline=None)
@given(stem=NAME, suffix=st.sampled_from([".xlsx", ".xlsm", ".xls", ".XLSX"]))
def test_any_workbook_name_is_judged_by_its_start_and_end(stem, suffix):
    name = stem + suffix
    got = W.relevant(RAW / "2017" / name, RAW)
    if stem.strip().startswith((".", "~")) or not stem.strip():
        assert got is None
    else:
        assert got == "2017"
    assert W.relevant(RAW / "2017" / ("~$" + name), RAW) is None
    assert W.relevant(RAW / "2017" / ("." + name), RAW) is None
    assert W.relevant(RAW / "2017" / (name + ".part"), RAW) is None
    assert W.relevant(RAW / "2017" / (name + "~"), RAW) is None


@hsettings(max_examples=300, deadline=None)
@given(folder=NAME, name=NAME)
def test_random_folders_and_suffixes(folder, name):
    got = W.relevant(RAW / folder / name, RAW)
    if folder.strip() in (".", ".."):
        return
    if got is not None:  # only a canonical period folder and a workbook name
        assert folder == got and str(parse_period(folder)) == folder
        assert Path(name).suffix.lower() in W.WORKBOOK_SUFFIXES
        assert not name.startswith(("~", "."))


def test_group_changes():
    got = W.group_changes([RAW / "2017/b.xlsx", str(RAW / "2017/a.xlsx"), RAW / "2017/~$a.xlsx",
                           RAW / "2017-H1/x.xlsx", RAW / "2017/b.xlsx", RAW / "x/y.xlsx"], RAW)
    assert got == {"2017": [RAW / "2017/a.xlsx", RAW / "2017/b.xlsx"],
                   "2017-H1": [RAW / "2017-H1/x.xlsx"]}


def test_in_period_folder():
    assert W.in_period_folder(RAW / "2017", RAW) == "2017"
    assert W.in_period_folder(RAW / "2017/Tiên Lãng", RAW) == "2017"
    assert W.in_period_folder(RAW / "2017/.cache", RAW) is None
    assert W.in_period_folder(RAW / "cu", RAW) is None
    assert W.in_period_folder(RAW, RAW) is None


# --------------------------------------------------------------------------- pure output


def test_describe_lines():
    lines = W.describe([
        {"file": "Bao cao.xlsx", "district_name": "Huyện Tiên Lãng", "status": "partial",
         "errors": 2, "warnings": 1, "feedback": Path("/x/reports/2017/phan_hoi/315_huyen_tien_lang"),
         "history": True},
        {"file": "la.xlsx", "district_name": "", "status": "rejected", "errors": 1234,
         "warnings": 0, "feedback": Path("/y/khong_xac_dinh")},
        {"file": "cu.xlsx", "district_name": "Huyện Cát Hải", "deleted": True,
         "feedback": Path("/x/reports/2017/phan_hoi/317_huyen_cat_hai")},
        {"file": "x\x1b[31m.xlsx", "period": "2017", "failed": "PermissionError: denied"},
        {"file": "la.xlsx", "district_name": "", "deleted": True, "feedback": None},
        {"file": "b.xlsx", "district_name": "Quận Lê Chân", "status": "superseded", "errors": 0,
         "warnings": 0, "feedback": Path("/x/f"), "history": False},
    ], base=Path("/x"))
    assert lines[0] == ("Đã kiểm tra “Bao cao.xlsx” (Huyện Tiên Lãng): 2 lỗi, 1 cảnh báo, "
                        "tiếp nhận một phần; phản hồi: reports/2017/phan_hoi/315_huyen_tien_lang")
    assert lines[1] == ("Đã kiểm tra “la.xlsx” (chưa xác định được đơn vị): 1.234 lỗi, 0 cảnh báo, "
                        "bị từ chối; phản hồi: /y/khong_xac_dinh")
    assert lines[2] == ("Đã bỏ “cu.xlsx” khỏi thư mục (Huyện Cát Hải); phản hồi cập nhật: "
                        "reports/2017/phan_hoi/317_huyen_cat_hai")
    assert lines[3].startswith("Không xử lý được “x?[31m.xlsx” (kỳ 2017)") and "\x1b" not in lines[3]
    assert lines[4] == "Đã bỏ “la.xlsx” khỏi thư mục (tệp chưa được kiểm tra trước đó)."
    assert "đã được thay thế" in lines[5] and "sổ lưu" in lines[6]


def test_event_payload_and_resource():
    results = [{"file": "a.xlsx", "sha256": "ab", "district_code": "315", "status": "partial",
                "errors": 2, "warnings": 1, "deleted": False, "feedback": Path("/f"), "period": P},
               {"file": "b.xlsx", "period": P, "failed": "boom"}]
    assert W.event_resource(P) == {"prefect.resource.id": "thongke.period.2017", "thongke.period": P}
    assert W.event_payload(P, results) == {
        "period": P, "districts": ["315"],
        "files": [{"file": "a.xlsx", "sha256": "ab", "district_code": "315", "status": "partial",
                   "errors": 2, "warnings": 1, "deleted": False}]}


def test_emit_change_sends_one_event_and_never_raises(monkeypatch):
    import prefect.events

    sent = []
    monkeypatch.setattr(W, "api_configured", lambda: True)
    monkeypatch.setattr(prefect.events, "emit_event", lambda **kw: sent.append(kw) or object())
    results = [{"file": "a.xlsx", "sha256": "ab", "district_code": "315", "status": "accepted",
                "errors": 0, "warnings": 0, "deleted": False}]
    assert W.emit_change(P, results) is True
    assert sent == [{"event": W.EVENT, "resource": W.event_resource(P),
                     "payload": W.event_payload(P, results)}]

    def boom(**kw):
        raise RuntimeError("no server")

    monkeypatch.setattr(prefect.events, "emit_event", boom)
    assert W.emit_change(P, results) is False
    monkeypatch.setattr(W, "api_configured", lambda: False)
    monkeypatch.setattr(prefect.events, "emit_event", lambda **kw: pytest.fail("sent with no API"))
    assert W.emit_change(P, results) is False


def test_api_configured_follows_prefect_settings():
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert W.api_configured() is False
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        assert W.api_configured() is True


# --------------------------------------------------------------------------- handle


def first_unit(district: str, sheet: str = "GN") -> str:
    from schemas.catalogue import load_catalogue

    holds = load_catalogue().sheet(sheet).holds
    return next(u.code for u in load_registry().units(district, parse_period(P)) if holds(u.type))


def with_error(path: Path, district: str, **kw) -> Path:
    """A workbook with one R07 error (the poverty balance) on the first unit of the GN sheet."""
    write_clean(path, district, P, **kw)
    unit = first_unit(district)
    return edit(path, **{f"{GN}!{column_of('GN', 'GN06')}{unit_row(district, P, 'GN', unit)}": 99999})


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, Path]:
    """Workbooks built once, copied into the tests' raw folders: `clean_<district>` and
    `error_<district>` (one R07 error)."""
    folder = tmp_path_factory.mktemp("books")
    out = {f"clean_{d}": write_clean(folder / f"clean_{d}.xlsx", d, P) for d in ("303", "316", "317")}
    out |= {f"error_{d}": with_error(folder / f"error_{d}.xlsx", d) for d in ("315", "317", "318")}
    return out


@pytest.fixture
def place(tmp_path):
    raw, reports = tmp_path / "raw", tmp_path / "reports"
    (raw / P).mkdir(parents=True)
    return get_settings(raw_dir=raw, reports_dir=reports)


def phan_hoi(s, district: str = "", period: str = P) -> Path:
    return s.reports_dir / period / "phan_hoi" / (FOLDERS[district] if district else "khong_xac_dinh")


def test_handle_writes_the_districts_feedback_only(place, books):
    s = place
    other = phan_hoi(s, "303")
    other.mkdir(parents=True)
    (other / "tom_tat.html").write_text("từ lần chạy trước")
    (other / "1_danh_dau.xlsx").write_bytes(b"old")
    path = shutil.copy(books["error_315"], s.raw_dir / P / "Bao cao Tien Lang.xlsx")
    shutil.copy(books["clean_316"], s.raw_dir / P / "Vinh Bao.xlsx")
    got = W.handle(P, [path], s, emit=False)
    assert got[0]["errors"] >= 1  # R07, and whatever else the balance breaks
    assert got == [{"file": "Bao cao Tien Lang.xlsx", "period": P, "sha256": got[0]["sha256"],
                    "district_code": "315", "district_name": "Huyện Tiên Lãng", "status": "partial",
                    "errors": got[0]["errors"], "warnings": 0, "feedback": phan_hoi(s, "315"), "deleted": False,
                    "history": True}]
    assert len(got[0]["sha256"]) == 64
    summary = (phan_hoi(s, "315") / "tom_tat.html").read_text()
    assert "Bao cao Tien Lang.xlsx" in summary and "R07" in summary
    assert (phan_hoi(s, "315") / "1_danh_dau.xlsx").stat().st_size > 0
    assert (other / "tom_tat.html").read_text() == "từ lần chạy trước"  # not touched
    assert (other / "1_danh_dau.xlsx").read_bytes() == b"old"
    assert not phan_hoi(s, "316").exists()  # checked (for statuses) but not changed
    assert sorted(p.name for p in (s.reports_dir / P / "phan_hoi").iterdir()) == [
        FOLDERS["303"], FOLDERS["315"]]


def test_handle_decides_statuses_over_the_districts_files(place):
    s = place
    old = write_clean(s.raw_dir / P / "a lan 1.xlsx", "317", P, cover={"Ngày lập": date(2018, 1, 5)})
    new = with_error(s.raw_dir / P / "sub" / "z lan 2.xlsx", "317", cover={"Ngày lập": date(2018, 1, 9)})
    twin = shutil.copy(new, s.raw_dir / P / "b ban sao.xlsx")
    got = {r["file"]: r["status"] for r in W.handle(P, [new, twin], s, emit=False)}
    assert got == {os.path.join("sub", "z lan 2.xlsx"): "duplicate", "b ban sao.xlsx": "partial"}
    summary = (phan_hoi(s, "317") / "tom_tat.html").read_text()
    assert "a lan 1.xlsx" in summary and "Đã được thay thế" in summary
    assert [p.name for p in phan_hoi(s, "317").glob("*_danh_dau.xlsx")] != []
    assert old.exists()


def test_handle_deletion_and_a_file_whose_district_becomes_known(place, books):
    s = place
    cache = watch_batch.Cache()
    junk = s.raw_dir / P / "Bao cao.xlsx"
    junk.write_bytes(b"not a workbook")
    got = W.handle(P, [junk], s, emit=False, cache=cache, retry_wait=0)
    assert got[0]["district_code"] == "" and got[0]["status"] == "rejected"
    assert got[0]["feedback"] == phan_hoi(s) and (phan_hoi(s) / "tom_tat.html").exists()

    shutil.copy(books["error_318"], junk)  # resent, now readable: leaves khong_xac_dinh/ for its district
    got = W.handle(P, [junk], s, emit=False, cache=cache)
    assert got[0]["district_code"] == "318" and got[0]["feedback"] == phan_hoi(s, "318")
    assert not phan_hoi(s).exists()
    assert (phan_hoi(s, "318") / "1_danh_dau.xlsx").exists()

    junk.unlink()  # taken back: the district's summary says nothing was received
    got = W.handle(P, [junk], s, emit=False, cache=cache)
    assert got == [{"file": "Bao cao.xlsx", "period": P, "sha256": "", "district_code": "318",
                    "district_name": "Huyện Bạch Long Vĩ", "status": "", "errors": 0, "warnings": 0,
                    "feedback": phan_hoi(s, "318"), "deleted": True, "history": True}]
    assert "Chưa nhận được báo cáo" in (phan_hoi(s, "318") / "tom_tat.html").read_text()
    assert not (phan_hoi(s, "318") / "1_danh_dau.xlsx").exists()


def test_handle_retries_a_half_written_workbook_once(place, books, monkeypatch):
    s = place
    full = books["clean_303"].read_bytes()
    path = s.raw_dir / P / "dang chep.xlsx"
    path.write_bytes(full[: len(full) // 3])  # the copy is not finished yet
    waits = []

    def finish(seconds):
        waits.append(seconds)
        path.write_bytes(full)

    monkeypatch.setattr(watch_batch, "_sleep", finish)
    got = W.handle(P, [path], s, emit=False, retry_wait=0.5)
    assert waits == [0.5]
    assert got[0]["status"] == "accepted" and got[0]["errors"] == 0


def test_handle_a_locked_record_leaves_history_out(place, books, monkeypatch):
    from pipelines.record import db as record

    s = place
    s.record_path.parent.mkdir(parents=True)
    s.record_path.write_bytes(b"")

    def locked(path):
        raise OSError("Could not set lock on file")

    monkeypatch.setattr(record, "read_values", locked)
    monkeypatch.setattr(watch_batch, "_sleep", lambda seconds: None)
    path = shutil.copy(books["clean_303"], s.raw_dir / P / "a.xlsx")
    got = W.handle(P, [path], s, emit=False)
    assert got[0]["history"] is False and got[0]["status"] == "accepted"
    assert (phan_hoi(s, "303") / "tom_tat.html").exists()


def test_handle_waits_for_a_run_of_the_period(place, books):
    from pipelines.base.lock import PeriodBusy, period_lock

    path = shutil.copy(books["clean_303"], place.raw_dir / P / "a.xlsx")
    with period_lock(place.reports_dir, P, timeout=1):  # a run of the period is going
        with pytest.raises(PeriodBusy):
            W.handle(P, [path], place.with_overrides(lock_timeout=0.2), emit=False)
    assert not phan_hoi(place, "303").exists()

    held, done = threading.Event(), threading.Event()

    def run():  # a run holding the lock for 0.5 s
        with period_lock(place.reports_dir, P, timeout=1):
            held.set()
            time.sleep(0.5)
            done.set()

    threading.Thread(target=run).start()
    assert held.wait(5)
    got = W.handle(P, [path], place.with_overrides(lock_timeout=5), emit=False)
    assert done.is_set()  # it waited for the run to finish
    assert got[0]["status"] == "accepted" and (phan_hoi(place, "303") / "tom_tat.html").exists()


# --------------------------------------------------------------------------- the watcher

TIMEOUT = 20.0


def wait_for(predicate, timeout: float = TIMEOUT, step: float = 0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = predicate()
        if got:
            return got
        time.sleep(step)
    return predicate()


class Watcher:
    """`watch` in a thread, with every batch kept."""

    def __init__(self, s, books: dict[str, Path], emit: bool, no_api: bool = False):
        self.s, self.books, self.stop, self.batches, self.errors = s, books, threading.Event(), [], []
        self.thread = threading.Thread(target=self._run, args=(emit, no_api), daemon=True)

    def _run(self, emit: bool, no_api: bool):
        try:
            if no_api:  # no Prefect API in this thread, whatever the session set up
                from prefect.settings import PREFECT_API_URL, temporary_settings

                with temporary_settings(restore_defaults={PREFECT_API_URL}):
                    self._watch(emit)
            else:
                self._watch(emit)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            self.errors.append(exc)

    def _watch(self, emit: bool):
        W.watch(self.s.raw_dir, self.s, debounce_ms=1000, step_ms=150, stop_event=self.stop,
                emit=emit, on_batch=self.batches.append, retry_wait=0.3)

    def results(self, period: str = P) -> list[dict]:
        """Every result of a period so far (the probe's period is left out)."""
        return [r for batch in self.batches for r in batch if r["period"] == period]

    def files(self, period: str = P) -> list[str]:
        return [r["file"] for r in self.results(period)]

    def start(self):
        """Start, and wait until a probe workbook in another period is seen: from then
        on the watcher's notifications are in place."""
        self.thread.start()
        probe = self.s.raw_dir / "2016" / "probe.xlsx"
        probe.parent.mkdir(parents=True)
        content = self.books["clean_303"].read_bytes()  # readable: no retry (R05, wrong period)
        for i in range(int(TIMEOUT / 0.5)):
            probe.write_bytes(content)
            if wait_for(lambda: self.files("2016"), timeout=0.5):
                break
        assert self.files("2016"), self.errors
        return self

    def close(self):
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the watcher did not stop"
        assert not self.errors, self.errors


@pytest.fixture
def watcher(place, books):
    w = Watcher(place, books, emit=False).start()
    yield w
    w.close()


def test_watcher_sees_a_careful_copy_and_a_direct_write(watcher):
    s = watcher.s
    part = s.raw_dir / P / "Bao cao.xlsx.part"
    shutil.copy(watcher.books["error_315"], part)
    t0 = time.monotonic()
    part.rename(s.raw_dir / P / "Bao cao.xlsx")
    summary = phan_hoi(s, "315") / "tom_tat.html"
    assert wait_for(summary.exists), watcher.batches
    latency = time.monotonic() - t0
    assert wait_for(lambda: watcher.files() == ["Bao cao.xlsx"]), watcher.batches
    assert (phan_hoi(s, "315") / "1_danh_dau.xlsx").exists()
    assert "Bao cao.xlsx" in summary.read_text()
    print(f"careful copy: feedback after {latency:.2f} s")

    t0 = time.monotonic()
    write_clean(s.raw_dir / P / "Bach Long Vi.xlsx", "318", P)  # written in place
    assert wait_for((phan_hoi(s, "318") / "tom_tat.html").exists), watcher.batches
    print(f"direct write: feedback after {time.monotonic() - t0:.2f} s")
    last = wait_for(lambda: [r for b in watcher.batches for r in b if r["file"] == "Bach Long Vi.xlsx"])
    assert last[-1]["status"] == "accepted" and last[-1]["district_code"] == "318"
    assert all(not r.get("failed") for r in watcher.results())


def test_watcher_ignores_temp_and_lock_files(watcher):
    s = watcher.s
    source = watcher.books["clean_316"]
    shutil.copy(source, s.raw_dir / P / "~$Bao cao.xlsx")  # a real workbook under a temp name
    (s.raw_dir / P / ".~lock.Bao cao.xlsx#").write_text("x")
    shutil.copy(source, s.raw_dir / P / "Bao cao.xlsx.crdownload")
    time.sleep(0.8)  # well over the watcher's quiet time (0.15 s)
    assert watcher.results() == []
    assert not (s.reports_dir / P).exists()
    # still alive, and the temp files are neither handled nor counted when a real one comes
    shutil.copy(source, s.raw_dir / P / "Vinh Bao.xlsx")
    assert wait_for((phan_hoi(s, "316") / "tom_tat.html").exists)
    assert wait_for(lambda: watcher.files() == ["Vinh Bao.xlsx"]), watcher.batches
    assert watcher.results()[0]["status"] == "accepted"  # not a duplicate of the ~$ copy
    assert "~$" not in (phan_hoi(s, "316") / "tom_tat.html").read_text()


def test_watcher_survives_an_excel_save_and_a_bad_file(watcher):
    s = watcher.s
    folder = s.raw_dir / P
    shutil.copy(watcher.books["clean_317"], folder / "Cat Hai.xlsx")
    assert wait_for((phan_hoi(s, "317") / "tom_tat.html").exists)
    assert wait_for(lambda: watcher.files() == ["Cat Hai.xlsx"])
    seen = len(watcher.results())
    # Excel's save: write a temp file, move the original aside, rename, delete the old one
    shutil.copy(watcher.books["error_317"], folder / "~WRL0001.tmp")
    (folder / "Cat Hai.xlsx").rename(folder / "~WRL0002.tmp")
    (folder / "~WRL0001.tmp").rename(folder / "Cat Hai.xlsx")
    (folder / "~WRL0002.tmp").unlink()
    assert wait_for(lambda: any(r["file"] == "Cat Hai.xlsx" and r["errors"] > 0
                                for r in watcher.results()[seen:])), watcher.batches
    assert all(r["file"] == "Cat Hai.xlsx" and not r.get("failed") and not r["deleted"]
               for r in watcher.results()[seen:])
    assert wait_for((phan_hoi(s, "317") / "1_danh_dau.xlsx").exists)
    (folder / "hong.xlsx").write_bytes(b"PK\x03\x04 broken")  # never becomes a workbook
    assert wait_for(lambda: any(r["file"] == "hong.xlsx" for r in watcher.results()))
    bad = next(r for r in watcher.results() if r["file"] == "hong.xlsx")
    assert bad["status"] == "rejected" and bad["feedback"] == phan_hoi(s)
    assert (phan_hoi(s) / "tom_tat.html").exists()


def test_watcher_with_emit_and_no_prefect_server(place, books):
    s = place
    w = Watcher(s, books, emit=True, no_api=True).start()
    try:
        t0 = time.monotonic()
        shutil.copy(books["clean_303"], s.raw_dir / P / "Hong Bang.xlsx")
        assert wait_for((phan_hoi(s, "303") / "tom_tat.html").exists), (w.batches, w.errors)
        assert time.monotonic() - t0 < 10  # no temporary Prefect server started on the way
        assert wait_for(lambda: w.files() == ["Hong Bang.xlsx"])
    finally:
        t0 = time.monotonic()
        w.close()
        assert time.monotonic() - t0 < 5


def test_watch_needs_the_raw_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        W.watch(tmp_path / "missing", get_settings(raw_dir=tmp_path / "missing"), emit=False)
