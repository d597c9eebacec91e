"""The `Mesh` value type every pipeline consumes: plain arrays, no Blender.

Data flows Blender object -> Mesh -> pipeline -> result -> writer, so this is the one contract between the
Blender adapter and the algorithms. `validate()` turns every bad-input case into a `MeshError` with a message
a user can act on, before any algorithm sees the data.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .errors import MeshError  # defined with the other user errors; imported from here too

__all__ = ["Mesh", "MeshError", "guess_unit_scale"]


@dataclass(frozen=True)
class Mesh:
    """A triangle mesh (or point cloud when `faces` is empty) in metres, Blender axes (+Z up, -Y forward).

    vertices: (n, 3) float64 positions.
    faces:    (m, 3) int64 triangle indices (n-gons are triangulated by the reader).
    colors:   optional (n, 3) float32 *linear* RGB in [0, 1] per vertex, always (core/color.py converts).
    uv:       optional (m, 3, 2) float32 per-corner texture coordinates (u right, v up, as OBJ and Blender).
    texture:  optional (h, w, 3) float32 *sRGB-encoded* image in [0, 1] the uv refer to (an image file's bytes
              / 255, row 0 at the top); core/texture.py samples it into linear per-vertex colours.
    name:     for messages only.
    """

    vertices: np.ndarray
    faces: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))
    colors: np.ndarray | None = None
    uv: np.ndarray | None = None
    texture: np.ndarray | None = None
    name: str = "mesh"

    def __post_init__(self) -> None:
        object.__setattr__(self, "vertices", np.asarray(self.vertices, np.float64).reshape(-1, 3))
        object.__setattr__(self, "faces", np.asarray(self.faces, np.int64).reshape(-1, 3))

    @property
    def n_vertices(self) -> int:
        return len(self.vertices)

    @property
    def n_faces(self) -> int:
        return len(self.faces)

    @property
    def is_point_cloud(self) -> bool:
        return self.n_faces == 0

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned (min, max) corners."""
        return self.vertices.min(axis=0), self.vertices.max(axis=0)

    def extent(self) -> float:
        """Largest side of the bounding box, in the mesh's units."""
        lo, hi = self.bounds()
        return float((hi - lo).max())

    def validate(self, *, allow_point_cloud: bool = False) -> "Mesh":
        """Check the mesh is usable; raise `MeshError` with a user-facing reason otherwise. Returns self."""
        if self.n_vertices == 0:
            raise MeshError(f"'{self.name}' has no vertices.")
        if not np.isfinite(self.vertices).all():
            bad = int((~np.isfinite(self.vertices)).any(axis=1).sum())
            raise MeshError(f"'{self.name}' has {bad} vertices with NaN or infinite coordinates; fix or delete them.")
        if self.is_point_cloud and not allow_point_cloud:
            raise MeshError(f"'{self.name}' has no faces; this operation needs a surface, not a point cloud.")
        if self.n_faces and (self.faces.min() < 0 or self.faces.max() >= self.n_vertices):
            raise MeshError(f"'{self.name}' has face indices outside its {self.n_vertices} vertices.")
        if self.extent() == 0.0:
            raise MeshError(f"'{self.name}' is collapsed to a single point.")
        if self.colors is not None and self.colors.shape != (self.n_vertices, 3):
            raise MeshError(f"'{self.name}' colors shape {self.colors.shape} does not match {self.n_vertices} vertices.")
        if self.uv is not None and self.uv.shape != (self.n_faces, 3, 2):
            raise MeshError(f"'{self.name}' uv shape {self.uv.shape} does not match {self.n_faces} triangles.")
        if self.texture is not None and (self.texture.ndim != 3 or self.texture.shape[2] != 3
                                         or 0 in self.texture.shape):
            raise MeshError(f"'{self.name}' texture must be an (h, w, 3) image, got shape {self.texture.shape}.")
        return self

    def with_vertices(self, vertices: np.ndarray) -> "Mesh":
        """Same topology and attributes, new positions."""
        return replace(self, vertices=vertices)


#: sizes (m) a mesh can have once its unit is known, generous around a head (face crops, whole-body scans,
#: a scan with stray far-away points); a mesh that no unit brings into this range (a 0.47 µm or a 473 km
#: "head") is refused instead of guessed
PLAUSIBLE_SIZE_M = (0.01, 10.0)


def guess_unit_scale(mesh: Mesh, expected_size_m: float = 0.25) -> float:
    """Factor that brings a head-sized mesh to metres: 1.0 for metres, 0.001 for millimetres, 0.01 for cm.

    Scans often arrive in millimetres; callers report the detected unit instead of silently rescaling.
    MeshError when no unit makes the mesh head-sized (PLAUSIBLE_SIZE_M).
    """
    size = mesh.extent()
    best, best_err = 1.0, np.inf
    for factor in (1.0, 0.1, 0.01, 0.001):
        err = abs(np.log(size * factor / expected_size_m))
        if err < best_err:
            best, best_err = factor, err
    lo, hi = PLAUSIBLE_SIZE_M
    if not lo <= size * best <= hi:
        raise MeshError(f"'{mesh.name}' is {size:.3g} units across: in no unit (m, dm, cm, mm) is that a head "
                        f"({lo * 100:g} cm to {hi:g} m); scale it to one of those units first")
    return best
