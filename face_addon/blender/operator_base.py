"""Shared operator behaviour: user mistakes become a one-line report and CANCELLED, never a traceback; the long
operators show progress one way and can be cancelled.

`FaceOperator` subclasses implement `run(context) -> set[str]`. Errors a user can fix (any `core.errors.UserError`:
MeshError, PhotoError, FaceAddonError...) and file-system failures are reported as one line; anything else is
reported as "internal error" with the path of a full report file (core.errors.write_error_report). Set
FACE_ADDON_DEBUG=1 to also print the traceback to the console, FACE_ADDON_RAISE=1 (tests) to re-raise unexpected
errors instead.

`PipelineOperator` subclasses (the operators that run a pipeline for seconds) implement `steps(context)` instead,
a generator (blender/step_runner.py): main-thread code reads the scene into numpy, each `yield Offload(work)`
runs a core pipeline off the main thread, and the code after the last yield writes the results. Rules: read
every input before the first yield, write the scene only after the last one, never touch bpy inside `work`.
- Invoked from the UI (menu, button, F3) it runs modal: a window-manager timer shows the pipeline's progress
  in the progress bar and the status bar ("<label>: <stage> (Esc to cancel)"); Esc or right-click asks the
  pipeline to stop (it raises `core.errors.Cancelled` at its next stage boundary, core/progress.py), and the
  operator ends CANCELLED with nothing written. Other input waits while it runs (view navigation passes), so
  the scene cannot change under it.
- Executed (scripts, tests, `blender -b`, the CLI) the same steps run synchronously, with the same progress
  display when Blender has one.
"""
from __future__ import annotations

import os
import traceback
from collections.abc import Callable

import bpy

from ..core.errors import Cancelled, UserError, debug_enabled, internal_error_message, one_line, os_error_message
from .step_runner import StepRunner, Steps

#: events that cancel a running pipeline operator, and those that pass through to Blender while it runs
CANCEL_EVENTS = frozenset({"ESC", "RIGHTMOUSE"})
NAVIGATION_EVENTS = frozenset({"MIDDLEMOUSE", "WHEELUPMOUSE", "WHEELDOWNMOUSE", "WHEELINMOUSE", "WHEELOUTMOUSE",
                               "TRACKPADPAN", "TRACKPADZOOM", "MOUSEROTATE", "MOUSEMOVE", "INBETWEEN_MOUSEMOVE",
                               "NDOF_MOTION"})
TIMER_STEP_S = 0.1


class FaceAddonError(UserError, RuntimeError):
    """A problem the user can act on (missing weights, wrong object...); its message is shown verbatim."""


class FaceOperator:
    """Mixin for bpy.types.Operator subclasses of this add-on."""

    bl_options = {"REGISTER", "UNDO"}

    def run(self, context: bpy.types.Context) -> set[str]:
        raise NotImplementedError

    def execute(self, context: bpy.types.Context) -> set[str]:
        return self.guarded(self.run, context)

    def guarded(self, call: Callable[[bpy.types.Context], set[str]], context: bpy.types.Context) -> set[str]:
        """`call(context)`, its exceptions reported on one line (and CANCELLED returned)."""
        try:
            return call(context)
        except Cancelled:
            self.report({"INFO"}, f"{self.bl_label} cancelled: nothing was changed")
            return {"CANCELLED"}
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


class ProgressDisplay:
    """The one progress display of the long operators: the window manager's progress bar and the status bar
    text "<label>: <stage>", both cleared by close(). Both are no-ops in background mode."""

    def __init__(self, context: bpy.types.Context, label: str):
        self.wm, self.workspace, self.label = context.window_manager, context.workspace, label
        self.wm.progress_begin(0, 100)

    def show(self, fraction: float, stage: str, hint: str = "") -> None:
        self.wm.progress_update(int(round(100 * min(max(fraction, 0.0), 1.0))))
        if self.workspace is not None:
            self.workspace.status_text_set(f"{self.label}: {stage}{hint}")

    def close(self) -> None:
        self.wm.progress_end()
        if self.workspace is not None:
            self.workspace.status_text_set(None)


def can_run_modal(context: bpy.types.Context) -> bool:
    """Whether a modal run is possible: Blender with a window (not `blender -b`, not the bpy module)."""
    return not bpy.app.background and context.window is not None


class PipelineOperator(FaceOperator):
    """Mixin for the long operators: `steps(context)` run modal with progress and cancel from the UI, and
    synchronously when executed (module doc)."""

    def steps(self, context: bpy.types.Context) -> Steps:
        raise NotImplementedError

    def run(self, context: bpy.types.Context) -> set[str]:
        if getattr(self, "_modal_requested", False) and can_run_modal(context):
            return self.start_modal(context)
        use_thread_setting(context)
        display = ProgressDisplay(context, self.bl_label)
        try:
            return StepRunner(self.steps(context), threaded=False, progress=display.show).run_to_end()
        finally:
            display.close()

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        self._modal_requested = True  # the Python instance lives as long as the operator: execute() sees it
        return self.execute(context)

    def start_modal(self, context: bpy.types.Context) -> set[str]:
        """Start the steps with the pipeline in a worker thread; modal() follows them."""
        use_thread_setting(context)
        self._runner = StepRunner(self.steps(context), threaded=True)
        self._display = ProgressDisplay(context, self.bl_label)
        self._timer = None
        status = self.advance(context)  # the main-thread part up to the first pipeline call
        if status == {"RUNNING_MODAL"}:
            self.attach(context)
        return status

    def attach(self, context: bpy.types.Context) -> None:
        """Hook into Blender's event loop: a timer that drives advance(), modal() for Esc."""
        wm = context.window_manager
        self._timer = wm.event_timer_add(TIMER_STEP_S, window=context.window)
        wm.modal_handler_add(self)

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if event.type in CANCEL_EVENTS and event.value == "PRESS":
            self._runner.cancel()
            self._display.show(*self._runner.status, " (cancelling...)")
        elif event.type == "TIMER":
            return self.guarded(self.advance, context)
        return {"PASS_THROUGH"} if event.type in NAVIGATION_EVENTS else {"RUNNING_MODAL"}

    def advance(self, context: bpy.types.Context) -> set[str]:
        """One timer tick: collect a finished pipeline, run the next main-thread part, show the progress."""
        try:
            done = self._runner.tick()
        except BaseException:
            self.end_modal(context)
            raise
        if done:
            self.end_modal(context)
            return self._runner.result
        hint = " (cancelling...)" if self._runner.cancel_requested else " (Esc to cancel)"
        self._display.show(*self._runner.status, hint)
        return {"RUNNING_MODAL"}

    def cancel(self, context: bpy.types.Context) -> None:
        """Blender ends the operator (a file is loaded, the window closes, the file browser is closed before the
        run started): stop the pipeline, write nothing."""
        if getattr(self, "_runner", None) is not None:
            self._runner.cancel()
            self.end_modal(context)

    def end_modal(self, context: bpy.types.Context) -> None:
        """Remove the timer and the progress display (the modal handler goes when modal() returns)."""
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None
        self._display.close()
