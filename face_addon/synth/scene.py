"""The Blender scene of one sample (full profile): objects from ScenePart/Strands, procedural materials,
random lighting (area/sun lights with colour temperature) and background. Also per-class label materials.

Each object carries its RGB material in slot 0 and the 16 label materials after it; `use_label_materials`
switches every object between the two by rewriting material indices (one foreach_set per object).
"""
from __future__ import annotations

import bpy
import numpy as np

from ..core.dataset import CLASS_NAMES
from ..blender.materials import principled_material
from ..blender.mesh_io import new_mesh_object
from ..core.mesh import Mesh
from .parts import ScenePart, Strands
from .subject import stream

PREFIX = "synth"


def clear_scene() -> None:
    """Remove every object and the data blocks the generator creates (keeps the file and add-on state)."""
    scene = bpy.context.scene
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj, do_unlink=True)
    for coll in (bpy.data.meshes, bpy.data.materials, bpy.data.lights, bpy.data.cameras, bpy.data.hair_curves,
                 bpy.data.images, bpy.data.node_groups):
        for block in list(coll):
            if block.users == 0 or coll in (bpy.data.materials,):
                coll.remove(block)
    for world in list(bpy.data.worlds):
        if world != scene.world:
            bpy.data.worlds.remove(world)


def kelvin_rgb(kelvin: float) -> tuple[float, float, float]:
    """Approximate linear RGB of a black body (normalised to max 1), 2000-10000 K."""
    t = kelvin / 100.0
    r = 255.0 if t <= 66 else 329.7 * (t - 60) ** -0.1332
    g = 99.47 * np.log(t) - 161.1 if t <= 66 else 288.1 * (t - 60) ** -0.0755
    b = 255.0 if t >= 66 else (0.0 if t <= 19 else 138.5 * np.log(t - 10) - 305.0)
    rgb = np.clip(np.array([r, g, b]) / 255.0, 0, 1) ** 2.2
    return tuple((rgb / rgb.max()).tolist())


