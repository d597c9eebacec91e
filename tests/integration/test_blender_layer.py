"""The Blender adapter on the bpy module: registration, mesh I/O, writers, operator errors, CLI."""
import subprocess
import sys

import numpy as np
import pytest

import bpy
from blender_helpers import group_weights, make_object

QUAD_V = [[0, 0, 0], [0.1, 0, 0], [0.1, 0.1, 0], [0, 0.1, 0], [0.05, 0.05, 0.05]]
QUAD_F = [(0, 1, 2, 3), (0, 1, 4), (1, 2, 4)]


def _face_classes():
    return {n for n in dir(bpy.types) if n.startswith(("FACE_OT_", "FACE_PT_", "FACE_AP_"))}


def test_register_unregister_idempotent():
    import face_addon

    bpy.ops.wm.read_factory_settings(use_empty=True)
    before = _face_classes()
    face_addon.register()
    face_addon.register()
    assert "FACE_PT_main" in _face_classes() and hasattr(bpy.ops.face, "check_mesh")
    assert "FACE_OT_check_mesh" in _face_classes()
    face_addon.unregister()
    face_addon.unregister()
    assert _face_classes() == before


def test_read_mesh_triangulates_ngons_in_world_space(scene):
    from face_addon.blender.mesh_io import read_mesh

    obj = make_object("Q", QUAD_V, QUAD_F)
    obj.location = (1.0, 2.0, 3.0)
    bpy.context.view_layer.update()
    mesh, warnings = read_mesh(obj, space="WORLD")
    assert mesh.n_faces == 4 and mesh.n_vertices == 5 and not warnings
    np.testing.assert_allclose(mesh.vertices, np.array(QUAD_V) + [1, 2, 3], atol=1e-6)
    local, _ = read_mesh(obj, space="LOCAL")
    np.testing.assert_allclose(local.vertices, QUAD_V, atol=1e-6)
    assert mesh.uv is None


def test_read_mesh_colors_and_uv(scene):
    from face_addon.blender.mesh_io import read_mesh

    obj = make_object("C", QUAD_V, QUAD_F)
    me = obj.data
    attr = me.color_attributes.new("Col", "FLOAT_COLOR", "CORNER")
    corner_v = np.array([l.vertex_index for l in me.loops])
    rgba = np.zeros((len(corner_v), 4), np.float32)
    rgba[:, 0] = corner_v / 4.0  # red encodes the vertex index
    rgba[:, 3] = 1
    attr.data.foreach_set("color", rgba.ravel())
    me.color_attributes.active_color = attr
    me.uv_layers.new(name="UV")
    mesh, _ = read_mesh(obj)
    np.testing.assert_allclose(mesh.colors[:, 0], np.arange(5) / 4.0, atol=1e-6)
    assert mesh.uv.shape == (4, 3, 2)


def test_missing_texture_is_a_warning_not_an_error(scene):
    from face_addon.blender.mesh_io import read_mesh

    obj = make_object("T", QUAD_V, QUAD_F)
    mat = bpy.data.materials.new("M")
    if mat.node_tree is None:  # Blender 4.x
        mat.use_nodes = True
    tex = mat.node_tree.nodes.new("ShaderNodeTexImage")
    img = bpy.data.images.new("skin", 4, 4)
    img.source, img.filepath = "FILE", "/nonexistent/skin.png"  # as after opening a .blend on another machine
    img.reload()
    tex.image = img
    obj.data.materials.append(mat)
    mesh, warnings = read_mesh(obj, with_texture=True)
    assert mesh.texture is None and any("missing file" in w for w in warnings)


def test_vertex_group_writer_replaces_only_ours(scene):
    from face_addon.blender.writers import write_vertex_group

    obj = make_object("V", QUAD_V, QUAD_F)
    user = obj.vertex_groups.new(name="UserGroup")
    user.add([0, 1], 0.25, "REPLACE")
    w = np.array([0.0, 0.1234, 0.5, 0.999, 1.0])
    write_vertex_group(obj, "Skin", w)
    write_vertex_group(obj, "Skin", w[::-1])  # re-run replaces
    assert [g.name for g in obj.vertex_groups] == ["UserGroup", "Skin"]
    got = group_weights(obj, "Skin")
    np.testing.assert_allclose(got, w[::-1], atol=5e-4)
    assert 4 not in [v.index for v in obj.data.vertices if any(g.group == obj.vertex_groups["Skin"].index for g in v.groups)]
    np.testing.assert_allclose(group_weights(obj, "UserGroup"), [0.25, 0.25, 0, 0, 0])
    with pytest.raises(ValueError, match="weights for"):
        write_vertex_group(obj, "Skin", w[:3])


