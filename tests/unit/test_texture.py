"""UV-textured scans (core/texture.py, core/mesh_files.py): bilinear sampling in linear light, per-vertex
colours, and the same colours from OBJ + MTL, glTF/GLB and PLY TextureFile files written at test time; a
missing texture is a one-line warning. The real textured scans, where present, through a skip-if-absent
fixture."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh
from PIL import Image

from face_addon.core.color import srgb_to_linear
from face_addon.core.mesh import Mesh
from face_addon.core.mesh_files import load_mesh
from face_addon.core.texture import sample_texture, vertex_colors_from_texture, with_surface_colors

TEX = np.array([[[255, 0, 0], [0, 255, 0]],
                [[0, 0, 255], [255, 255, 255]]], np.uint8)   # row 0 is the top of the image (v = 1)


def test_texel_centres_give_the_texel_and_mixing_is_linear():
    centres = np.array([[0.25, 0.75], [0.75, 0.75], [0.25, 0.25], [0.75, 0.25]])
    np.testing.assert_allclose(sample_texture(TEX, centres), srgb_to_linear(TEX.reshape(-1, 3)), atol=1e-6)
    np.testing.assert_allclose(sample_texture(TEX / 255.0, centres), sample_texture(TEX, centres), atol=1e-6)
    mid = sample_texture(TEX, np.array([[0.5, 0.75]]))[0]          # halfway between red and green, in light
    np.testing.assert_allclose(mid, [0.5, 0.5, 0.0], atol=1e-6)
    np.testing.assert_allclose(sample_texture(TEX, centres + 1.0), sample_texture(TEX, centres), atol=1e-6)  # wraps


def test_vertex_colour_is_the_mean_over_its_corners():
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    uv = np.array([[[0.25, 0.75], [0.75, 0.75], [0.25, 0.25]],
                   [[0.75, 0.25], [0.25, 0.25], [0.75, 0.25]]], np.float32)   # vertex 0 sits on a seam
    c = vertex_colors_from_texture(5, faces, uv, TEX)
    lin = srgb_to_linear(TEX.reshape(-1, 3))
    np.testing.assert_allclose(c[0], (lin[0] + lin[3]) / 2, atol=1e-6)
    np.testing.assert_allclose(c[1], lin[1], atol=1e-6)
    np.testing.assert_allclose(c[4], lin[[0, 1, 2, 3, 2, 3]].mean(0), atol=1e-6)  # in no triangle: mean of the samples


def _textured_box(tmp_path):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (16, 16, 3)).astype(np.uint8)
    box = trimesh.creation.box(extents=(0.2, 0.25, 0.22))
    uv = rng.uniform(0.05, 0.95, (len(box.vertices), 2))
    box.visual = trimesh.visual.TextureVisuals(uv=uv, image=Image.fromarray(image))
    return box, image, uv


def test_obj_gltf_glb_and_ply_give_the_same_colours(tmp_path):
    box, image, uv = _textured_box(tmp_path)
    truth = vertex_colors_from_texture(len(box.vertices), box.faces, uv[box.faces], image)
    for name in ("obj", "glb", "gltf"):
        (tmp_path / name).mkdir()
        box.export(tmp_path / name / f"scan.{name}")
    Image.fromarray(image).save(tmp_path / "tex.png")
    header = (f"ply\nformat ascii 1.0\ncomment TextureFile tex.png\nelement vertex {len(box.vertices)}\n"
              "property float x\nproperty float y\nproperty float z\nproperty float texture_u\n"
              f"property float texture_v\nelement face {len(box.faces)}\nproperty list uchar int vertex_indices\n"
              "end_header\n")
    body = "".join(f"{x} {y} {z} {u} {v}\n" for (x, y, z), (u, v) in zip(box.vertices, uv))
    body += "".join(f"3 {a} {b} {c}\n" for a, b, c in box.faces)
    (tmp_path / "scan.ply").write_text(header + body)
    for path in (tmp_path / "obj/scan.obj", tmp_path / "glb/scan.glb", tmp_path / "gltf/scan.gltf",
                 tmp_path / "scan.ply"):
        warnings: list[str] = []
        mesh = with_surface_colors(load_mesh(path, warnings))
        assert not warnings and mesh.texture is not None and mesh.uv.shape == (mesh.n_faces, 3, 2), path
        # vertices may come back split or reordered: compare by position
        order = [int(np.argmin(np.linalg.norm(box.vertices - p, axis=1))) for p in mesh.vertices]
        np.testing.assert_allclose(mesh.colors, truth[order], atol=2e-3, err_msg=str(path))


def test_missing_texture_is_one_line_and_geometry_only(tmp_path):
    box, image, uv = _textured_box(tmp_path)
    box.export(tmp_path / "scan.obj")
    texture = next(p for p in tmp_path.iterdir() if p.suffix == ".png")
    texture.unlink()
    warnings: list[str] = []
    mesh = with_surface_colors(load_mesh(tmp_path / "scan.obj", warnings))
    assert mesh.texture is None and mesh.colors is None and mesh.n_faces == 12
    assert len(warnings) == 1 and "\n" not in warnings[0] and texture.name in warnings[0] and "not found" in warnings[0]
    obj = (tmp_path / "scan.obj").read_text()
    (tmp_path / "scan.obj").write_text("mtllib \n" + obj)  # an empty library name (Artec's exporter) is no error
    warnings.clear()
    assert load_mesh(tmp_path / "scan.obj", warnings).texture is None and len(warnings) == 1
    (tmp_path / "material.mtl").unlink()
    warnings.clear()
    assert load_mesh(tmp_path / "scan.obj", warnings).texture is None and "material.mtl" in warnings[0]


def test_texture_wins_over_vertex_colours():
    faces = np.array([[0, 1, 2]])
    uv = np.full((1, 3, 2), 0.25, np.float32)
    mesh = Mesh(np.eye(3), faces, colors=np.zeros((3, 3), np.float32), uv=uv, texture=TEX / 255.0)
    np.testing.assert_allclose(with_surface_colors(mesh).colors, srgb_to_linear(TEX[[1, 1, 1], [0, 0, 0]]), atol=1e-6)
    plain = Mesh(np.eye(3), faces, colors=np.zeros((3, 3), np.float32))
    assert with_surface_colors(plain) is plain


@pytest.fixture(scope="module")
def real_scans(real_data):
    return real_data / "scans"


def test_real_textured_scans_read_with_their_texture(real_scans):
    for path in (real_scans / "lee_perry_smith/LeePerrySmith_decoded.obj", real_scans / "fran/fran_cut_converted.obj"):
        warnings: list[str] = []
        mesh = with_surface_colors(load_mesh(path, warnings))
        assert not warnings and mesh.texture is not None and mesh.colors.shape == (mesh.n_vertices, 3)
        assert mesh.colors.std(0).max() > 0.02          # an image, not a flat placeholder
        r, g, _ = mesh.colors.mean(0)
        assert r > 1.5 * g                               # both are mostly skin: reddish
