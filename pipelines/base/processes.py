"""Child processes the CLI and the server commands start: wait for a Prefect server to
answer, stop a process with its process group. Standard library only, so that nothing here
imports Prefect (the temporary server is started before Prefect is loaded)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request


def wait_healthy(url: str, timeout: float = 60.0,
                 process: subprocess.Popen | None = None) -> float:
    """Poll `<url>/api/health` until it answers 200; the seconds it took. `url` is the
    server's address, with or without `/api`. Stops early when `process` has exited."""
    base = url.rstrip("/").removesuffix("/api")
    start = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - start
        except (urllib.error.URLError, OSError):
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"máy chủ Prefect đã dừng (mã thoát {process.returncode}) "
                               f"trước khi trả lời tại {base}")
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"máy chủ Prefect không trả lời tại {base}/api/health sau "
                               f"{timeout:g} giây")
        time.sleep(0.25)


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> int | None:
    """SIGTERM the process and its process group, wait, then SIGKILL what is left."""
    def signal_group(sig: int) -> None:
        try:
            os.killpg(process.pid, sig)  # started with start_new_session: pgid == pid
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.send_signal(sig)
        except ProcessLookupError:
            pass

    if process.poll() is None:
        signal_group(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            signal_group(signal.SIGKILL)
            process.wait(5)
    signal_group(signal.SIGKILL)  # children left in the group (a uvicorn worker)
    return process.returncode


def die_with_parent(sig: int = signal.SIGTERM, parent: int = 0) -> None:
    """In a child process: receive `sig` when the process that started it dies, even by
    SIGKILL (Linux PR_SET_PDEATHSIG; elsewhere nothing), and exit at once if `parent`
    (its pid) is already gone. Safe between fork and exec (`preexec_fn`)."""
    if sys.platform == "linux":
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)
    if parent and os.getppid() != parent:
        os._exit(1)
