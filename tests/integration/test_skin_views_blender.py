"""Segment Skin's image branch in Blender: rendered views (temporary scene, nothing left behind), the scene's
cameras with background photos, 3D-only refusal for an image model, CLI with a cameras.json folder. Tiny random
models with an absolute encoder path, so the test does not depend on the shipped weights."""
from __future__ import annotations

import json

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_helpers import colored_sphere, group_weights  # noqa: E402


@pytest.fixture(scope="module")
def image_model(tmp_path_factory):
    import torch

    from face_addon.core.weights import load_weights, save_weights
    from face_addon.train import skin, skin_image

    d = tmp_path_factory.mktemp("skin_image_models")
    torch.manual_seed(0)
    si = skin_image.Settings(width=4, feature_channels=4)
    encoder = skin_image.export(skin_image.make_model(si), si, {"steps": 0}, d / "tiny_encoder.pt")
    s = skin.Settings(features=("sigma30", "hks", "color", "img_mu", "img_var"), width=8, n_blocks=1, k_eig=24,
                      image_encoder=str(encoder), run_name="tiny_p2p", extra={"image_channels": 4})
    net, arch = skin.make_network(s)
    stats = {"mean": [-4.0] + [0.0] * 16 + [0.5] * 3 + [0.0] * 8, "std": [1.0] * 28}
    path = skin.export(net, arch, s, stats, {"steps": 0}, d / "tiny_p2p.pt")
    state, meta = load_weights(path, "skin_segmentation", (1,))
    meta["image_encoder"] = str(encoder)  # absolute: not shipped beside the models
    return save_weights(path, "skin_segmentation", 1, state, meta)


def test_rendered_views_leave_nothing_behind(scene, image_model):
    obj = colored_sphere()
    def count():  # Blender's own 'Render Result' image (not saved with the file) appears after any render
        return {k: len([x for x in getattr(bpy.data, k) if x.name != "Render Result"])
                for k in ("objects", "meshes", "materials", "scenes", "cameras", "worlds", "images")}

    before = count()
    engine = scene.render.engine
    assert bpy.ops.face.segment_skin(weights=str(image_model), views="RENDER") == {"FINISHED"}
    assert "tiny_p2p" in obj["face_addon_skin"]
    after = count()
    assert after == before and scene.render.engine == engine  # the user's scene and data are untouched
    w = group_weights(obj, "Skin") + group_weights(obj, "Non-Skin")
    assert (w > 0).all()


def test_scene_camera_photos_and_3d_only_refusal(scene, image_model, tmp_path):
    from face_addon.core.dataset import write_png

    obj = colored_sphere()
    with pytest.raises(RuntimeError, match="background image"):
        bpy.ops.face.segment_skin(weights=str(image_model), views="CAMERAS")
    photo = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    write_png(tmp_path / "photo.png", photo)
    cam = bpy.data.objects.new("Photo Cam", bpy.data.cameras.new("Photo Cam"))
    scene.collection.objects.link(cam)
    cam.location = (0.0, -0.6, 0.0)
    cam.rotation_euler = (np.pi / 2, 0.0, 0.0)
    bg = cam.data.background_images.new()
    bg.image = bpy.data.images.load(str(tmp_path / "photo.png"))
    assert bpy.ops.face.segment_skin(weights=str(image_model), views="CAMERAS") == {"FINISHED"}
    assert "tiny_p2p" in obj["face_addon_skin"]
    with pytest.raises(RuntimeError, match="needs views"):
        bpy.ops.face.segment_skin(weights=str(image_model), views="NONE")


def test_cli_views_folder(tmp_path, image_model):
    import trimesh

    from face_addon.cli.main import main
    from face_addon.core.dataset import write_png
    from face_addon.core.geometry.multiview import scan_rig

    mesh = trimesh.creation.icosphere(4, radius=0.1)
    colors = np.where(mesh.vertices[:, 2:] > 0, [200, 60, 60, 255], [90, 90, 90, 255]).astype(np.uint8)
    trimesh.Trimesh(mesh.vertices, mesh.faces, vertex_colors=colors, process=False).export(tmp_path / "scan.ply")
    views = tmp_path / "views"
    views.mkdir()
    cams = scan_rig(np.asarray(mesh.vertices), resolution=32)[:3]
    (views / "cameras.json").write_text(json.dumps({"views": [c.to_json() for c in cams]}))
    for i in range(2):
        write_png(views / f"{i:02d}.png", np.full((32, 32, 3), 120, np.uint8))
    args = ["segment", str(tmp_path / "scan.ply"), "--out", str(tmp_path / "out.ply"), "--json",
            str(tmp_path / "out.json"), "--weights", str(image_model), "--views", str(views)]
    assert main(args) == 1  # 02.png is missing: a clear error, no output
    assert not (tmp_path / "out.ply").exists()
    write_png(views / "02.png", np.full((32, 32, 3), 120, np.uint8))
    assert main(args) == 0
    summary = json.loads((tmp_path / "out.json").read_text())
    assert summary["model"] == "tiny_p2p" and "lift_s" in summary["timings_s"]


