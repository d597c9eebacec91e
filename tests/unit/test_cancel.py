"""Cancelling pipelines (core/progress.py) and the operators' step runner (blender/step_runner.py).

Each pipeline entry point takes `cancel=` and raises core.errors.Cancelled at a stage boundary once it is true;
the runner throws Cancelled into an operator's steps at their next yield so the code that writes results never
runs. The operators' modal path itself is tested in tests/integration/test_operator_cancel.py.
"""
from __future__ import annotations

import threading

import numpy as np
import pytest

from face_addon.core.errors import Cancelled, UserError
from face_addon.core.progress import reporter, within


class CancelAfter:
    """cancel() that turns true on its `n`-th poll (n = 1: at once), counting the polls."""

    def __init__(self, n: int):
        self.n, self.polls = n, 0

    def __call__(self) -> bool:
        self.polls += 1
        return self.polls >= self.n


def _sphere(n_sub: int = 3):
    import trimesh

    s = trimesh.creation.icosphere(subdivisions=n_sub, radius=0.1)
    return np.asarray(s.vertices, np.float64), np.asarray(s.faces, np.int64)


# ------------------------------------------------------------------------------------------ core/progress.py

def test_reporter_forwards_until_cancelled_and_cancelled_is_a_user_error():
    seen = []
    cancel = CancelAfter(3)
    report = reporter(lambda f, s: seen.append((f, s)), cancel)
    report(0.1, "a")
    report(0.5, "b")
    with pytest.raises(Cancelled, match="while c"):
        report(0.9, "c")
    assert seen == [(0.1, "a"), (0.5, "b")]  # the stage it stopped at is not reported as reached
    assert issubclass(Cancelled, UserError)  # the operators and the CLI show it on one line
    reporter(None, None)(1.0, "no callbacks at all")


def test_within_maps_a_sub_run_onto_its_span():
    seen = []
    inner = within(lambda f, s: seen.append((round(f, 6), s)), 0.2, 0.6)
    for f in (-1.0, 0.0, 0.5, 1.0, 2.0):
        inner(f, "x")
    assert [f for f, _ in seen] == [0.2, 0.2, 0.4, 0.6, 0.6]


# ------------------------------------------------------------------------------------------ pipelines

def test_segment_skin_stops_at_the_stage_where_cancel_turns_true():
    from face_addon.core.pipelines.segment_skin import GEOMETRY_WEIGHTS, segment_skin

    if not GEOMETRY_WEIGHTS.is_file():
        pytest.skip("the shipped geometry skin model is missing")
    v, f = _sphere()
    stages = []
    cancel = CancelAfter(3)  # checking the input, reducing, then stop before the surface operators
    with pytest.raises(Cancelled, match="surface operators"):
        segment_skin(v, f, weights=GEOMETRY_WEIGHTS, progress=lambda fr, s: stages.append(s), cancel=cancel)
    assert stages == ["checking the input", "reducing"]
    result = segment_skin(v, f, weights=GEOMETRY_WEIGHTS, cancel=lambda: False)  # never true: runs to the end
    assert result.probability.shape == (len(v),)


def test_register_head_raises_cancelled():
    from face_addon.core.pipelines.register_head import register_head

    v, f = _sphere()
    with pytest.raises(Cancelled):
        register_head(v, f, np.ones(len(v), bool), cancel=CancelAfter(1))


def test_detect_landmarks_raises_cancelled():
    from face_addon.core.pipelines.detect_landmarks import detect_landmarks

    v, f = _sphere()
    cancel = CancelAfter(2)  # after the input check, before the face search
    with pytest.raises(Cancelled, match="finding the face"):
        detect_landmarks(v, f, cancel=cancel)


def test_the_face_search_is_cancellable():
    """The face search (find_face_frame) runs for seconds inside Detect Landmarks and Segment Skin's face_upright."""
    from face_addon.core.mesh import Mesh
    from face_addon.core.pipelines.upright_scan import face_upright

    v, f = _sphere()
    cancel = CancelAfter(1)
    with pytest.raises(Cancelled, match="finding the face"):
        face_upright(Mesh(v, f), reporter(None, cancel))
    assert cancel.polls == 1


def test_photo_pipelines_raise_cancelled():
    from face_addon.core.pipelines.pixel2mesh_photo import WEIGHTS_FILE, reconstruct_pixel2mesh
    from face_addon.core.pipelines.reconstruct_photo import reconstruct_photo

    photo = np.full((64, 64, 3), 0.5, np.float32)
    with pytest.raises(Cancelled, match="detecting faces"):
        reconstruct_photo(photo, cancel=CancelAfter(1))
    if not WEIGHTS_FILE.is_file():
        pytest.skip("the shipped Pixel2Mesh weights are missing")
    with pytest.raises(Cancelled, match="detecting faces"):
        reconstruct_pixel2mesh(photo, cancel=CancelAfter(1))


# ------------------------------------------------------------------------------------------ step runner

def _steps(log: list, work):
    """Operator-shaped steps: read, hand `work` to the runner, write after the yield."""
    from face_addon.blender.step_runner import Offload

    log.append("read")
    value = yield Offload(work, (0.5, 1.0))
    log.append(("write", value))
    return {"FINISHED"}


def test_runner_inline_runs_work_between_main_thread_parts():
    from face_addon.blender.step_runner import StepRunner

    log, seen = [], []

    def work(progress, cancel):
        progress(0.5, "half")
        return 42

    assert StepRunner(_steps(log, work), threaded=False, progress=lambda f, s: seen.append((f, s))).run_to_end() \
        == {"FINISHED"}
    assert log == ["read", ("write", 42)]
    assert seen == [(0.75, "half")]  # the work's 0.5 inside its span (0.5, 1.0)


def test_runner_shows_an_offloads_stage_from_its_start():
    from face_addon.blender.step_runner import Offload, StepRunner

    def steps():
        yield Offload(lambda progress, cancel: None, (0.2, 0.4), "thinking")
        return {"FINISHED"}

    seen = []
    StepRunner(steps(), threaded=False, progress=lambda f, s: seen.append((f, s))).run_to_end()
    assert seen == [(0.2, "thinking")]


def test_runner_raises_work_errors_at_the_yield():
    from face_addon.blender.step_runner import StepRunner

    log = []

    def work(progress, cancel):
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        StepRunner(_steps(log, work), threaded=False).run_to_end()
    assert log == ["read"]


def test_runner_cancel_in_a_worker_thread_never_writes():
    from face_addon.blender.step_runner import StepRunner

    log, started, release = [], threading.Event(), threading.Event()

    def work(progress, cancel):
        report = reporter(progress, cancel)
        started.set()
        release.wait(5)
        report(0.9, "next stage")  # the pipeline's next stage boundary
        return "never"

    runner = StepRunner(_steps(log, work), threaded=True)
    assert runner.tick() is False and started.wait(5) and runner.working
    runner.cancel()
    release.set()
    with pytest.raises(Cancelled):
        runner.run_to_end()
    assert log == ["read"] and runner.result is None


def test_runner_cancel_after_the_work_finished_still_writes_nothing():
    """Esc pressed after the pipeline's last stage boundary: the result is dropped at the yield."""
    from face_addon.blender.step_runner import StepRunner

    log = []
    runner = StepRunner(_steps(log, lambda progress, cancel: 7), threaded=True)
    runner.tick()
    runner._worker.join()
    runner.cancel()
    with pytest.raises(Cancelled):
        runner.tick()
    assert log == ["read"]
