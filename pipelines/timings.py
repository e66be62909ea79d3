"""Where a run's time goes: the pipeline's own steps, and what is left for Prefect.

Each task body wraps its work in `step(name)`; the intervals are kept per flow run (tasks
run in threads of the flow's process). `summary(flow_seconds)` gives, per step, the span
from its first start to its last end (batches of one step run side by side), their sum
(the pipeline's own time on the critical path) and the rest of the flow's wall time:
Prefect's flow and task overhead. Steps that ran in other processes (a Dask cluster) are
not seen, so there the overhead is an upper bound. Nothing here imports Prefect.
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_spans: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
_counts: dict[str, dict[str, int]] = defaultdict(dict)


def _run_id() -> str:
    try:
        from prefect.runtime import flow_run

        return str(flow_run.id or "")
    except Exception:  # outside Prefect
        return ""


@contextmanager
def step(name: str) -> Iterator[None]:
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