def skin_material(params: dict) -> bpy.types.Material:
    """Skin: tone with blotches, freckles and blemishes (Voronoi dots), pores (bump), SSS; the mesh attribute
    `synth_mask` darkens towards the hair colour (R: scalp under hair, G: stubble, B: brows)."""
    mat, nt, bsdf = principled_material(f"{PREFIX} skin")
    tone = params["tone"]
    link = nt.links.new
    bsdf.inputs["Roughness"].default_value = params["roughness"]
    bsdf.inputs["Subsurface Weight"].default_value = params["subsurface"]
    bsdf.inputs["Subsurface Radius"].default_value = (1.0, 0.35, 0.2)
    bsdf.inputs["Subsurface Scale"].default_value = 0.004
    coord = nt.nodes.new("ShaderNodeTexCoord")
    blotch = nt.nodes.new("ShaderNodeTexNoise")
    blotch.inputs["Scale"].default_value = params["blotch_scale"]
    tint = nt.nodes.new("ShaderNodeMix")
    tint.data_type = "RGBA"
    tint.inputs["A"].default_value = (*tone, 1.0)
    tint.inputs["B"].default_value = (tone[0] * 0.85, tone[1] * 0.68, tone[2] * 0.68, 1.0)
    link(coord.outputs["Object"], blotch.inputs["Vector"])
    ramp = nt.nodes.new("ShaderNodeMapRange")
    ramp.inputs["From Min"].default_value, ramp.inputs["From Max"].default_value = 0.45, 0.8
    link(blotch.outputs["Fac"], ramp.inputs["Value"])
    link(ramp.outputs["Result"], tint.inputs["Factor"])
    # freckles / blemishes: small Voronoi cells thresholded into dots
    dots = nt.nodes.new("ShaderNodeTexVoronoi")
    dots.inputs["Scale"].default_value = 350.0
    link(coord.outputs["Object"], dots.inputs["Vector"])
    dot_ramp = nt.nodes.new("ShaderNodeMapRange")
    dot_ramp.inputs["From Min"].default_value = 0.25
    dot_ramp.inputs["From Max"].default_value = 0.05
    link(dots.outputs["Distance"], dot_ramp.inputs["Value"])
    dot_mix = nt.nodes.new("ShaderNodeMix")
    dot_mix.data_type = "RGBA"
    dot_mix.inputs["B"].default_value = (tone[0] * 0.55, tone[1] * 0.35, tone[2] * 0.25, 1.0)
    amount = nt.nodes.new("ShaderNodeMath")
    amount.operation = "MULTIPLY"
    amount.inputs[1].default_value = max(params["freckles"], 0.3 * params["blemishes"])
    link(dot_ramp.outputs["Result"], amount.inputs[0])
    link(amount.outputs["Value"], dot_mix.inputs["Factor"])
    link(tint.outputs["Result"], dot_mix.inputs["A"])
    # hair-coloured darkening from the mask attribute
    attr = nt.nodes.new("ShaderNodeAttribute")
    attr.attribute_name = "synth_mask"
    sep = nt.nodes.new("ShaderNodeSeparateColor")
    link(attr.outputs["Color"], sep.inputs["Color"])
    mx = nt.nodes.new("ShaderNodeMath")
    mx.operation = "MAXIMUM"
    link(sep.outputs[0], mx.inputs[0])
    link(sep.outputs[1], mx.inputs[1])
    mx2 = nt.nodes.new("ShaderNodeMath")
    mx2.operation = "MAXIMUM"
    link(mx.outputs[0], mx2.inputs[0])
    link(sep.outputs[2], mx2.inputs[1])
    hairmix = nt.nodes.new("ShaderNodeMix")
    hairmix.data_type = "RGBA"
    hc = params.get("hair_color", (0.05, 0.03, 0.02))
    hairmix.inputs["B"].default_value = (*hc, 1.0)
    link(mx2.outputs[0], hairmix.inputs["Factor"])
    link(dot_mix.outputs["Result"], hairmix.inputs["A"])
    link(hairmix.outputs["Result"], bsdf.inputs["Base Color"])
    pores = nt.nodes.new("ShaderNodeTexVoronoi")
    pores.inputs["Scale"].default_value = 2500.0
    link(coord.outputs["Object"], pores.inputs["Vector"])
    bump = nt.nodes.new("ShaderNodeBump")
    bump.inputs["Strength"].default_value = params["pores"]
    bump.inputs["Distance"].default_value = 0.0002
    link(pores.outputs["Distance"], bump.inputs["Height"])
    link(bump.outputs["Normal"], bsdf.inputs["Normal"])
    return mat


def part_material(part: ScenePart) -> bpy.types.Material:
    m = part.material
    kind = m.get("kind", "plain")
    color = tuple(m.get("color", part.face_color[0].tolist()))
    mat, nt, bsdf = principled_material(f"{PREFIX} {part.name}")
    bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    mat.diffuse_color = (*color, 1.0)
    if kind == "metal":
        bsdf.inputs["Metallic"].default_value = 1.0
        bsdf.inputs["Roughness"].default_value = 0.25
    elif kind == "plastic":
        bsdf.inputs["Roughness"].default_value = 0.3
    elif kind == "glass":
        bsdf.inputs["Transmission Weight"].default_value = 1.0
        bsdf.inputs["Roughness"].default_value = 0.02
        bsdf.inputs["Base Color"].default_value = (1.0, 1.0, 1.0 - 0.5 * m.get("tint", 0.0), 1.0)
    elif kind in ("cloth", "hair"):
        bsdf.inputs["Roughness"].default_value = m.get("roughness", 0.6 if kind == "hair" else 0.85)
        tex = nt.nodes.new("ShaderNodeTexWave" if m.get("pattern") == "stripes" or kind == "hair"
                           else "ShaderNodeTexNoise")
        tex.inputs["Scale"].default_value = 60.0 if kind == "cloth" else 400.0
        coord = nt.nodes.new("ShaderNodeTexCoord")
        nt.links.new(coord.outputs["Object"], tex.inputs["Vector"])
        mix = nt.nodes.new("ShaderNodeMix")
        mix.data_type = "RGBA"
        mix.inputs["A"].default_value = (*color, 1.0)
        mix.inputs["B"].default_value = tuple(c * 0.6 for c in color) + (1.0,)
        nt.links.new(tex.outputs["Fac"], mix.inputs["Factor"])
        nt.links.new(mix.outputs["Result"], bsdf.inputs["Base Color"])
        bump = nt.nodes.new("ShaderNodeBump")
        bump.inputs["Strength"].default_value = 0.3
        bump.inputs["Distance"].default_value = 0.001
        nt.links.new(tex.outputs["Fac"], bump.inputs["Height"])
        nt.links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])
    return mat


