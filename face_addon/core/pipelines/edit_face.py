"""edit_face(): part-based controller editing of a FaceKit-topology face (NEO-3DF). Arrays in, dataclass out.

    result = edit_face(vertices, faces, {"nose_height": 1.5, "eye_width": -1})
    keys = controller_keys(vertices, faces)      # per-controller offsets for Blender shape keys
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import WeightsError
from ..mesh import MeshError
from ..models import resolve

MODEL_FILE = "neo3df.pt"
#: controller values are in standard deviations of the training faces; beyond ±3 σ the part VAEs decode shapes
#: they never saw (a nose 1e9 σ tall is a head thousands of km high), so the CLI, the sliders and
#: `edit_face` all keep values finite and inside this range
SIGMA_RANGE = (-3.0, 3.0)


@dataclass
class Controller:
    name: str  # e.g. "nose_height"
    label: str  # e.g. "Nose Height"
    segment: str  # e.g. "nose"


@dataclass
class EditResult:
    vertices: np.ndarray  # (n, 3) metres, the exact (nonlinear, ARAP-blended) edit
    values: dict[str, float]
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class KeysResult:
    controllers: list[Controller]
    offsets: dict[str, np.ndarray]  # name -> (n, 3) metres per σ at this face
    timings: dict[str, float] = field(default_factory=dict)


def default_model_path() -> Path:
    """The shipped NEO-3DF model (WeightsError when it is missing)."""
    return resolve(MODEL_FILE)


@lru_cache(maxsize=2)
def load_editor(path: str | None = None):
    """The FaceEditor for a weights file (cached: the ARAP factorisation is reused across calls)."""
    from ..editing.edit import FaceEditor
    from ..editing.model import load_model

    p = Path(path) if path else default_model_path()
    if not p.is_file():
        raise WeightsError(f"editing model not found at {p}; train it with "
                           "`python -m face_addon.train.editing --out out/neo3df` and copy neo3df.pt there")
    return FaceEditor(load_model(p))


def controllers(model_path: str | None = None) -> list[Controller]:
    from ..editing.controllers import controller_label

    return [Controller(n, controller_label(n), s) for s, n in load_editor(model_path).names]


def _check(editor, vertices: np.ndarray, faces: np.ndarray | None) -> None:
    try:
        editor.model.check_topology(len(vertices), faces)
    except ValueError as exc:
        raise MeshError(str(exc)) from exc


def check_sigma(name: str, value: float) -> float:
    """`value` when it is finite and inside SIGMA_RANGE; MeshError naming the controller otherwise."""
    lo, hi = SIGMA_RANGE
    if not np.isfinite(value) or not lo <= value <= hi:
        raise MeshError(f"{name}={value}: controller values are standard deviations in {lo:g}..{hi:g}")
    return float(value)


def edit_face(vertices: np.ndarray, faces: np.ndarray | None, values: dict[str, float],
              model_path: str | None = None) -> EditResult:
    """Exact edit of a FaceKit-topology face by controller values in σ units (names as in `controllers()`).

    The vertices may be in any unit (guess_unit_scale: m, dm, cm, mm); the result is in the same unit, so a
    millimetre head gets a millimetre-sized edit."""
    from ..mesh import Mesh, guess_unit_scale

    values = {name: check_sigma(name, v) for name, v in values.items()}
    t0 = time.perf_counter()
    editor = load_editor(model_path)
    t1 = time.perf_counter()
    _check(editor, vertices, faces)
    vertices = np.asarray(vertices, np.float64)
    unit = guess_unit_scale(Mesh(vertices, faces if faces is not None else np.zeros((0, 3)), name="face").validate(
        allow_point_cloud=True))
    try:
        out = editor.edit(vertices * unit, values) / unit
    except KeyError as exc:
        raise MeshError(str(exc.args[0])) from exc
    return EditResult(out, dict(values), {"load_s": t1 - t0, "edit_s": time.perf_counter() - t1})


def controller_keys(vertices: np.ndarray, faces: np.ndarray | None, model_path: str | None = None) -> KeysResult:
    """Per-controller linearised offsets at this face (central difference of the exact edit at ±1σ)."""
    t0 = time.perf_counter()
    editor = load_editor(model_path)
    _check(editor, vertices, faces)
    t1 = time.perf_counter()
    offsets = editor.linear_keys(np.asarray(vertices, np.float64))
    return KeysResult(controllers(model_path), offsets, {"load_s": t1 - t0, "keys_s": time.perf_counter() - t1})
