"""The scan turned into its face's own frame before Segment Skin's views are rendered.

The rendered rig assumes the face upright (metres, +Z up, looking along −Y); scans arrive +Y up, lying or turned
and in any unit, so the frame found in renders of the scan (`face_orientation.find_face_frame`) is applied
first. Kept apart from segment_skin.py because the CLI, the operator, the real-like training data and the
benchmarks all call it before (not inside) the pipeline.
"""
from __future__ import annotations

from dataclasses import replace

from ..mesh import Mesh
from ..progress import Progress
from . import face_orientation
from .face_orientation import FaceFrame


def face_upright(mesh: Mesh, progress: Progress | None = None) -> tuple[Mesh, str | None]:
    """(the scan in its face's own frame — metres, +Z up, the face looking along −Y, origin between the ears:
    what the rendered views' rig assumes — , a warning or None). The frame comes from the face found in renders
    of the scan (`face_orientation.find_face_frame`), so a +Y-up file, a lying scan and an upright one give the
    same views, and scans in arbitrary units get their size from the face (metric units snap to m/cm/mm).
    Per-vertex results need no mapping back: the vertices keep their order. Without a face found, the scan is
    returned unchanged with a warning; a frame found with low confidence comes with one (`FaceFrame.warning`).
    `progress` goes to the face search (core/progress.py)."""
    upright, _, note = face_upright_frame(mesh, progress)
    return upright, note


def face_upright_frame(mesh: Mesh, progress: Progress | None = None) -> tuple[Mesh, FaceFrame | None, str | None]:
    """`face_upright` with the face frame it used (None: none found), for callers that report it (`face segment
    --json`'s orientation and unit, the operator's info line)."""
    search = face_orientation.find_face_frame  # looked up at call time: tests replace the search
    frame = (search(mesh.vertices, mesh.faces, mesh.colors, mesh.uv, mesh.texture, progress=progress)
             if mesh.n_faces else None)
    if frame is None:
        return mesh, None, ("no face was found in renders of the scan, so its views assume it is upright "
                            "(+Z up, face towards -Y)")
    upright = (mesh.vertices - frame.centre) @ frame.rotation * frame.unit_scale
    return replace(mesh, vertices=upright), frame, frame.warning
