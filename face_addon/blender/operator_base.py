"""Shared operator behaviour: user mistakes become a one-line report and CANCELLED, never a traceback.

Subclasses implement `run(context) -> set[str]`. Errors a user can fix (any `core.errors.UserError`: MeshError,
PhotoError, FaceAddonError...) and file-system failures are reported as one line; anything else is reported as
"internal error" with the path of a full report file (core.errors.write_error_report). Set FACE_ADDON_DEBUG=1
to also print the traceback to the console, FACE_ADDON_RAISE=1 (tests) to re-raise unexpected errors instead.
"""
from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import bpy

from ..core.errors import UserError, debug_enabled, internal_error_message, one_line, os_error_message


class FaceAddonError(UserError, RuntimeError):
    """A problem the user can act on (missing weights, wrong object...); its message is shown verbatim."""


class FaceOperator:
    """Mixin for bpy.types.Operator subclasses of this add-on."""

    bl_options = {"REGISTER", "UNDO"}

    def run(self, context: bpy.types.Context) -> set[str]:
        raise NotImplementedError

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            return self.run(context)
        except Exception as exc:  # noqa: BLE001 - last line of defence for the user, re-raised under tests
            if isinstance(exc, UserError):
                message = one_line(str(exc))
            elif isinstance(exc, OSError):  # read-only folder, full disk...: the user's to fix, not a bug
                message = os_error_message(exc)
            elif os.environ.get("FACE_ADDON_RAISE"):
                raise
            else:
                message = internal_error_message(exc, f"operator {self.bl_idname}")
            if debug_enabled():
                traceback.print_exception(exc)
        self.report({"ERROR"}, message)
        return {"CANCELLED"}


def poll_object_mode(cls: type, context: bpy.types.Context) -> bool:
    """Poll for operators that only need Object Mode."""
    if context.mode != "OBJECT":
        cls.poll_message_set("Switch to Object Mode first")
        return False
    return True


def use_thread_setting(context: bpy.types.Context) -> "torch.device":  # noqa: F821 (lazy torch)
    """Apply the add-on preferences 'Compute Device' and 'Threads' before heavy torch work (core.device.configure:
    0 threads = torch's default; a device torch does not see here falls back to the CPU); returns the device."""
    from ..core.device import configure
    from .preferences import settings

    prefs = settings(context)
    return configure(prefs.device, prefs.threads)


def poll_active_mesh(cls: type, context: bpy.types.Context) -> bool:
    """Poll for operators that work on the active mesh, explaining why not in the tooltip."""
    obj = context.active_object
    if obj is None:
        cls.poll_message_set("Select a mesh object first")
        return False
    if obj.type != "MESH":
        cls.poll_message_set(f"Active object '{obj.name}' is not a mesh")
        return False
    if context.mode != "OBJECT":
        cls.poll_message_set("Switch to Object Mode first")
        return False
    return True


@contextmanager
def progress_reporter(context: bpy.types.Context, label: str) -> Iterator[Callable[[float, str], None]]:
    """A `progress(fraction, stage)` callback for core pipelines: the window manager's progress bar and the
    status bar text "<label>: <stage>", both cleared on exit (also when the pipeline fails)."""
    wm = context.window_manager
    wm.progress_begin(0, 100)

    def progress(fraction: float, stage: str) -> None:
        wm.progress_update(int(100 * fraction))
        if context.workspace is not None:
            context.workspace.status_text_set(f"{label}: {stage}")

    try:
        yield progress
    finally:
        wm.progress_end()
        if context.workspace is not None:
            context.workspace.status_text_set(None)