def test_shape_key_writer(scene):
    from face_addon.blender.writers import write_shape_keys

    obj = make_object("S", QUAD_V, QUAD_F)
    obj.shape_key_add(name="Basis")
    obj.shape_key_add(name="UserKey")
    off = np.zeros((5, 3))
    off[4, 2] = 0.02
    write_shape_keys(obj, {"Nose Height": off}, values={"Nose Height": 1.0})
    write_shape_keys(obj, {"Nose Height": off * 2}, values={"Nose Height": 1.0})
    names = [k.name for k in obj.data.shape_keys.key_blocks]
    assert names == ["Basis", "UserKey", "Nose Height"]
    key = obj.data.shape_keys.key_blocks["Nose Height"]
    assert key.data[4].co.z == pytest.approx(0.05 + 0.04, abs=1e-6)
    dg = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(dg).to_mesh()
    assert ev.vertices[4].co.z == pytest.approx(0.09, abs=1e-6)


def test_empties_writer_replaces_only_ours(scene):
    from face_addon.blender.writers import write_empties

    obj = make_object("E", QUAD_V, QUAD_F)
    obj.location = (0, 0, 1)
    pos = np.array([[0.0, 0.0, 0.0], [0.1, 0.0, 0.0]])
    coll = write_empties(obj, "E Landmarks", ["LM_a", "LM_b"], pos, 0.01, {"confidence": [0.9, 0.1]})
    user_obj = bpy.data.objects.new("user note", None)
    coll.objects.link(user_obj)
    coll = write_empties(obj, "E Landmarks", ["LM_a", "LM_b"], pos + 0.01, 0.01, {"confidence": [0.8, 0.2]})
    bpy.context.view_layer.update()
    ours = sorted(o.name for o in coll.objects if o.get("face_addon"))
    assert ours == ["LM_a", "LM_b"] and "user note" in coll.objects
    b = bpy.data.objects["LM_b"]
    assert b.parent == obj and b["confidence"] == pytest.approx(0.2)
    np.testing.assert_allclose(np.array(b.matrix_world.translation), [0.11, 0.01, 1.01], atol=1e-6)


def test_check_mesh_operator_reports(scene):
    obj = make_object("Scan", np.array(QUAD_V) * 1000, QUAD_F)
    assert bpy.ops.face.check_mesh() == {"FINISHED"}
    assert "millimetres" in obj["face_addon_check"] and "n-gons" not in obj["face_addon_check"]


@pytest.mark.parametrize(
    "setup, match",
    [
        ("none", "Select a mesh"),
        ("camera", "not a mesh"),
        ("empty_mesh", "no vertices"),
        ("nan", "NaN"),
    ],
)
def test_operator_user_errors_are_reports(scene, setup, match):
    if setup == "camera":
        cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
        scene.collection.objects.link(cam)
        bpy.context.view_layer.objects.active = cam
    elif setup == "empty_mesh":
        make_object("Empty", [], [])
    elif setup == "nan":
        make_object("NaN", [[0, 0, 0], [float("nan"), 0, 0], [0, 1, 0]], [(0, 1, 2)])
    # poll failures and ERROR reports both surface as RuntimeError with the message when called from Python;
    # the user sees the same text in the status bar, never a traceback
    with pytest.raises(RuntimeError, match=match):
        bpy.ops.face.check_mesh()


@pytest.mark.parametrize("operator", ["detect_landmarks", "segment_skin", "check_mesh"])
def test_empty_mesh_error_names_the_object(scene, operator):
    """The pipelines get arrays and would call an empty object 'mesh' ("'mesh' has no vertices."): the message
    names the user's object."""
    make_object("Scan Without Vertices", [], [])
    with pytest.raises(RuntimeError, match="'Scan Without Vertices' has no vertices"):
        getattr(bpy.ops.face, operator)()


