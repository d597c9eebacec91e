"""A procedural skin material (Principled BSDF with subsurface, tone variation and pore bump).

Node tree construction only; the tone comes from the caller. Blender 4.x/5.0 input names.
"""
from __future__ import annotations

import bpy


def principled_material(name: str) -> tuple[bpy.types.Material, bpy.types.NodeTree, bpy.types.Node]:
    """A new material whose node tree is just Principled BSDF -> Material Output: (material, tree, bsdf)."""
    mat = bpy.data.materials.new(name)
    if mat.node_tree is None:  # Blender 4.x creates materials without nodes
        mat.use_nodes = True
    nt = mat.node_tree
    nt.nodes.clear()
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    bsdf = nt.nodes.new("ShaderNodeBsdfPrincipled")
    nt.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    return mat, nt, bsdf


def skin_material(name: str = "FaceKit Skin", tone: tuple[float, float, float] = (0.8, 0.56, 0.45)) -> bpy.types.Material:
    """Create (or reuse by name) a skin material with the given linear base tone."""
    mat = bpy.data.materials.get(name)
    if mat is not None:
        return mat
    mat, nt, bsdf = principled_material(name)
    bsdf.inputs["Roughness"].default_value = 0.45
    bsdf.inputs["Subsurface Weight"].default_value = 0.12
    bsdf.inputs["Subsurface Radius"].default_value = (1.0, 0.35, 0.2)
    bsdf.inputs["Subsurface Scale"].default_value = 0.004
    coord = nt.nodes.new("ShaderNodeTexCoord")
    blotch = nt.nodes.new("ShaderNodeTexNoise")
    blotch.inputs["Scale"].default_value = 60.0
    tint = nt.nodes.new("ShaderNodeMix")
    tint.data_type = "RGBA"
    tint.inputs["A"].default_value = (*tone, 1.0)
    tint.inputs["B"].default_value = (tone[0] * 0.85, tone[1] * 0.7, tone[2] * 0.7, 1.0)
    ramp = nt.nodes.new("ShaderNodeMapRange")
    ramp.inputs["From Min"].default_value, ramp.inputs["From Max"].default_value = 0.45, 0.75
    pores = nt.nodes.new("ShaderNodeTexVoronoi")
    pores.inputs["Scale"].default_value = 2500.0
    bump = nt.nodes.new("ShaderNodeBump")
    bump.inputs["Strength"].default_value = 0.08
    bump.inputs["Distance"].default_value = 0.0002
    link = nt.links.new
    link(coord.outputs["Object"], blotch.inputs["Vector"])
    link(coord.outputs["Object"], pores.inputs["Vector"])
    link(blotch.outputs["Fac"], ramp.inputs["Value"])
    link(ramp.outputs["Result"], tint.inputs["Factor"])
    link(tint.outputs["Result"], bsdf.inputs["Base Color"])
    link(pores.outputs["Distance"], bump.inputs["Height"])
    link(bump.outputs["Normal"], bsdf.inputs["Normal"])
    return mat


def plain_material(name: str, color: tuple[float, float, float], roughness: float = 0.3) -> bpy.types.Material:
    """A single-colour Principled material (eyes, teeth, lashes), reused by name."""
    mat = bpy.data.materials.get(name)
    if mat is not None:
        return mat
    mat = bpy.data.materials.new(name)
    if mat.node_tree is None:
        mat.use_nodes = True
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    mat.diffuse_color = (*color, 1.0)
    return mat
