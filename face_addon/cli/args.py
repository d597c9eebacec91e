"""Option checks for every subcommand, applied when the command line is parsed or before any work starts.

`OneLineParser` makes every usage error one line (exit 2); argparse `type=` helpers (`finite_float`,
`int_range`, `choice_or_folder`) turn a bad value into that one-line usage error instead of NaN heads or 4x4
renders minutes later; `check_outputs` refuses output paths that would fail or destroy data after the work
(unknown extension, a folder, an unwritable folder, the input itself, two outputs on one file) with a
`UsageError` (exit 2); `check_inputs` refuses a missing input file before a command's heavy imports (torch, the
models: seconds), so a typo is reported at once. No bpy: usable from any command module.
"""
from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from ..core.errors import MeshError, PhotoError, UsageError, missing_file_message, one_line

#: formats the mesh writer (core.mesh_files.save_mesh, trimesh's exporters) writes
MESH_OUTPUT_SUFFIXES = (".obj", ".ply", ".stl", ".off", ".glb")


class OneLineParser(argparse.ArgumentParser):
    """argparse with one-line usage errors ("face edit: error: ... (see face edit -h)"), exit code 2; the
    subcommand parsers inherit it."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} -h)\n")


def finite_float(lo: float, hi: float) -> Callable[[str], float]:
    """argparse type: a finite float in [lo, hi]."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text!r} is outside {lo:g}..{hi:g}")
        return value

    parse.__name__ = "number"  # argparse names the type in some messages
    return parse


def int_range(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """argparse type: an integer >= lo (and <= hi when given)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"{value} is below the minimum {lo}")
        if hi is not None and value > hi:
            raise argparse.ArgumentTypeError(f"{value} is above the maximum {hi}")
        return value

    parse.__name__ = "integer"
    return parse


def choice_or_folder(*choices: str) -> Callable[[str], str]:
    """argparse type: one of `choices` or an existing folder (so a typo such as 'nnone' is not taken for a
    folder name)."""
    def parse(text: str) -> str:
        if text in choices or Path(text).is_dir():
            return text
        raise argparse.ArgumentTypeError(f"{text!r} is neither {' nor '.join(repr(c) for c in choices)} "
                                         "nor an existing folder")

    parse.__name__ = "choice or folder"
    return parse


def _absolute(path: Path) -> Path:
    """Absolute and normalised ('a/../b' == 'b'), without resolving links (those are caught by samefile)."""
    return Path(os.path.abspath(path))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _writable_folder(path: Path) -> str | None:
    """Why the folder of `path` cannot receive a new file, or None when it can (created when missing)."""
    folder = _absolute(path).parent
    while not folder.exists():  # the writer creates missing folders: check the nearest existing one
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"folder {folder} is not writable"
    return None


def check_inputs(*inputs: tuple[str | Path | None, str]) -> None:
    """Refuse a missing input, or a folder given for one, before the work. `inputs`: (path or None, what it is:
    "file", "photo", "landmark file", ...). Raises the error the reader would raise later (exit 1): PhotoError
    for a photo, MeshError for the rest, with the same message."""
    for value, what in inputs:
        if value and not Path(value).is_file():
            raise (PhotoError if what == "photo" else MeshError)(missing_file_message(value, what))


def check_outputs(inputs: Iterable[str | Path | None], outputs: Iterable[tuple[str, str | Path | None, tuple[str, ...]]]
                  ) -> None:
    """Refuse output paths before the work starts. `outputs`: (option, path or None, allowed suffixes).

    Raises UsageError for: an unsupported extension, a path that is a folder, a folder that cannot be written,
    a path that is one of the `inputs` (never overwrite an input), two options naming the same file."""
    ins = [Path(p) for p in inputs if p]
    seen: dict[Path, str] = {}
    for option, value, suffixes in outputs:
        if not value:
            continue
        path = Path(value)
        if path.suffix.lower() not in suffixes:
            raise UsageError(f"{option} {path}: unsupported extension '{path.suffix}'; use {', '.join(suffixes)}")
        if path.is_dir():
            raise UsageError(f"{option} {path} is a folder; give a file name")
        problem = _writable_folder(path)
        if problem:
            raise UsageError(f"{option} {path}: {problem}")
        for src in ins:
            if _absolute(path) == _absolute(src) or _same_file(path, src):
                raise UsageError(f"{option} {path} is the input file; choose another name so the input is kept")
        key = _absolute(path)
        if key in seen:
            raise UsageError(f"{seen[key]} and {option} are the same file ({path}); give them different names")
        seen[key] = option


def check_output_folder(option: str, value: str | Path) -> None:
    """Refuse an output folder that is a file or cannot be created/written (UsageError), before the work."""
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path} is a file; give a folder")
    problem = _writable_folder(path / "_")
    if problem:
        raise UsageError(f"{option} {path}: {problem}")