def test_cli_module_info_and_errors(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "face_addon", *a], capture_output=True, text=True,
                                    cwd=str(tmp_path), env={**__import__("os").environ, "PYTHONPATH": str(
                                        __import__("pathlib").Path(__file__).resolve().parents[2])})
    info = run("info")
    assert info.returncode == 0, info.stderr
    blender = "Blender {}.{}".format(*bpy.app.version[:2])  # 5.0 or 5.3: CI runs both bpy modules
    assert blender in info.stdout and "Check Mesh: ready" in info.stdout
    bad = run("check", str(tmp_path / "missing.ply"))
    assert bad.returncode == 1 and "no such file" in bad.stderr and "Traceback" not in bad.stderr
    (tmp_path / "empty.obj").write_text("")
    (tmp_path / "tri.obj").write_text("v 0 0 0\nv 0.2 0 0\nv 0 0.2 0\nf 1 2 3\n")
    several = run("check", "empty.obj", "tri.obj")  # a bad file among several: the others are still checked
    assert several.returncode == 1 and "contains no geometry" in several.stderr and "tri.obj:" in several.stdout
    assert run("nonsense").returncode == 2


def test_read_mesh_concave_ngon_uses_blender_triangulation(scene):
    from face_addon.blender.mesh_io import read_mesh

    # an arrow-shaped concave pentagon: a naive fan from vertex 0 would create a triangle outside the polygon
    v = [[0, 0, 0], [0.2, 0, 0], [0.2, 0.2, 0], [0.1, 0.05, 0], [0, 0.2, 0]]
    obj = make_object("P", v, [(0, 1, 2, 3, 4)])
    mesh, _ = read_mesh(obj)
    assert mesh.n_faces == 3
    tri = mesh.vertices[mesh.faces]
    area = 0.5 * np.abs(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])[:, 2]).sum()
    assert area == pytest.approx(0.2 * 0.2 - 0.5 * 0.2 * 0.15, abs=1e-7)  # triangles tile the polygon exactly


def test_read_mesh_fast_triangulation_matches_polygons(scene):
    from face_addon.blender.mesh_io import read_mesh

    # quads and triangles mixed (the counted loop starts must match Blender's polygons exactly)
    v = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [2, 0, 0], [2, 1, 0], [3, 0, 0]]
    faces = [(0, 1, 2), (1, 4, 5, 2), (4, 6, 5), (0, 2, 3)]
    obj = make_object("M", v, faces)
    mesh, _ = read_mesh(obj, space="LOCAL")
    want = [p.vertices[:3] for p in obj.data.polygons]
    want += [[p.vertices[0], p.vertices[2], p.vertices[3]] for p in obj.data.polygons if len(p.vertices) == 4]
    np.testing.assert_array_equal(mesh.faces, want)


def test_vertex_group_writer_min_weight_and_other_active_object(scene):
    from face_addon.blender.writers import write_vertex_group

    obj = make_object("W", QUAD_V, QUAD_F)
    other = make_object("Other", QUAD_V, QUAD_F)
    bpy.context.view_layer.objects.active = other
    attrs_before = set(obj.data.attributes.keys())
    write_vertex_group(obj, "Skin", np.array([0.05, 0.2, 0.3337, 0.9, 2.0]), min_weight=0.1)
    np.testing.assert_allclose(group_weights(obj, "Skin"), [0, 0.2, 0.3337, 0.9, 1.0], atol=1e-6)
    assert "Skin" not in other.vertex_groups and bpy.context.view_layer.objects.active == other
    assert set(obj.data.attributes.keys()) == attrs_before
    write_vertex_group(obj, "Empty", np.zeros(5))  # no vertex above min_weight: an empty group
    assert [g.name for g in obj.vertex_groups] == ["Skin", "Empty"] and not group_weights(obj, "Empty").any()


def test_render_sheet_prints_nothing_and_leaves_only_its_png(scene, tmp_path, capfd):
    """Renders save through render_still: no Blender "Saved: '<temp tile>'" line per view (face demo printed 5)."""
    from face_addon.blender.render import render_sheet

    obj = make_object("Tri", [[0, 0, 0], [0.1, 0, 0], [0, 0, 0.1]], [(0, 1, 2)])
    out = render_sheet(obj, tmp_path / "sheet.png", views=("front", "side"), resolution=32, samples=1)
    assert "Saved:" not in "".join(capfd.readouterr())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sheet.png"] and out == tmp_path / "sheet.png"