def hair_curve_material(color) -> bpy.types.Material:
    mat = bpy.data.materials.new(f"{PREFIX} hair strands")
    if mat.node_tree is None:
        mat.use_nodes = True
    nt = mat.node_tree
    nt.nodes.clear()
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    hair = nt.nodes.new("ShaderNodeBsdfHairPrincipled")
    hair.parametrization = "COLOR"
    hair.inputs["Color"].default_value = (*color, 1.0)
    nt.links.new(hair.outputs[0], out.inputs["Surface"])
    return mat


def label_materials() -> list[bpy.types.Material]:
    """One emission material per class with value id/255 (decoded exactly with the 'Raw' view transform)."""
    mats = []
    for i, name in enumerate(CLASS_NAMES):
        mat = bpy.data.materials.new(f"{PREFIX} label {name}")
        if mat.node_tree is None:
            mat.use_nodes = True
        nt = mat.node_tree
        nt.nodes.clear()
        out = nt.nodes.new("ShaderNodeOutputMaterial")
        em = nt.nodes.new("ShaderNodeEmission")
        em.inputs["Color"].default_value = (i / 255.0, i / 255.0, i / 255.0, 1.0)
        em.inputs["Strength"].default_value = 1.0
        nt.links.new(em.outputs[0], out.inputs["Surface"])
        mats.append(mat)
    return mats


