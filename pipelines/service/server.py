"""The standing Prefect server: `start_server()` runs `prefect server start` with its SQLite
database under a project folder (`.prefect/`); `wait_healthy()` and `stop_process()`
(`pipelines/base/processes.py`) wait for its `/api/health` and stop it with its process
group; `run_server()` is `thongke server`."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from pipelines.base.processes import stop_process, wait_healthy
from pipelines.settings import PROJECT_ROOT, environment

SERVER_URL = "http://127.0.0.1:4200"
DEFAULT_HOME = PROJECT_ROOT / ".prefect"  # the standing server's SQLite database and logs
# What every thongke process that talks to a server sets before Prefect reads its settings.
CLIENT_ENV_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}


def server_env(home: Path | str, host: str = "127.0.0.1", port: int = 4200,
               base: dict | None = None) -> dict[str, str]:
    """The environment of `prefect server start`: its home (database, logs), no analytics."""
    env = dict(environment() if base is None else base)
    env["PREFECT_HOME"] = str(home)
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The UI asks its API at PREFECT_UI_API_URL, by default built from these two: set them
    # so another port works. On 0.0.0.0, officers set PREFECT_UI_API_URL (docs/SERVER.md).
    env["PREFECT_SERVER_API_HOST"] = host
    env["PREFECT_SERVER_API_PORT"] = str(port)
    return env


def start_server(home: Path | str = DEFAULT_HOME, host: str = "127.0.0.1", port: int = 4200,
                 env: dict | None = None, log: Path | None = None) -> subprocess.Popen:
    """Start `prefect server start` in its own process group (so `stop_process` ends
    everything it started); its SQLite database lives in `home`. `env`: the environment
    to start from (default: this process's); `log`: a file for its output."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    out = open(log, "ab") if log else None
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", host,
             "--port", str(port)],
            env=server_env(home, host, port, base=env), start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT if out else None)
    finally:
        if out:
            out.close()


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or name to listen on) is this computer only."""
    import ipaddress

    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name or an interface address: reachable from elsewhere


def run_server(home: Path, host: str, port: int, timeout: float = 120.0) -> int:
    """Start the server, say where it is, wait until Ctrl+C or SIGTERM, stop it."""
    def interrupt(signum, frame):  # a service manager's SIGTERM stops it like Ctrl+C
        raise KeyboardInterrupt

    process = start_server(home, host, port)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        try:
            seconds = wait_healthy(f"http://{shown}:{port}", timeout, process)
        except (RuntimeError, TimeoutError) as exc:
            print(f"Lỗi: {exc}", file=sys.stderr)
            return 1
        print(f"Máy chủ Prefect đã chạy ({seconds:.0f} giây): mở http://{shown}:{port} "
              f"(dữ liệu: {home}). Nhấn Ctrl+C để dừng.", flush=True)
        return process.wait() or 0
    except KeyboardInterrupt:
        print("Đang dừng máy chủ Prefect…", file=sys.stderr, flush=True)
        return 0
    finally:
        stop_process(process)
        signal.signal(signal.SIGTERM, previous)
