"""Where a run's time goes: the pipeline's own steps, and what is left for Prefect.

Each task body wraps its work in `step(name)`; the intervals are kept per flow run (tasks
run in threads of the flow's process). `summary(flow_seconds)` gives, per step, the span
from its first start to its last end (batches of one step run side by side), their sum
(the pipeline's own time on the critical path) and the rest of the flow's wall time:
Prefect's flow and task overhead. Steps that ran in other processes (a Dask cluster) are
not seen, so there the overhead is an upper bound. Nothing here imports Prefect.

Fault injection, for the kill tests (`tests/test_kill.py`) and nothing else: with
`THONGKE_PAUSE_AT` set to a comma-separated list of names (shell patterns), the process
stops at each matching `pause_point(name)`: it writes the marker file `.paused-<name>` (its
pid inside) into the folder of `pause_in` (the run's reports root; `THONGKE_PAUSE_DIR`
overrides, else the working directory) and sleeps until the marker is deleted or
`THONGKE_PAUSE_SECONDS` (3600) pass, then goes on. A test waits for the marker, then kills
the process (or deletes the marker to let it go on). Names: every `step(name)` at its start
(`discover`, `check`, `history`, `tables`, `aggregate`, `record`, `write-tables`,
`feedback`, `targets`, `render`), `record-transaction` (inside the record's transaction,
everything written, before COMMIT) and `write:<file name>` (an output complete in its temp
file, before the rename; `pipelines.base.atomic`). Only the process that called `pause_in`
pauses (never a forked helper or worker). Unset, a pause point costs one dictionary look-up.
"""
from __future__ import annotations

import fnmatch
import os
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipelines.settings import pause_hook


_lock = threading.Lock()
_spans: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
_counts: dict[str, dict[str, int]] = defaultdict(dict)


def _run_id() -> str:
    try:
        from prefect.runtime import flow_run

        return str(flow_run.id or "")
    except Exception:  # outside Prefect
        return ""


_pause: dict = {"dir": None, "pid": None}


def pause_in(folder: Path | str) -> None:
    """Where this process writes its pause markers (the run's reports root); only this
    process pauses from now on."""
    _pause.update(dir=Path(folder), pid=os.getpid())


def pause_point(name: str) -> None:
    """Pause here if `THONGKE_PAUSE_AT` names this point (see the module doc)."""
    hook = pause_hook()
    wanted = hook.at
    if not wanted or not any(fnmatch.fnmatchcase(name, w.strip())
                             for w in wanted.split(",") if w.strip()):
        return
    if _pause["pid"] is not None and _pause["pid"] != os.getpid():
        return  # a forked helper or worker: only the run's own process pauses
    folder = Path(hook.folder or _pause["dir"] or ".")
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / (".paused-" + name.replace("/", "_"))
    marker.write_text(str(os.getpid()))
    until = time.monotonic() + hook.seconds
    while marker.exists() and time.monotonic() < until:
        time.sleep(0.05)


@contextmanager
def step(name: str) -> Iterator[None]:
    pause_point(name)
    start = time.perf_counter()
    try:
        yield
    finally:
        end = time.perf_counter()
        with _lock:
            _spans[_run_id()][name].append((start, end))


def count(**numbers: int) -> None:
    with _lock:
        _counts[_run_id()].update(numbers)


def summary(flow_seconds: float, run_id: str | None = None) -> dict:
    """Seconds per step, their total, and the flow's overhead; forgets the run's records."""
    key = _run_id() if run_id is None else run_id
    with _lock:
        spans = _spans.pop(key, {})
        counts = _counts.pop(key, {})
    steps = {name: round(max(e for _, e in ivs) - min(s for s, _ in ivs), 3)
             for name, ivs in spans.items()}
    own = round(sum(steps.values()), 3)
    return {**counts, "flow_seconds": round(flow_seconds, 3), "steps": steps,
            "pipeline_seconds": own, "prefect_overhead_seconds": round(flow_seconds - own, 3)}
