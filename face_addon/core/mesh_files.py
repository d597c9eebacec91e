"""Reading and writing mesh files (.obj, .ply, .stl, .off, .glb, .gltf) as `Mesh`, for the CLI and the tests.

trimesh does the parsing; `process=False` keeps the file's vertex order, except in UV-textured files, where
trimesh splits vertices along UV seams (one vertex per position and texture coordinate; the pipelines weld
exact duplicates again). Colours follow core/color.py: vertex colour bytes are decoded to linear floats; a
texture is kept as its sRGB-encoded pixels with per-corner UVs (OBJ + MTL `map_Kd`, glTF/GLB base colour,
PLY `comment TextureFile`). A texture the file names but that cannot be found is reported (the mesh is then
read without it) instead of trimesh's placeholder image being used. Corrupt or empty files raise MeshError
with the file name.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .color import linear_to_srgb_bytes, srgb_to_linear
from .errors import missing_file_message
from .mesh import Mesh, MeshError

SUFFIXES = (".obj", ".ply", ".stl", ".off", ".glb", ".gltf")


def _obj_texture_names(path: Path) -> tuple[list[str], list[str]]:
    """(texture files, missing .mtl files) an OBJ names: `mtllib` lines, then each library's `map_Kd`."""
    textures, missing = [], []
    with open(path, "rb") as fh:
        libs = [line[7:].decode("utf-8", "replace").strip() for line in fh if line.startswith(b"mtllib ")]
    libs = [lib for lib in libs if lib]  # some exporters write an empty `mtllib`
    for lib in libs:
        mtl = path.parent / lib
        if not mtl.is_file():
            missing.append(lib)
            continue
        for line in mtl.read_text(errors="replace").splitlines():
            parts = line.strip().split()
            if parts and parts[0] == "map_Kd" and len(parts) > 1:
                textures.append(parts[-1])  # options such as -s u v come before the file name
    return textures, missing


def _ply_texture_names(path: Path) -> list[str]:
    """Texture files a PLY header names (`comment TextureFile NAME`, MeshLab's convention)."""
    names = []
    with open(path, "rb") as fh:
        for raw in fh:
            line = raw.decode("ascii", "replace").strip()
            if line == "end_header" or len(names) > 16:
                break
            parts = line.split(None, 2)
            if len(parts) == 3 and parts[0] == "comment" and parts[1] == "TextureFile":
                names.append(parts[2])
    return names


def _texture_check(path: Path) -> tuple[bool, str | None]:
    """(whether the file names a texture, a one-line message when that texture or its material library is
    missing). glTF/GLB: trimesh resolves their images itself, so True, None."""
    suffix = path.suffix.lower()
    if suffix == ".obj":
        names, missing_libs = _obj_texture_names(path)
        if missing_libs:
            return True, f"{path.name}: material library '{missing_libs[0]}' not found: reading the geometry only"
    elif suffix == ".ply":
        names = _ply_texture_names(path)
    else:
        return suffix in (".glb", ".gltf"), None
    missing = [n for n in names if not (path.parent / n).is_file()]
    if missing:
        return True, f"{path.name}: texture '{missing[0]}' not found beside it: reading the geometry only"
    return bool(names), None


def _texture_image(visual) -> np.ndarray | None:
    """(h, w, 3) float32 sRGB-encoded pixels of a trimesh textured visual's base colour image, if any."""
    material = getattr(visual, "material", None)
    image = getattr(material, "baseColorTexture", None) or getattr(material, "image", None)
    if image is None:
        return None
    return np.asarray(image.convert("RGB"), np.float32) / 255.0


def load_mesh(path: str | Path, warnings: list[str] | None = None) -> Mesh:
    """Load a mesh or point cloud; scenes with several geometries are concatenated (their textures packed
    into one atlas by trimesh). Problems that still leave a usable mesh (a missing texture) are appended to
    `warnings` as one-line messages."""
    import trimesh

    path = Path(path)
    if not path.is_file():
        raise MeshError(missing_file_message(path))
    if path.suffix.lower() not in SUFFIXES:
        raise MeshError(f"{path}: unsupported format (use one of {', '.join(SUFFIXES)})")
    named, problem = _texture_check(path)
    log = logging.getLogger("trimesh")
    level = log.level
    log.setLevel(logging.CRITICAL)  # trimesh logs a traceback for a missing texture; we report it in one line
    try:
        loaded = trimesh.load(str(path), process=False)
    except Exception as exc:  # trimesh raises many types for corrupt files
        raise MeshError(f"{path}: could not be read ({type(exc).__name__}: {exc})") from exc
    finally:
        log.setLevel(level)
    if isinstance(loaded, trimesh.Scene):
        geoms = [g for g in loaded.dump() if hasattr(g, "vertices")] if loaded.geometry else []
        if not geoms:
            raise MeshError(f"{path}: contains no geometry")
        loaded = trimesh.util.concatenate(geoms)
    verts = np.asarray(loaded.vertices, np.float64)
    faces = np.asarray(getattr(loaded, "faces", np.zeros((0, 3))), np.int64)
    if len(verts) == 0:
        raise MeshError(f"{path}: contains no vertices")
    colors = uv = texture = None
    visual = getattr(loaded, "visual", None)
    kind = getattr(visual, "kind", None)
    vc = visual.vertex_colors if kind == "vertex" else getattr(loaded, "colors", None)
    if vc is not None and len(vc) == len(verts):
        colors = srgb_to_linear(np.asarray(vc)[:, :3].astype(np.uint8))
    if problem is not None:
        if warnings is not None:
            warnings.append(problem)
    elif named and kind == "texture" and len(faces) and getattr(visual, "uv", None) is not None \
            and len(visual.uv) == len(verts):  # (not named: trimesh's placeholder image for UVs without one)
        texture = _texture_image(visual)
        if texture is not None:
            uv = np.asarray(visual.uv, np.float32)[faces]
    return Mesh(verts, faces, colors=colors, uv=uv, texture=texture, name=path.stem)


def save_mesh(mesh: Mesh, path: str | Path) -> None:
    """Write a mesh (format from the suffix), keeping vertex order and colours; atomically (a failure leaves no
    partial file, core/atomic_write.py)."""
    import trimesh

    from .atomic_write import atomic_path

    colors = None
    if mesh.colors is not None:
        colors = linear_to_srgb_bytes(mesh.colors)
    with atomic_path(path) as tmp:
        trimesh.Trimesh(mesh.vertices, mesh.faces, vertex_colors=colors, process=False).export(str(tmp))
