"""Process helpers for bench/run.py: time a whole process, poll its tree's memory, and run
a standing Prefect server for the length of a benchmark; and a few small helpers."""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

MIB = 1024 * 1024
RSS_EVERY = 0.02  # seconds between memory samples of the known processes
TREE_EVERY = 0.1  # seconds between scans for new descendants (a scan reads all of /proc)
ORPHAN_GRACE = 5.0  # seconds descendants may take to exit after the process itself


def is_server(cmdline: list[str]) -> bool:
    """A Prefect API server: uvicorn, or `prefect server start` (the temporary one too)."""
    text = " ".join(cmdline).lower()
    return "uvicorn" in text or ("prefect" in text and "server" in text and "start" in text)


@dataclass
class Measured:
    seconds: float
    rc: int | None  # None: timed out and killed
    peak_mib: float
    servers: list[str] = field(default_factory=list)  # server processes seen in the tree
    orphans: list[str] = field(default_factory=list)  # descendants still alive afterwards


class TreePoller(threading.Thread):
    """Samples the summed RSS of a process and its descendants until told to stop."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.known: dict[int, psutil.Process] = {pid: self.root}
        self.seen: dict[int, list[str]] = {}
        self.peak = 0
        self.done = threading.Event()

    def scan(self) -> None:
        try:
            for child in self.root.children(recursive=True):
                if child.pid not in self.known:
                    self.known[child.pid] = child
                    try:
                        self.seen[child.pid] = child.cmdline()
                    except psutil.Error:
                        self.seen[child.pid] = []
        except psutil.Error:
            pass

    def run(self) -> None:
        last_scan = 0.0
        while not self.done.is_set():
            now = time.monotonic()
            if now - last_scan >= TREE_EVERY:
                self.scan()
                last_scan = now
            total = 0
            for pid, proc in list(self.known.items()):
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    self.known.pop(pid, None)
            self.peak = max(self.peak, total)
            self.done.wait(RSS_EVERY)


def kill_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM to the process group, then SIGKILL if it is still there after `grace`."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def kill_pids(pids: list[int]) -> None:
    for pid in pids:
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass


def measure(cmd: list[str], env: dict, log: Path, cwd: Path, timeout: float) -> Measured:
    """Run `cmd` to the end (stdout and stderr to `log`), timing it and polling its tree.
    A descendant still alive ORPHAN_GRACE seconds after the exit (an orphaned temporary
    server, say) is reported and killed."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        poller = TreePoller(proc.pid)
        poller.start()
        try:
            rc: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
            kill_group(proc)
        except BaseException:  # KeyboardInterrupt: do not leave the child running
            kill_group(proc)
            raise
        finally:
            seconds = time.perf_counter() - start
            poller.done.set()
            poller.join()
    servers = [" ".join(c) for c in poller.seen.values() if is_server(c)]
    deadline = time.monotonic() + ORPHAN_GRACE  # helpers (forkserver, resource tracker)
    while True:  # exit on their own shortly after their parent
        alive = [pid for pid in poller.seen if psutil.pid_exists(pid) and _same(pid, poller)]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    orphans = [" ".join(poller.seen[pid])[:120] for pid in alive]
    kill_pids(alive)
    return Measured(seconds, rc, poller.peak / MIB, servers, orphans)


def _same(pid: int, poller: TreePoller) -> bool:
    """Is `pid` still the process the poller saw (not a reused pid, not a zombie)?"""
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and proc.cmdline() == poller.seen[pid]
    except psutil.Error:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StandingServer:
    """`prefect server start` on a free port with its own PREFECT_HOME; `seconds` is the
    time from launch to the first good answer of /api/health."""

    def __init__(self, prefect: Path, home: Path, env: dict, log: Path, cwd: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        home.mkdir(parents=True, exist_ok=True)
        self.new_db = not any(home.glob("*.db"))
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        self._out = log.open("w")
        start = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env={**env, "PREFECT_HOME": str(home)}, cwd=cwd, stdout=self._out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self._wait_healthy(timeout=180)
        except BaseException:
            self.stop()
            raise
        self.seconds = time.perf_counter() - start

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prefect server exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"prefect server did not answer /api/health in {timeout:.0f} s")

    def stop(self) -> None:
        try:
            tree = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            tree = []
        kill_group(self.proc, grace=20.0)
        kill_pids([p.pid for p in tree if p.is_running()])
        self._out.close()


def median_spread(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return statistics.median(values), max(values) - min(values)


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join("    | " + line for line in text[-lines:])


def interrupted(signum, frame) -> None:
    """SIGTERM handler: raise KeyboardInterrupt, so that `finally` blocks stop the server
    and kill the running child."""
    raise KeyboardInterrupt


def sources_digest(root: Path) -> str:
    """A hash of the code and data under test (pipelines/, schemas/)."""
    digest = hashlib.sha256()
    for path in sorted(p for d in ("pipelines", "schemas") for p in (root / d).rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def git(root: Path, *args: str) -> str:
    """Read-only git queries (rev-parse, status); "" when git is not there."""
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in name).strip("_")


def fmt(x, digits: int) -> str:
    return "" if x is None else f"{x:.{digits}f}"
