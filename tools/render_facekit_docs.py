"""Render the FaceKit pictures in docs/img/ with the bpy module (Cycles, CPU).

    .venv/bin/python tools/render_facekit_docs.py [--out docs/img] [--samples 16]

Each figure is one scene: meshes built from FaceKit arrays (vertex colours for annotations), an
orthographic front camera, a sun and a grey world. Only this tool and the Blender layer import bpy.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bpy  # noqa: E402

from face_addon.blender.render import use_cycles_png  # noqa: E402
from face_addon.core.facekit import ensure_facekit, load_facekit  # noqa: E402

SKIN = (0.80, 0.62, 0.52)
PALETTE = [(0.90, 0.10, 0.10), (0.10, 0.45, 0.95), (0.95, 0.75, 0.05), (0.10, 0.75, 0.25), (0.75, 0.20, 0.85),
           (0.05, 0.80, 0.85), (0.98, 0.45, 0.05), (0.55, 0.35, 0.20)]
LANDMARK_GROUPS = [(0, 17), (17, 22), (22, 27), (27, 31), (31, 36), (36, 42), (42, 48), (48, 68)]


def reset_scene(width: int, height: int, samples: int) -> bpy.types.Scene:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    use_cycles_png(scene, width, height, samples, denoise=True, transparent=True)  # transparent: small PNGs
    scene.render.image_settings.color_mode = "RGBA"
    scene.render.image_settings.compression = 100
    scene.view_settings.view_transform = "Standard"
    world = bpy.data.worlds.new("world")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs[0].default_value = (0.9, 0.9, 0.9, 1)
    world.node_tree.nodes["Background"].inputs[1].default_value = 0.6
    scene.world = world
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sun.data.energy = 3.0
    sun.rotation_euler = (np.radians(60), np.radians(-20), np.radians(-25))
    scene.collection.objects.link(sun)
    return scene


def add_camera(scene, centre, ortho_scale: float) -> None:
    cam = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    cam.data.type = "ORTHO"
    cam.data.ortho_scale = ortho_scale
    cam.location = (centre[0], -2.0, centre[1])
    cam.rotation_euler = (np.pi / 2, 0, 0)  # looks along +Y, i.e. at the face (which looks toward -Y)
    scene.collection.objects.link(cam)
    scene.camera = cam


def vertex_color_material(name: str) -> bpy.types.Material:
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes = mat.node_tree.nodes
    attr = nodes.new("ShaderNodeAttribute")
    attr.attribute_name = "Col"
    bsdf = nodes["Principled BSDF"]
    bsdf.inputs["Roughness"].default_value = 0.6
    mat.node_tree.links.new(attr.outputs["Color"], bsdf.inputs["Base Color"])
    return mat


def add_mesh(scene, name: str, verts: np.ndarray, faces: np.ndarray, colors: np.ndarray, offset=(0, 0, 0),
             rot_z: float = 0.0, material=None) -> None:
    c, s = np.cos(rot_z), np.sin(rot_z)
    verts = verts @ np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]]) + np.asarray(offset)
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(verts))
    mesh.vertices.foreach_set("co", verts.astype(np.float32).ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.astype(np.int32).ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.polygons.foreach_set("loop_total", np.full(len(faces), 3, np.int32))
    mesh.update()
    mesh.validate()
    attr = mesh.color_attributes.new("Col", "FLOAT_COLOR", "POINT")
    rgba = np.concatenate([colors, np.ones((len(colors), 1))], 1).astype(np.float32)
    attr.data.foreach_set("color", rgba.ravel())
    mesh.polygons.foreach_set("use_smooth", np.ones(len(faces), bool))
    obj = bpy.data.objects.new(name, mesh)
    obj.data.materials.append(material or vertex_color_material(name))
    scene.collection.objects.link(obj)


def add_head(scene, fk, verts_by_part: dict, colors, offset=(0, 0, 0), rot_z=0.0, material=None,
             extras: bool = True) -> None:
    """The head plus its extras (eyeballs white, teeth ivory, tongue pink, lashes dark)."""
    add_mesh(scene, "head", verts_by_part["head"], fk.faces, colors, offset, rot_z, material)
    if not extras:
        return
    extra_colors = {"eyeballs": (0.95, 0.95, 0.95), "teeth": (0.9, 0.88, 0.8), "tongue": (0.8, 0.4, 0.45),
                    "eyelashes": (0.1, 0.08, 0.07)}
    for name, mesh in fk.extras.items():
        col = np.tile(extra_colors[name], (mesh.n_vertices, 1))
        add_mesh(scene, name, verts_by_part[name], mesh.faces, col, offset, rot_z)


def evaluate_all(fk, a_id=None, a_exp=None) -> dict:
    out = {"head": fk.evaluate(a_id, a_exp)}
    out.update({k: m.evaluate(a_id, a_exp) for k, m in fk.extras.items()})
    return out


def add_text(scene, body: str, location, size: float, color) -> None:
    curve = bpy.data.curves.new(f"t{body}", "FONT")
    curve.body = body
    curve.size = size
    curve.align_x, curve.align_y = "CENTER", "CENTER"
    obj = bpy.data.objects.new(f"t{body}", curve)
    obj.location = location
    obj.rotation_euler = (np.pi / 2, 0, 0)
    mat = bpy.data.materials.new(f"t{body}")
    mat.use_nodes = True
    em = mat.node_tree.nodes.new("ShaderNodeEmission")
    em.inputs["Color"].default_value = (*color, 1)
    mat.node_tree.links.new(em.outputs[0], mat.node_tree.nodes["Material Output"].inputs[0])
    curve.materials.append(mat)
    scene.collection.objects.link(obj)


def add_sphere(scene, location, radius: float, color) -> None:
    bpy.ops.mesh.primitive_uv_sphere_add(radius=radius, location=location, segments=12, ring_count=6)
    obj = bpy.context.active_object
    mat = bpy.data.materials.new("dot")
    mat.use_nodes = True
    mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (*color, 1)
    obj.data.materials.append(mat)


def render(scene, path: Path) -> None:
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def landmarks_figure(fk, out: Path, samples: int) -> None:
    scene = reset_scene(820, 510, samples)
    skin = np.tile(SKIN, (fk.n_vertices, 1))
    verts = evaluate_all(fk)
    add_head(scene, fk, verts, skin)
    side_offset = (0.3, 0, 0)
    add_head(scene, fk, verts, skin, offset=side_offset, rot_z=-np.pi / 2)  # left profile, face to image-left
    lms = fk.landmarks(fk.template)
    c, s = 0.0, -1.0
    side = lms @ np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]]) + side_offset
    for g, (lo, hi) in enumerate(LANDMARK_GROUPS):
        for i in range(lo, hi):
            add_sphere(scene, lms[i], 0.0022, PALETTE[g])
            add_text(scene, str(i), lms[i] + (0.0, -0.03, 0.005), 0.0055, (0, 0, 0))
            if lms[i, 0] >= -1e-6:  # left half and midline are visible in the left profile
                add_sphere(scene, side[i], 0.0022, PALETTE[g])
    add_camera(scene, (0.15, -0.02), 0.48)
    render(scene, out / "facekit_landmarks.png")


def labels_figure(fk, groups: dict, out: Path, name: str, samples: int) -> None:
    colors = np.tile((0.7, 0.7, 0.7), (fk.n_vertices, 1))
    for i, (key, idx) in enumerate(groups.items()):
        colors[idx] = PALETTE[i % len(PALETTE)]
    scene = reset_scene(840, 440, samples)
    verts = evaluate_all(fk)
    for k, rot in enumerate((0.0, -np.pi / 5, -np.pi / 2)):  # front, three-quarter, profile facing inwards
        add_head(scene, fk, verts, colors, offset=(0.24 * k, 0, 0), rot_z=rot, extras=False)
    for i, key in enumerate(groups):  # legend along the bottom edge
        add_text(scene, key, (-0.02 + 0.072 * i, -0.4, -0.175), 0.013, PALETTE[i % len(PALETTE)])
    add_camera(scene, (0.24, -0.03), 0.62)
    render(scene, out / f"facekit_{name}.png")


def grid_figure(fk, alphas, out: Path, name: str, samples: int) -> None:
    a_id, a_exp = alphas
    scene = reset_scene(720, 480, samples)
    skin = np.tile(SKIN, (fk.n_vertices, 1))
    mat = vertex_color_material("skin")
    for k in range(24):
        row, col = divmod(k, 6)
        verts = evaluate_all(fk, a_id[k] if a_id is not None else None, a_exp[k] if a_exp is not None else None)
        add_head(scene, fk, verts, skin, offset=(0.22 * col, 0, -0.32 * row), rot_z=np.radians(20), material=mat)
    add_camera(scene, (0.55, -0.5), 1.95)
    render(scene, out / f"facekit_{name}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "img")
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--facekit", type=Path, default=None)
    parser.add_argument("--only", default="landmarks,parts,segments,identities,expressions")
    args = parser.parse_args()
    fk = load_facekit(args.facekit or ensure_facekit())
    args.out.mkdir(parents=True, exist_ok=True)
    only = args.only.split(",")
    if "landmarks" in only:
        landmarks_figure(fk, args.out, args.samples)
    if "parts" in only:
        labels_figure(fk, fk.parts, args.out, "parts", args.samples)
    if "segments" in only:
        labels_figure(fk, fk.segments, args.out, "segments", args.samples)
    rng = np.random.default_rng(7)
    if "identities" in only:
        a_id, _ = fk.sample_prior(rng, 24)
        grid_figure(fk, (a_id, None), args.out, "identities", args.samples)
    if "expressions" in only:
        _, a_exp = fk.sample_prior(rng, 24)
        grid_figure(fk, (None, a_exp), args.out, "expressions", args.samples)


if __name__ == "__main__":
    main()