def test_scan_view_renders_keep_stdout_for_the_result_line(capfd):
    """`face segment` promises one result line on stdout: the views' write_still "Saved:" lines go to stderr."""
    import trimesh

    from face_addon.blender.scan_views import render_views
    from face_addon.core.geometry.multiview import scan_rig
    from face_addon.core.mesh import Mesh

    s = trimesh.creation.icosphere(2, radius=0.1)
    render_views(Mesh(np.asarray(s.vertices), np.asarray(s.faces)), scan_rig(np.asarray(s.vertices), resolution=16)[:2])
    out, err = capfd.readouterr()
    assert "Saved:" not in out and err.count("Saved:") == 2


def test_render_background_matches_the_training_views():
    """The encoder learned the renders' background level: a change here silently shifts every image feature."""
    import trimesh

    from face_addon.blender.scan_views import render_views
    from face_addon.core.geometry.multiview import scan_rig
    from face_addon.core.mesh import Mesh

    s = trimesh.creation.icosphere(3, radius=0.1)
    cams = scan_rig(np.asarray(s.vertices), resolution=24)[:1]
    img = render_views(Mesh(np.asarray(s.vertices), np.asarray(s.faces), colors=np.full((len(s.vertices), 3), 200,
                                                                                       np.uint8)), cams)
    assert img.shape == (1, 24, 24, 3)
    assert np.allclose(img[0, 0, 0], 63 / 255, atol=1.5 / 255)       # background corner (sRGB 63 = linear 0.05)
    assert img[0, 12, 12].mean() > 0.6                                # the sphere, lit by its own colour


def test_texture_and_the_same_colours_baked_render_alike():
    """A textured scan and the same scan with the texture baked into vertex colours give the encoder the same
    picture: one colour convention (sRGB bytes in files, linear floats in between)."""
    import trimesh

    from face_addon.blender.scan_views import render_views
    from face_addon.core.geometry.multiview import scan_rig
    from face_addon.core.mesh import Mesh
    from face_addon.core.texture import with_surface_colors

    s = trimesh.creation.icosphere(3, radius=0.1)
    v, f = np.asarray(s.vertices), np.asarray(s.faces)
    texture = np.zeros((8, 8, 3), np.float32)
    texture[:] = np.array([150, 60, 25]) / 255.0           # one skin-like colour, with a dark channel
    textured = Mesh(v, f, uv=np.full((len(f), 3, 2), 0.5, np.float32), texture=texture)
    baked = Mesh(v, f, colors=with_surface_colors(textured).colors)
    cams = scan_rig(v, resolution=24)[6:7]
    a, b = render_views(textured, cams), render_views(baked, cams)
    assert np.abs(a - b).max() <= 2.5 / 255
    np.testing.assert_allclose(a[0, 12, 12], [150 / 255, 60 / 255, 25 / 255], atol=0.04)  # facing: ~ the texture


def test_textured_object_uses_its_image_texture(scene, image_model):
    """An object with UVs and an Image Texture node but no colour attribute runs the image model on its texture."""
    bpy.ops.mesh.primitive_uv_sphere_add(segments=48, ring_count=24, radius=0.1)
    obj = bpy.context.active_object
    img = bpy.data.images.new("scan texture", 16, 16)
    px = np.random.default_rng(0).uniform(0.2, 0.9, (16, 16, 4)).astype(np.float32)
    px[..., 3] = 1.0
    img.pixels.foreach_set(px.ravel())
    mat = bpy.data.materials.new("scan material")
    if mat.node_tree is None:  # Blender 4.x
        mat.use_nodes = True
    tex = mat.node_tree.nodes.new("ShaderNodeTexImage")
    tex.image = img
    bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    mat.node_tree.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    obj.data.materials.append(mat)
    assert len(obj.data.color_attributes) == 0
    assert bpy.ops.face.segment_skin(weights=str(image_model), views="RENDER") == {"FINISHED"}
    assert "tiny_p2p" in obj["face_addon_skin"] and "no vertex colours" not in obj["face_addon_skin_warnings"]
    assert "no face was found" in obj["face_addon_skin_warnings"]  # a sphere: views in the scene's own frame


def test_untextured_object_is_read_in_a_neutral_skin_tone(scene, image_model):
    """A mesh without colours or texture, views rendered: the image model runs with segment_skin's neutral skin tone
    (views rendered in it), and says so; without views the image model is refused as before."""
    bpy.ops.mesh.primitive_uv_sphere_add(segments=48, ring_count=24, radius=0.1)
    obj = bpy.context.active_object
    assert bpy.ops.face.segment_skin(weights=str(image_model), views="RENDER") == {"FINISHED"}
    assert "tiny_p2p" in obj["face_addon_skin"] and "neutral skin tone" in obj["face_addon_skin_warnings"]
    with pytest.raises(RuntimeError, match="needs vertex colours"):
        bpy.ops.face.segment_skin(weights=str(image_model), views="NONE")
