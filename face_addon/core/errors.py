"""The one root of user-facing errors, and the report written for unexpected ones. No bpy.

Every problem a user can act on (a bad file, a wrong option, a missing model) raises a `UserError` subclass
whose message is shown verbatim on one line by the command line and by the operators; anything else is a bug
and becomes "internal error" plus the path of a full report (`write_error_report`), never a traceback on screen.
The concrete classes keep their historical import paths (`core.mesh.MeshError`, `core.weights.WeightsError`,
`core.photo.PhotoError`, `blender.operator_base.FaceAddonError`), which re-export or derive from these.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

#: set to 1 to see full tracebacks instead of one-line messages (CLI and operators)
DEBUG_ENV = "FACE_ADDON_DEBUG"


class UserError(Exception):
    """A problem the user can fix; its message is shown as-is on one line."""


class UsageError(UserError):
    """A wrong option or output path found before any work started (the CLI exits with 2, like argparse)."""


class MeshError(UserError, ValueError):
    """Input a user can fix (empty mesh, NaNs, bad indices, unreadable file...)."""


class WeightsError(MeshError):
    """A weights file is missing, foreign or of an unsupported version (a problem the user can fix)."""


class PhotoError(UserError, ValueError):
    """A user-facing problem with a photo (unreadable, too large, no face): the message says what to do."""


class Cancelled(UserError):
    """The user stopped a running pipeline (Esc in Blender): raised at the next stage boundary by
    `core.progress.reporter`, so nothing half-computed is returned and the caller writes nothing."""


def debug_enabled() -> bool:
    """True when FACE_ADDON_DEBUG asks for tracebacks."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def missing_file_message(path: str | Path, what: str = "file") -> str:
    """Why `path` cannot be read as a `what`: missing, or a folder (a file browser or a shell makes picking the
    folder easy, and "no such file" for a folder that exists misleads)."""
    return f"{path}: a folder, not a {what}" if Path(path).is_dir() else f"{path}: no such {what}"


def one_line(text: str, limit: int = 400) -> str:
    """`text` with its whitespace runs (newlines included) collapsed, cut to `limit` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def write_error_report(exc: BaseException, context: str) -> Path | None:
    """Write the traceback of `exc` with what was running (`context`: the command line or operator) to a new
    temp file and return its path (None when even that fails, e.g. a full disk)."""
    try:
        fd, name = tempfile.mkstemp(prefix="face_addon_error_", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"face_addon internal error, {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            fh.write(f"running: {context}\npython: {sys.version.split()[0]}\n\n")
            fh.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        return Path(name)
    except OSError:
        return None


def internal_error_message(exc: BaseException, context: str) -> str:
    """One line for an unexpected exception: what it was and where the full report went."""
    report = write_error_report(exc, context)
    where = f"full report: {report}" if report else "no report could be written"
    return one_line(f"internal error ({type(exc).__name__}: {exc}); please report it; {where}", 1000)


def os_error_message(exc: OSError) -> str:
    """One line for a file-system failure (read-only folder, full disk, a folder where a file was expected)."""
    if exc.strerror is None:  # raised with a message of ours, e.g. FileNotFoundError("no samples in ...")
        return one_line(str(exc))
    target = exc.filename if exc.filename is not None else ""
    return one_line(f"{target}: {exc.strerror}" if target else exc.strerror)
