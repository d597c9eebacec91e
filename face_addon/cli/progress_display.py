"""The one progress display of the long commands (`face landmarks`, `segment`, `register`, `reconstruct`) on stderr.

The pipelines already report `progress(fraction, stage)` (core/progress.py) to the Blender operators' progress
bar; a command passes a `StageProgress` instead, so a 5-30 s run does not look hung. On a terminal it is one line
rewritten in place ("face segment: 40 % rendering views"); otherwise (logs, pipes, tests) one line per stage, so
a log is not filled with percentages. stdout keeps only the command's result line; `--quiet` silences this.
No bpy.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class StageProgress:
    """`progress(fraction, stage)` callable writing to `stream`: a line per new stage, or on a TTY one `\\r` line
    redrawn when the stage or the whole percent changes. `close()` ends a pending `\\r` line."""

    def __init__(self, command: str, stream: TextIO, tty: bool):
        self._prefix, self._stream, self._tty = f"face {command}: ", stream, tty
        self._shown: tuple[str, int] | None = None
        self._width = 0  # length of the current \r line, to blank a longer previous one

    def __call__(self, fraction: float, stage: str) -> None:
        percent = int(100 * min(max(fraction, 0.0), 1.0))
        if self._shown is not None and (stage == self._shown[0] and (not self._tty or percent == self._shown[1])):
            return
        self._shown = (stage, percent)
        text = f"{self._prefix}{percent:3d} % {stage}"
        if self._tty:
            self._stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def close(self) -> None:
        if self._tty and self._width:
            self._stream.write("\n")
            self._stream.flush()
            self._width = 0


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    """`-q/--quiet` of the long commands: no progress lines (warnings, errors and the result line stay)."""
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display on stderr")


@contextmanager
def stage_progress(args: argparse.Namespace) -> Iterator[StageProgress | None]:
    """The command's progress callable (None with --quiet), its `\\r` line ended however the work ends."""
    if args.quiet:
        yield None
        return
    display = StageProgress(args.command, sys.stderr, sys.stderr.isatty())
    try:
        yield display
    finally:
        display.close()
