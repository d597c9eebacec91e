"""Runs one robustness case in this process through `face_addon.cli.main` and judges it.

A case is a command line over the corpus with what must happen: the exit code, the one line the user reads,
which outputs must (not) exist afterwards, and for successes an optional sanity check of the result (a "silent
nonsense" check). The runner hashes every corpus file before and after, looks for tracebacks and leftover temp
files, and stops a case that runs too long (a hang) with a timer. Used by the pytest suite and by
tests/bench/bench_robustness.py, so the benchmark's counts come from the same runs.
"""
from __future__ import annotations

import _thread
import contextlib
import hashlib
import io
import re
import resource
import shutil
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HANG_S = 120.0  # no case needs more than a few seconds; anything this long is a hang
PROGRESS_LINE = re.compile(r"face [a-z]+: +\d+ % ")  # a stage line of the progress display on stderr


@dataclass(frozen=True)
class Case:
    """`argv` may use {c} (the corpus folder) and {o} (this case's empty output folder)."""

    id: str
    argv: tuple[str, ...]
    codes: tuple[int, ...]                 # accepted exit codes (several only where root/non-root differ)
    message: str = ""                      # regex the error line (failure) or stdout (success) must match
    outputs: tuple[str, ...] = ()          # must exist after success, must not exist after a failure
    check: Callable[[Path, Path], str | None] | None = None  # (corpus, out) -> what is wrong with a success
    setup: Callable[[Path, Path], None] | None = None        # (corpus, out) -> prepare (e.g. a file in {o})
    interrupt_after_s: float | None = None  # simulate Ctrl-C this long after the start
    file_size_limit: int | None = None      # simulate a full disk: no file may grow beyond this many bytes


@dataclass
class Outcome:
    case: Case
    code: int | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    traceback: bool = False
    hang: bool = False
    silent_wrong: bool = False
    inputs_modified: list[str] = field(default_factory=list)
    partial_outputs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class _Hang(BaseException):
    """Raised by the timer in a case that runs past HANG_S (BaseException: the CLI must not catch it)."""


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _temp_leftovers(*roots: Path) -> list[str]:
    return [str(p) for root in roots for p in root.rglob(".*") if ".tmp" in p.name]


@contextlib.contextmanager
def _timer(seconds: float, exc: type[BaseException]):
    """Raise `exc` in this (main) thread after `seconds`. A watchdog thread trips Python's SIGALRM handler with
    _thread.interrupt_main (an OS timer signal did not get through while Blender rendered)."""
    def fire(signum, frame):
        raise exc()

    old = signal.signal(signal.SIGALRM, fire)
    watchdog = threading.Timer(seconds, _thread.interrupt_main, args=(signal.SIGALRM,))
    watchdog.start()
    try:
        yield
    finally:
        watchdog.cancel()
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def _file_size_limit(limit: int | None):
    if limit is None:
        yield
        return
    old_sig = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes then fail with EFBIG, like ENOSPC
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, old_sig)


@contextlib.contextmanager
def _cli_warnings():
    """Warnings printed to stderr with Python's default filters, as a user running `face` sees them (pytest
    would otherwise collect them silently and a multi-line warning would go unnoticed)."""
    with warnings.catch_warnings():
        warnings.resetwarnings()
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=category)
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: sys.stderr.write(
            warnings.formatwarning(message, category, filename, lineno, line))
        yield


def _invoke(case: Case, argv: list[str]) -> tuple[int | None, str, str, bool]:
    from face_addon.cli.main import main

    out, err, hang = io.StringIO(), io.StringIO(), False
    code = None
    timer = (_timer(case.interrupt_after_s, KeyboardInterrupt) if case.interrupt_after_s
             else _timer(HANG_S, _Hang))
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), _cli_warnings():
        try:
            with timer, _file_size_limit(case.file_size_limit):
                code = main(argv)
        except _Hang:
            hang = True
        except KeyboardInterrupt:  # the CLI should have turned it into 130
            err.write("Traceback (most recent call last): KeyboardInterrupt escaped main()\n")
        except Exception:  # noqa: BLE001 - what a user would see: Python prints the traceback, exit code 1
            err.write(traceback.format_exc())
            code = 1
    return code, out.getvalue(), err.getvalue(), hang


def run_case(case: Case, corpus: Path, work: Path) -> Outcome:
    """Run `case` with outputs in work/<case id>/ and judge it (see the module doc)."""
    out_dir = work / case.id
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    if case.setup:
        case.setup(corpus, out_dir)
    argv = [a.format(c=corpus, o=out_dir) for a in case.argv]
    before = _hashes(corpus)
    t0 = time.perf_counter()
    code, stdout, stderr, hang = _invoke(case, argv)
    r = Outcome(case, code, stdout, stderr, time.perf_counter() - t0, hang=hang)
    after = _hashes(corpus)
    r.inputs_modified = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    r.traceback = "Traceback (most recent call last)" in stdout + stderr
    outputs = [Path(o.format(c=corpus, o=out_dir)) for o in case.outputs]
    failed = code != 0
    r.partial_outputs = _temp_leftovers(out_dir, corpus) + ([str(p) for p in outputs if p.exists()] if failed else [])
    errors = [ln for ln in stderr.splitlines()  # progress lines (cli/progress_display.py) are not errors
              if ln.strip() and not ln.startswith("warning:") and not PROGRESS_LINE.match(ln)]
    if hang:
        r.problems.append(f"hang: still running after {HANG_S:.0f} s")
    if code not in case.codes:
        r.problems.append(f"exit code {code}, expected {case.codes}")
        r.silent_wrong = code == 0
    if failed:
        if len(errors) != 1:
            r.problems.append(f"{len(errors)} error lines instead of one: {errors[:3]}")
        elif case.message and not re.search(case.message, errors[0], re.IGNORECASE):
            r.problems.append(f"message {errors[0]!r} does not match {case.message!r}")
    else:
        missing = [str(p) for p in outputs if not p.exists()]
        if missing:
            r.problems.append(f"outputs missing after success: {missing}")
        if case.message and not re.search(case.message, stdout, re.IGNORECASE):
            r.problems.append(f"stdout does not match {case.message!r}: {stdout[-300:]!r}")
        judge_success(r, case.check(corpus, out_dir) if case.check and not missing else None)
    return judge_leftovers(r)


def judge_success(r: Outcome, wrong: str | None) -> None:
    """Record a success whose result is nonsense (`wrong` says why) as silent_wrong."""
    if wrong:
        r.silent_wrong = True
        r.problems.append(f"result is wrong although it reported success: {wrong}")


def judge_leftovers(r: Outcome) -> Outcome:
    """Turn the traceback, modified-input and partial-output findings of `r` into problems; returns r."""
    if r.traceback:
        r.problems.append("a traceback was shown")
    if r.inputs_modified:
        r.problems.append(f"inputs modified: {r.inputs_modified}")
    if r.partial_outputs:
        r.problems.append(f"partial outputs left: {r.partial_outputs}")
    return r


def summary(outcomes: list[Outcome]) -> dict:
    """The counts the benchmark reports."""
    return {
        "cases": len(outcomes),
        "passed": sum(not o.problems for o in outcomes),
        "tracebacks": sum(o.traceback for o in outcomes),
        "silent_wrong": sum(o.silent_wrong for o in outcomes),
        "inputs_modified": sum(bool(o.inputs_modified) for o in outcomes),
        "partial_outputs": sum(bool(o.partial_outputs) for o in outcomes),
        "hangs": sum(o.hang for o in outcomes),
    }
