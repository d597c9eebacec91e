"""Running a long operator's steps: main-thread parts between pipeline calls that run in a worker thread.

An operator's steps are a generator (`PipelineOperator.steps`): the code between its yields runs on the main
thread (bpy is not thread-safe: reading the scene, rendering, writing results), and each `yield Offload(...)`
hands a core pipeline call on numpy arrays to a worker thread and gets its result back at the yield (or its
exception, raised there). `StepRunner.tick()` advances the steps without ever waiting, so a modal timer can
call it while Blender stays responsive; the same runner with `threaded=False` runs everything inline for
scripts, tests and `blender -b`. No bpy here: the runner only sees the generator and the Offloads.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from ..core.errors import Cancelled
from ..core.progress import Cancel, Progress, within


@dataclass(frozen=True)
class Offload:
    """Pipeline work for the worker thread: `work(progress, cancel)` on numpy data, never bpy. `span` is its
    share (start, end) of the operator's progress bar; `stage` is shown from its start (for work that reports
    no stages of its own)."""

    work: Callable[[Progress, Cancel], Any]
    span: tuple[float, float] = (0.0, 1.0)
    stage: str = ""


def announce(stage: str, fraction: float) -> Offload:
    """An Offload without work: shows `stage` before a long main-thread part of the steps (rendering), which
    blocks the display until it ends; it is also a point where a cancel stops the steps."""
    return Offload(lambda progress, cancel: None, (fraction, fraction), stage)


#: what `PipelineOperator.steps` returns: yields Offloads, receives their results, returns the operator's status
Steps = Generator[Offload, Any, set[str]]


class StepRunner:
    """Drives one run of an operator's steps. Each `tick()` collects a finished Offload, resumes the steps up to
    the next one and starts it (in a worker thread when `threaded`, else inline). Once `cancel()` was called the
    steps get `Cancelled` at their next yield instead of a result, so their writes after it never run."""

    def __init__(self, steps: Steps, threaded: bool, progress: Progress | None = None):
        self._steps = steps
        self._threaded = threaded
        self._progress = progress  # called from the worker when threaded: must not touch bpy then
        self._cancel = threading.Event()
        self._worker: threading.Thread | None = None
        self._outcome: tuple[Any, Exception | None] = (None, None)
        self.status: tuple[float, str] = (0.0, "starting")  # the last (fraction, stage) reported
        self.result: set[str] | None = None

    def cancel(self) -> None:
        """Ask the running pipeline to stop at its next stage boundary (safe from any thread)."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def working(self) -> bool:
        """True while an Offload runs in the worker thread."""
        return self._worker is not None and self._worker.is_alive()

    def tick(self) -> bool:
        """Advance as far as possible without waiting; True once the steps have returned (`result` holds their
        status). Raises what the steps raise: an Offload's exception they do not handle, Cancelled after cancel()."""
        if self.working:
            return False
        self._worker = None
        value, error = self._outcome
        self._outcome = (None, None)
        if error is None and self._cancel.is_set():
            error = Cancelled("cancelled")
        try:
            offload = self._steps.throw(error) if error is not None else self._steps.send(value)
        except StopIteration as stop:
            self.result = stop.value
            return True
        if offload.stage:
            self._report(offload.span[0], offload.stage)
        if self._threaded:
            self._worker = threading.Thread(target=self._run, args=(offload,), name="face_addon pipeline", daemon=True)
            self._worker.start()
        else:
            self._run(offload)
        return False

    def run_to_end(self) -> set[str] | None:
        """Run every remaining step, waiting for each worker; the steps' status."""
        while not self.tick():
            if self._worker is not None:
                self._worker.join()
        return self.result

    def _report(self, fraction: float, stage: str) -> None:
        self.status = (fraction, stage)
        if self._progress is not None:
            self._progress(fraction, stage)

    def _run(self, offload: Offload) -> None:
        try:
            self._outcome = (offload.work(within(self._report, *offload.span), self._cancel.is_set), None)
        except Exception as exc:  # noqa: BLE001 - handed to the steps at their yield, where it is raised
            self._outcome = (None, exc)
