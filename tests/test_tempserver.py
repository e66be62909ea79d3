"""The temporary Prefect server thongke starts itself for a run with no API configured
(pipelines/service/tempserver.py): the same command as Prefect's own, used only when Prefect would
have started one, gone when the run ends or is killed."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from builders import write_clean
from pipelines.service import tempserver

ROOT = Path(__file__).resolve().parent.parent
ENTRY = Path(sys.executable).parent / "thongke"  # the installed command, as officers run it
THONGKE = [str(ENTRY)] if ENTRY.exists() else [sys.executable, "-c",
                                               "from pipelines.cli import main; main()"]
APP = "prefect.server.api.server:create_app"


def test_command_is_prefects_own(monkeypatch):
    """Prefect's SubprocessASGIServer runs this command with these variables; when an
    upgrade changes either, ours must follow."""
    import prefect
    from prefect.server.api import server

    seen = {}

    def fake_popen(args, env=None, **kwargs):
        seen.update(args=args, env=env)
        return None

    monkeypatch.setattr(server.subprocess, "Popen", fake_popen)
    server.SubprocessASGIServer(port=54321)._run_uvicorn_command()
    assert seen["args"] == tempserver.command(54321, Path(prefect.__module_path__).parent)
    assert {k: seen["env"][k] for k in tempserver.SERVER_ENV} == tempserver.SERVER_ENV


def test_wanted_only_in_a_fresh_process_without_an_api(monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    from pipelines.settings import get_settings

    def wanted() -> bool:
        return tempserver.wanted(get_settings().temporary_server)

    monkeypatch.delenv("THONGKE_TEMPORARY_SERVER", raising=False)
    assert not wanted()  # Prefect is loaded in this process
    monkeypatch.delitem(sys.modules, "prefect")
    assert wanted()
    monkeypatch.setenv("THONGKE_TEMPORARY_SERVER", "0")
    assert not wanted()
    monkeypatch.setenv("THONGKE_TEMPORARY_SERVER", "1")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert not wanted()


def test_used_leaves_a_configured_api_alone(monkeypatch):
    """With an API URL configured, ours is stopped and the settings are untouched."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    server = tempserver.TemporaryServer(process, 1)
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        with tempserver.used(server, timeout=5) as url:
            assert url is None
            assert PREFECT_API_URL.value() == "http://127.0.0.1:4200/api"
    assert process.poll() is not None  # stopped


def _servers(home: Path) -> list[psutil.Process]:
    """Temporary servers whose Prefect home is `home` (so only this test's)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if APP in " ".join(p.info["cmdline"] or []) \
                    and p.environ().get("PREFECT_HOME") == str(home):
                found.append(p)
        except psutil.Error:
            continue
    return found


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A raw folder of two workbooks and the environment of a fresh officer's shell (no
    Prefect setting from this process), with its own Prefect home."""
    base = tmp_path_factory.mktemp("tempserver")
    for code, name in (("318", "Bach Long Vi"), ("317", "Cat Hai")):
        write_clean(base / "raw" / "2017" / f"{name}.xlsx", code, "2017")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "THONGKE_"))}
    env.update(PREFECT_HOME=str(base / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               THONGKE_PDF="0", PYTHONPATH=str(ROOT))
    return base, env


@pytest.mark.slow
@pytest.mark.server
def test_a_run_uses_its_own_server_and_stops_it(fresh):
    base, env = fresh
    reports = base / "reports"
    done = subprocess.run([*THONGKE, "run", "-p", "2017", "--raw-dir", str(base / "raw"),
                           "--reports-dir", str(reports)], env=env, cwd=base,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Starting temporary server" not in done.stdout + done.stderr  # not Prefect's own
    assert (reports / ".cache" / "prefect-temporary-server.log").exists()
    run = json.loads((reports / "2017" / "run.json").read_text())
    assert run["files_read"] == 2
    assert _servers(base / "prefect-home") == []


@pytest.mark.slow
@pytest.mark.server
def test_a_killed_run_leaves_no_server(fresh):
    base, env = fresh
    run = subprocess.Popen([*THONGKE, "run", "-p", "2017", "--raw-dir", str(base / "raw"),
                            "--reports-dir", str(base / "reports-killed")], env=env, cwd=base,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (servers := _servers(base / "prefect-home")):
            assert run.poll() is None and time.monotonic() < deadline, "no server started"
            time.sleep(0.1)
        assert [s.ppid() for s in servers] == [run.pid]
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait(10)
    gone, alive = psutil.wait_procs(servers, timeout=20)
    assert alive == [], f"still running after its run was killed: {alive}"