def build_scene(parts: list[ScenePart], strands: list[Strands], skin_params: dict, seed: int,
                children: int = 6) -> dict:
    """Create objects, materials, lights and world for rendering; returns the lighting choices (meta.json)."""
    labels = label_materials()
    coll = bpy.context.scene.collection
    objects = []
    for part in parts:
        if not part.in_render:
            continue
        obj = new_mesh_object(f"{PREFIX} {part.name}", Mesh(part.v, part.f), coll)
        me = obj.data
        me.polygons.foreach_set("use_smooth", np.ones(len(me.polygons), bool))
        me.materials.append(skin_material(skin_params) if part.material.get("kind") == "skin" else
                            part_material(part))
        for m in labels:
            me.materials.append(m)
        if part.vertex_color is not None:
            attr = me.color_attributes.new("synth_mask", "FLOAT_COLOR", "POINT")
            rgba = np.concatenate([part.vertex_color, np.ones((len(part.v), 1))], 1).astype(np.float32)
            attr.data.foreach_set("color", rgba.ravel())
        objects.append((obj, part.face_class))
    rng = stream(seed, "strands")
    curve_objs = []
    for st in strands:
        paths = st.paths
        if children > 1:  # children: jittered copies, spread growing towards the tips
            grow = np.linspace(0.0, 1.0, paths.shape[1])[None, :, None]
            kids = paths[None] + rng.normal(0, 0.004, (children - 1, len(paths), 1, 3)) * grow
            paths = np.concatenate([paths[None], kids]).reshape(-1, *paths.shape[1:])
        cv = bpy.data.hair_curves.new(f"{PREFIX} {st.name}")
        cv.add_curves([paths.shape[1]] * len(paths))
        cv.attributes["position"].data.foreach_set("vector", paths.astype(np.float32).ravel())
        rad = cv.attributes.new("radius", "FLOAT", "POINT")
        r = np.linspace(st.radius, st.radius * 0.3, paths.shape[1])[None].repeat(len(paths), 0)
        rad.data.foreach_set("value", r.astype(np.float32).ravel())
        cv.materials.append(hair_curve_material(tuple(st.color)))
        obj = bpy.data.objects.new(f"{PREFIX} {st.name}", cv)
        coll.objects.link(obj)
        curve_objs.append(obj)
    # lights and background
    lrng = stream(seed, "lighting")
    choice = {"lights": []}
    n_area = int(lrng.integers(1, 4))
    for k in range(n_area + (1 if lrng.random() < 0.4 else 0)):
        is_sun = k >= n_area
        kelvin = float(lrng.uniform(3000, 7500))
        data = bpy.data.lights.new(f"{PREFIX} light {k}", "SUN" if is_sun else "AREA")
        data.color = kelvin_rgb(kelvin)
        az, el = np.deg2rad(lrng.uniform(-150, 150)), np.deg2rad(lrng.uniform(-10, 60))
        d = np.array([np.sin(az) * np.cos(el), -np.cos(az) * np.cos(el), np.sin(el)])
        dist = float(lrng.uniform(0.8, 2.0))
        if is_sun:
            data.energy = float(lrng.uniform(0.5, 2.0))
        else:
            data.energy = float(lrng.uniform(12, 45) * dist ** 2 * (1.0 if k == 0 else 0.5))
            data.size = float(lrng.uniform(0.3, 1.2))
        obj = bpy.data.objects.new(f"{PREFIX} light {k}", data)
        coll.objects.link(obj)
        obj.location = d * dist
        from mathutils import Vector

        obj.rotation_euler = Vector(-d).to_track_quat("-Z", "Y").to_euler()
        choice["lights"].append({"type": data.type, "kelvin": round(kelvin), "energy": round(data.energy, 2),
                                 "azimuth_deg": round(float(np.rad2deg(az))), "elevation_deg": round(float(np.rad2deg(el)))})
    scene = bpy.context.scene
    if scene.world is None:
        scene.world = bpy.data.worlds.new(f"{PREFIX} world")
    bg = lrng.uniform(0.02, 0.6) * lrng.uniform(0.7, 1.0, 3)
    scene.world.color = tuple(bg.tolist())
    if scene.world.node_tree is not None:
        bgn = scene.world.node_tree.nodes.get("Background")
        if bgn is not None:
            bgn.inputs["Color"].default_value = (*bg.tolist(), 1.0)
            bgn.inputs["Strength"].default_value = float(lrng.uniform(0.3, 1.0))
    choice["background"] = bg.round(3).tolist()
    _STATE.clear()
    _STATE["objects"] = objects
    _STATE["curves"] = curve_objs
    _STATE["labels"] = labels
    _STATE["background"] = (*bg.tolist(), 1.0)
    return choice


_STATE: dict = {}


def use_label_materials(on: bool) -> None:
    """Switch all objects between their RGB material (off) and their per-face class label material (on)."""
    for obj, face_class in _STATE["objects"]:
        idx = (face_class.astype(np.int32) + 1) if on else np.zeros(len(face_class), np.int32)
        obj.data.polygons.foreach_set("material_index", idx)
        obj.data.update()
    labels = _STATE["labels"]
    from ..core.dataset import CLASS_IDS

    for obj in _STATE["curves"]:
        mats = obj.data.materials
        rgb = _STATE.setdefault("curve_rgb", {}).setdefault(obj.name, mats[0])
        mats[0] = labels[CLASS_IDS["hair"]] if on else rgb
