"""One settings module: every environment variable is read in `pipelines/settings.py` and
handed down (issue 14)."""
from __future__ import annotations

import re
from pathlib import Path

from pipelines.settings import SCHEMAS_DATA, get_settings

ROOT = Path(__file__).resolve().parent.parent
READS = re.compile(r"\bos\.environ\b|\bgetenv\b|\benviron\.get\b")


def test_nothing_but_settings_reads_the_environment():
    offenders = []
    for top in ("pipelines", "schemas"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if path == ROOT / "pipelines" / "settings.py":
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if READS.search(line.split("#")[0]):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


def test_the_grep_sees_a_read():
    assert READS.search('x = os.environ.get("THONGKE_UNITS")')
    assert READS.search("os.getenv('A')") and not READS.search("environment()")


def test_every_variable_reaches_the_settings(monkeypatch, tmp_path):
    units, checks, schedules = (tmp_path / n for n in ("u.csv", "c.toml", "s.toml"))
    for name, value in {"THONGKE_UNITS": units, "THONGKE_CHECKS": checks,
                        "THONGKE_SCHEDULES": schedules, "THONGKE_RECORD_TIMEOUT": "2.5",
                        "THONGKE_RENDER_HELPER": "0", "THONGKE_TEMPORARY_SERVER": "off",
                        "THONGKE_DASK_ADDRESS": "tcp://10.0.0.1:8786",
                        "THONGKE_MAX_UNPACKED_MB": "7"}.items():
        monkeypatch.setenv(name, str(value))
    s = get_settings()
    assert (s.units_path, s.checks_path, s.schedules_path) == (units, checks, schedules)
    assert (s.record_timeout, s.render_helper, s.temporary_server) == (2.5, False, False)
    assert s.dask_address == "tcp://10.0.0.1:8786" and s.limits.max_unpacked_mb == 7.0


def test_defaults_are_the_shipped_files(monkeypatch):
    for name in ("THONGKE_UNITS", "THONGKE_CHECKS", "THONGKE_SCHEDULES",
                 "THONGKE_RECORD_TIMEOUT", "THONGKE_RENDER_HELPER", "THONGKE_DASK_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    s = get_settings()
    assert s.units_path is None and s.checks_path == SCHEMAS_DATA / "checks.toml"
    assert s.schedules_path == SCHEMAS_DATA / "schedules.toml" and s.record_timeout == 120.0
    assert s.render_helper and s.dask_address is None
    assert s.programme().registry.top_code == "31"  # Hải Phòng


def test_another_units_file_changes_the_check_cache_key(tmp_path):
    from pipelines.base.cache import check_key_of

    units = tmp_path / "units.csv"
    units.write_text("a", encoding="utf-8")
    before = check_key_of("sha", "f.xlsx", "2017", 50, 20000, 200, units)
    assert before != check_key_of("sha", "f.xlsx", "2017", 50, 20000, 200, None)
    units.write_text("bb", encoding="utf-8")
    assert before != check_key_of("sha", "f.xlsx", "2017", 50, 20000, 200, units)
