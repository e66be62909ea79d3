"""The render helper: a forked copy of the process making the report, which draws half the
charts alongside it, then the SVGs of all of them and the summary workbook while the report's
process makes the HTML and the PDF (`pipelines/report/render.py` builds the report and
decides what to draw).

- `can_fork`: whether a helper pays here (two cores, a few charts, a fork to be had);
- `draw`: the charts of a job list, each next one from a counter shared by both processes
  (or all of them, without one);
- `Helper`: starting the helper, talking to it (its charts, this process's figures for their
  SVGs, what it wrote) and stopping it; `_main` is what runs in it.

Whatever the helper fails at (an exception, dying, not answering for `HELPER_WAIT` seconds)
the report's process does itself: the outputs are the same either way, byte for byte.
"""
from __future__ import annotations

import logging
import os

from pipelines.report import drawing, plans

log = logging.getLogger(__name__)

HELPER = True  # draw charts (and write the workbook) in a forked helper where that pays
HELPER_WAIT = 120  # seconds this process waits for a helper's message before doing it itself


def draw(jobs: list, inputs, counter=None) -> dict[int, "plans.Drawn | None"]:
    """Draw jobs by index: each next one from the shared `counter` (a helper draws the
    others: the HTML and the PDF need every PNG, so the two share them evenly), or all of
    them without one."""
    out = {}
    while True:
        if counter is None:
            k = len(out)
        else:
            with counter.get_lock():
                k = counter.value
                counter.value += 1
        if k >= len(jobs):
            return out
        _, sheet, name, spec = jobs[k]
        out[k] = plans.draw_one(sheet, name, spec, inputs)


def can_fork(n_jobs: int) -> bool:
    """A helper pays with two cores and a few charts; it is a fork of this process (POSIX),
    which a daemonic process (a Dask worker) may not have."""
    import multiprocessing as mp
    import os

    return (HELPER and n_jobs > 1 and (os.cpu_count() or 1) > 1 and hasattr(os, "fork")
            and "fork" in mp.get_all_start_methods() and not mp.current_process().daemon)


class Helper:
    """A forked copy of this process: it draws charts from the shared counter alongside this
    one and sends them back; then, while this process makes the HTML and the PDF, it draws
    the SVGs of all the charts (this process's figures come to it pickled) and writes the
    summary workbook.

    Whatever it fails at (an exception, or dying) this process does itself: the outputs
    never depend on the helper, only the time does."""

    def __init__(self, process, inbox, outbox, counter):
        self.process, self.inbox, self.outbox, self.counter = process, inbox, outbox, counter

    @classmethod
    def start(cls, jobs: list, inputs, workbook) -> "Helper | None":
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        counter = ctx.Value("i", 0)
        inbox, theirs_out = ctx.Pipe(duplex=False)  # helper -> this process
        theirs_in, outbox = ctx.Pipe(duplex=False)  # this process -> helper
        process = ctx.Process(target=_main, daemon=True, name="thongke-render",
                              args=(jobs, inputs, counter, theirs_out, theirs_in, workbook,
                                    os.getpid()))
        try:
            process.start()
        except (OSError, AssertionError, ValueError):  # no fork to be had: draw alone
            log.debug("no render helper", exc_info=True)
            for conn in (inbox, theirs_out, theirs_in, outbox):
                conn.close()
            return None
        theirs_out.close()
        theirs_in.close()
        return cls(process, inbox, outbox, counter)

    def _receive(self, kind: str):
        try:
            # A fork of a process with threads (Prefect's) can, rarely, inherit a lock held
            # by another thread and hang: never wait on it for long.
            if not self.inbox.poll(HELPER_WAIT):
                log.warning("the render helper did not answer in %d s; done here instead",
                            HELPER_WAIT)
                self.process.kill()
                return None
            got, payload = self.inbox.recv()
        except (EOFError, OSError):
            log.warning("the render helper stopped (exit code %s)", self.process.exitcode)
            return None
        if got != kind:
            log.warning("the render helper failed; done here instead:\n%s", payload)
            return None
        return payload

    def charts(self) -> dict:
        """The charts the helper drew, by job (waits for them)."""
        return self._receive("charts") or {}

    def send_figures(self, later: list) -> None:
        """This process's figures, for the helper to draw their SVGs."""
        try:
            self.outbox.send(later)
        except (OSError, ValueError, TypeError, AttributeError):  # a figure that will not pickle
            log.warning("figures not sent to the render helper", exc_info=True)
        self.outbox.close()

    def finish(self) -> dict | None:
        """What the helper wrote: {"svgs": [path stems], "workbook": bool} (waits for it)."""
        return self._receive("done")

    def close(self) -> None:
        """Wait for the helper (done by now, unless this process failed: then it stops at
        its next message)."""
        self.inbox.close()
        self.outbox.close()
        self.process.join(timeout=120)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


def _main(jobs, inputs, counter, outbox, inbox, workbook, parent: int = 0) -> None:
    """In the helper: charts from the counter (PNG now, SVG after); the other process's
    figures; all the SVGs; the workbook. Each result or failure is sent back."""
    import signal
    import traceback

    from pipelines.base.processes import die_with_parent

    die_with_parent(signal.SIGKILL, parent)  # never blocked on its pipe after the run died

    logging.disable(logging.CRITICAL)  # this process's handlers are the parent's (Prefect's)
    with drawing.svg_later() as mine:
        try:
            outbox.send(("charts", draw(jobs, inputs, counter)))
        except BaseException:  # noqa: BLE001  reported to the parent, which draws them itself
            outbox.send(("failed", traceback.format_exc()))
    try:
        figures = inbox.recv()
    except (EOFError, OSError):
        figures = []
    inbox.close()
    written, problems = [], []
    for fig, stem in [*mine, *figures]:
        try:
            drawing.write_svg(fig, stem)
            written.append(str(stem))
        except BaseException:  # noqa: BLE001  the parent writes what is missing
            problems.append(traceback.format_exc())
    try:
        workbook()
        book = True
    except BaseException:  # noqa: BLE001
        book, problems = False, [*problems, traceback.format_exc()]
    outbox.send(("done", {"svgs": written, "workbook": book, "problems": problems}))
    outbox.close()
