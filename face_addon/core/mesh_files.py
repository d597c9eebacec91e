"""Reading and writing mesh files (.obj, .ply, .stl, .off, .glb) as `Mesh`, for the CLI and the tests.

trimesh does the parsing; `process=False` keeps the file's vertex order so per-vertex results line up with
the input. Corrupt or empty files raise MeshError with the file name.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .mesh import Mesh, MeshError

SUFFIXES = (".obj", ".ply", ".stl", ".off", ".glb", ".gltf")


def load_mesh(path: str | Path) -> Mesh:
    """Load a mesh or point cloud; scenes with several geometries are concatenated."""
    import trimesh

    path = Path(path)
    if not path.is_file():
        raise MeshError(f"{path}: no such file")
    if path.suffix.lower() not in SUFFIXES:
        raise MeshError(f"{path}: unsupported format (use one of {', '.join(SUFFIXES)})")
    try:
        loaded = trimesh.load(str(path), process=False)
    except Exception as exc:  # trimesh raises many types for corrupt files
        raise MeshError(f"{path}: could not be read ({type(exc).__name__}: {exc})") from exc
    if isinstance(loaded, trimesh.Scene):
        geoms = [g for g in loaded.dump() if hasattr(g, "vertices")] if loaded.geometry else []
        if not geoms:
            raise MeshError(f"{path}: contains no geometry")
        loaded = trimesh.util.concatenate(geoms)
    verts = np.asarray(loaded.vertices, np.float64)
    faces = np.asarray(getattr(loaded, "faces", np.zeros((0, 3))), np.int64)
    colors = None
    visual = getattr(loaded, "visual", None)
    vc = visual.vertex_colors if visual is not None and visual.kind == "vertex" else getattr(loaded, "colors", None)
    if vc is not None and len(vc) == len(verts):
        colors = (np.asarray(vc)[:, :3].astype(np.float32) / 255.0) ** 2.2  # sRGB bytes -> approx. linear
    if len(verts) == 0:
        raise MeshError(f"{path}: contains no vertices")
    return Mesh(verts, faces, colors=colors, name=path.stem)


def save_mesh(mesh: Mesh, path: str | Path) -> None:
    """Write a mesh (format from the suffix), keeping vertex order and colours."""
    import trimesh

    colors = None
    if mesh.colors is not None:
        colors = (np.clip(mesh.colors, 0, 1) ** (1 / 2.2) * 255).round().astype(np.uint8)
    trimesh.Trimesh(mesh.vertices, mesh.faces, vertex_colors=colors, process=False).export(str(path))
