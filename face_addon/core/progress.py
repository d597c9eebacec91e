"""Progress reports and cancel requests of the pipelines, one convention for all of them. No bpy.

A pipeline takes `progress(fraction, stage)` (fraction of the whole run in [0, 1], a short stage name) and
`cancel()` (True once the user asked to stop); both may be None. It calls the single callable `reporter()`
returns at each stage boundary and in its loops over views or rounds: that reports, and raises `Cancelled`
when a cancel was asked for, so every report is also a point where a run can stop cleanly. A stage that
hands part of the run to another pipeline passes it the reporter mapped onto its span (`within`).
"""
from __future__ import annotations

from collections.abc import Callable

from .errors import Cancelled

Progress = Callable[[float, str], None]
Cancel = Callable[[], bool]


def reporter(progress: Progress | None = None, cancel: Cancel | None = None) -> Progress:
    """One `report(fraction, stage)` that first raises Cancelled when `cancel()` is true, then forwards to
    `progress` (either may be None)."""

    def report(fraction: float, stage: str) -> None:
        if cancel is not None and cancel():
            raise Cancelled(f"cancelled while {stage}" if stage else "cancelled")
        if progress is not None:
            progress(fraction, stage)

    return report


def within(report: Progress, start: float, end: float) -> Progress:
    """`report` for a sub-run whose fractions 0..1 cover [start, end] of the whole (the stage names pass through)."""
    return lambda fraction, stage: report(start + (end - start) * min(max(fraction, 0.0), 1.0), stage)
