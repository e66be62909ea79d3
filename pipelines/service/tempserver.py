"""Prefect's temporary API server, started by thongke before Prefect is loaded.

With no API configured, Prefect starts a temporary ("ephemeral") server the first time a
flow needs its API (`prefect.server.api.server.SubprocessASGIServer`). Measured here, in a
`thongke run` that happens about 5.7 s after the process starts, because the class that
starts it lives in the module that imports all of the server's code (3-4 s of imports in
our process, for a server that runs in another one); the server then takes about 7 s more
to answer. `start()` runs the same command with the same environment as the first thing a
run does, before Prefect is imported, so the server's start overlaps our imports and our
process never imports the server's code.

`used()` then decides with Prefect's settings loaded, as Prefect itself would: only when no
API URL is configured anywhere (environment, profile, prefect.toml) and the temporary
server is allowed is ours used; otherwise it is stopped and Prefect does what it is
configured to do. If ours does not answer in time, it is stopped and Prefect starts its
own, as before. THONGKE_TEMPORARY_SERVER=0 turns this off.

The command and the private variables (`PREFECT__SERVER_EPHEMERAL`, ...) are copied from
Prefect 3.9; `tests/test_tempserver.py` fails when Prefect's own command changes. On Linux
the server gets SIGTERM when the process that started it dies, even by SIGKILL, so a killed
run leaves no server behind.
"""
from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipelines.base.processes import die_with_parent, wait_healthy
from pipelines.settings import env_value, environment, set_env

# What Prefect sets for its temporary server (SubprocessASGIServer._run_uvicorn_command).
SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
              "PREFECT__SERVER_FINAL": "1"}
STOP_WAIT = 10.0  # seconds the server may take to shut down before it is killed

_server: TemporaryServer | None = None


def command(port: int, prefect_dir: Path) -> list[str]:
    """The uvicorn command Prefect runs for its temporary server."""
    return [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect_dir),
            "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "error", "--lifespan", "on"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TemporaryServer:
    def __init__(self, process: subprocess.Popen, port: int):
        self.process, self.port = process, port
        self.healthy = False

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def wait(self, timeout: float) -> float:
        """Seconds until it answered; RuntimeError or TimeoutError when it does not."""
        seconds = 0.0 if self.healthy else wait_healthy(self.api_url, timeout, self.process)
        self.healthy = True
        return seconds

    def stop(self) -> None:
        global _server
        if _server is self:
            _server = None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def wanted(enabled: bool = True) -> bool:
    """Whether to start our own: a fresh process (Prefect not loaded yet), no API URL in the
    environment, and not turned off (`enabled`: the setting `temporary_server`). The exact
    decision waits for Prefect's settings."""
    return "prefect" not in sys.modules and not env_value("PREFECT_API_URL") and enabled


def start(log: Path | None = None, enabled: bool = True) -> TemporaryServer | None:
    """Start the server (once per process); None when not wanted or it cannot be started."""
    global _server
    if _server is not None and _server.process.poll() is None:
        return _server
    if not wanted(enabled):
        return None
    spec = importlib.util.find_spec("prefect")  # finds the package without importing it
    if spec is None or spec.origin is None:
        return None
    port = _free_port()
    out = None
    try:
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            out = open(log, "ab")
        process = subprocess.Popen(
            command(port, Path(spec.origin).parent.parent), env={**environment(), **SERVER_ENV},
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT if out else None,
            preexec_fn=die_with_parent if os.name == "posix" else None)
    except OSError:
        return None
    finally:
        if out is not None:
            out.close()
    _server = TemporaryServer(process, port)
    atexit.register(_server.stop)
    return _server


@contextmanager
def used(server: TemporaryServer | None, timeout: float) -> Iterator[str | None]:
    """Point Prefect at `server` while the block runs, if Prefect would have started a
    temporary server; yields the API URL used, or None when Prefect is left to itself."""
    if server is None:
        yield None
        return
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_EPHEMERAL_ENABLED,
        temporary_settings,
    )

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        server.stop()  # a server is configured, or none may be started: not ours to choose
        yield None
        return
    try:
        server.wait(timeout)
    except (RuntimeError, TimeoutError):
        server.stop()  # Prefect starts its own, and reports what goes wrong with it
        yield None
        return
    # in the environment too: processes a run starts (Dask workers) inherit it
    with set_env("PREFECT_API_URL", server.api_url), \
            temporary_settings({PREFECT_API_URL: server.api_url}):
        yield server.api_url
