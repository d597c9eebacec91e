"""Segment Skin (Pixels2Points) on the active mesh → vertex groups `Skin` / `Non-Skin`, colour attribute
`Skin Probability`, optionally a new object with the skin faces only.

Views for the image features: by default 13 Cycles renders of the scan itself (blender/scan_views.py), or the
scene's cameras that carry a background image (the capture photos, calibrated to the scan), or none (3D only).

The colour attribute cannot be called `Skin`: vertex groups and attributes share one namespace in Blender 4+
(`color_attributes.new` returns None for a name a vertex group has)."""
from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import bpy
import numpy as np

from ...core.pipelines.segment_skin import MAX_VERTICES
from ..mesh_io import read_mesh
from ..operator_base import FaceAddonError, PipelineOperator, poll_active_mesh
from ..scan_outputs import NON_SKIN_GROUP, SKIN_GROUP
from ..step_runner import Offload, announce
from ..writers import write_vertex_group

SKIN_COLORS = "Skin Probability"
RESULT_PROP = "face_addon_skin"
SOURCE_COLORS_PROP = "face_addon_skin_source_colors"  # the scan's own colour attribute ("" when it has none)
SKIN_RGB = np.array([1.0, 0.42, 0.16], np.float32)      # linear RGB of p = 1 in the `Skin` colour attribute
NON_SKIN_RGB = np.array([0.05, 0.18, 0.60], np.float32)  # ... and of p = 0


def split_object_name(obj: bpy.types.Object) -> str:
    return f"{obj.name} Skin"


def _read_scan(obj: bpy.types.Object):
    """(the object as a Mesh (world space, so object scale counts) with the scan's own colours: its material's
    image texture sampled at the UVs when it has one, else its own colour attribute, warnings, the name of that
    attribute). Our `Skin Probability` visualisation is never read back as the scan's colour on a re-run: the
    first run remembers the scan's own attribute (SOURCE_COLORS_PROP, written with the results)."""
    from ...core.texture import with_surface_colors

    me = obj.data
    active = me.color_attributes.active_color
    source_name = obj.get(SOURCE_COLORS_PROP, active.name if active is not None and active.name != SKIN_COLORS else "")
    source = me.color_attributes.get(source_name) if source_name else None
    if source is not None:
        me.color_attributes.active_color = source
    try:
        mesh, warnings = read_mesh(obj, space="WORLD", with_texture=True)
    finally:
        if active is not None and me.color_attributes.get(active.name) is not None:
            me.color_attributes.active_color = me.color_attributes[active.name]
    return with_surface_colors(mesh if source is not None else replace(mesh, colors=None)), warnings, source_name


def write_skin_colors(obj: bpy.types.Object, probability: np.ndarray) -> None:
    """Create or replace the point colour attribute `Skin Probability` (blue = non-skin … orange = skin) and show
    it in the viewport (Solid shading ▸ Color ▸ Attribute)."""
    me = obj.data
    old = me.color_attributes.get(SKIN_COLORS)
    if old is not None:
        me.color_attributes.remove(old)
    attr = me.color_attributes.new(SKIN_COLORS, "FLOAT_COLOR", "POINT")
    p = np.asarray(probability, np.float32)[:, None]
    rgba = np.concatenate([NON_SKIN_RGB + p * (SKIN_RGB - NON_SKIN_RGB), np.ones_like(p)], axis=1)
    attr.data.foreach_set("color", rgba.ravel())
    me.color_attributes.active_color = attr


class FACE_OT_segment_skin(PipelineOperator, bpy.types.Operator):
    """Label the skin of the active head scan (Pixels2Points: features of views of the scan + 3D features):
    vertex groups 'Skin' (weight = skin probability) and 'Non-Skin', colour attribute 'Skin Probability';
    optionally an object with the skin only"""

    bl_idname = "face.segment_skin"
    bl_label = "Segment Skin"

    threshold: bpy.props.FloatProperty(name="Threshold", default=0.5, min=0.01, max=0.99,
                                       description="Skin probability from which a vertex counts as skin")
    max_vertices: bpy.props.IntProperty(name="Network Vertices", default=MAX_VERTICES, min=2_000, max=500_000,
                                        description="The scan is reduced to at most this many vertices for the "
                                                    "network (results go back to every vertex); fewer is faster")
    split: bpy.props.BoolProperty(name="Split Skin", default=False,
                                  description="Also create a new object with only the skin faces "
                                              "(the scan itself is not changed)")
    weights: bpy.props.StringProperty(name="Weights", subtype="FILE_PATH", default="",
                                      description="Optional skin_*.pt to use instead of the shipped model")
    views: bpy.props.EnumProperty(
        name="Views", default="RENDER",
        items=[("RENDER", "Render the Scan", "13 small Cycles renders of the scan's colours from around its face, "
                                             "in the face's own upright frame (found in renders of the scan)"),
               ("CAMERAS", "Scene Cameras", "the scene's cameras that have a background image: the capture photos, "
                                            "calibrated to the scan"),
               ("NONE", "3D Only", "no image features (faster, less accurate)")],
        description="Where the image features come from (they need the scan's colours too)")

    @classmethod
    def poll(cls, context):
        return poll_active_mesh(cls, context)

    def steps(self, context):
        from ...core.models import skin_model
        from ...core.pipelines.segment_skin import check_segmentable, segment_skin
        from ...core.pipelines.upright_scan import face_upright_frame
        from ...core.progress import reporter
        from ..model_files import models_dir

        obj = context.active_object
        weights = Path(bpy.path.abspath(self.weights)) if self.weights else None
        # render or read views only for a model that takes them (the core's choice, with views and colours)
        reads_views = skin_model(True, True, models_dir(context), weights).uses_views
        mesh, warnings, source_name = _read_scan(obj)
        check_segmentable(mesh.vertices, mesh.faces if mesh.n_faces else None)  # before the face search and renders
        frame = None
        if self.views == "RENDER" and mesh.n_faces:
            # rendered views and the networks see the scan in its face's own frame (vertex order is kept)
            mesh, frame, note = yield Offload(
                lambda progress, cancel: face_upright_frame(mesh, reporter(progress, cancel)), (0.0, 0.1),
                "finding the face")
            warnings += [note] if note else []
        if reads_views and self.views != "NONE":
            yield announce("rendering views" if self.views == "RENDER" else "reading the cameras' photos", 0.1)
        views = self._views(context, mesh, warnings) if reads_views else None
        settings = dict(weights=weights, max_vertices=self.max_vertices, threshold=self.threshold, views=views,
                        cache_dir=Path(bpy.app.tempdir or tempfile.gettempdir()) / "face_addon_operators",
                        models_dir=models_dir(context))
        result = yield Offload(lambda progress, cancel: segment_skin(
            mesh.vertices, mesh.faces if mesh.n_faces else None, mesh.colors, progress=progress, cancel=cancel,
            **settings), (0.1, 1.0))
        obj[SOURCE_COLORS_PROP] = source_name
        prob = result.probability
        write_vertex_group(obj, SKIN_GROUP, np.where(result.skin, prob, 0.0))
        write_vertex_group(obj, NON_SKIN_GROUP, np.where(result.skin, 0.0, 1.0 - prob))
        write_skin_colors(obj, prob)
        message = (f"{100 * result.skin_fraction:.1f} % skin ({result.variant}, {result.n_network_vertices} network "
                   f"vertices), {result.timings['total_s']:.1f} s")
        if self.split:
            from ..mesh_split import split_object

            new = split_object(obj, result.skin, split_object_name(obj))
            message += f"; skin faces in '{new.name}'"
        obj[RESULT_PROP] = message
        obj[RESULT_PROP + "_warnings"] = "; ".join(warnings + result.warnings)
        if frame is not None:  # as Detect Landmarks reports it
            obj[RESULT_PROP + "_orientation"] = frame.describe()
            self.report({"INFO"}, f"'{obj.name}': {frame.describe()}")
        for w in warnings + result.warnings:
            self.report({"WARNING"}, w)
        self.report({"INFO"}, f"'{obj.name}': {message}")
        return {"FINISHED"}

    def _views(self, context, mesh, warnings: list[str]):
        """The SkinViews the operator's `views` setting asks for (None: 3D only)."""
        from ...core.pipelines.skin_image import SkinViews
        from ..scan_views import camera_photo_views, scan_views

        if self.views == "NONE":
            return None
        if mesh.colors is None and not mesh.n_faces:
            warnings.append("the point cloud has no colours, so no views were used (the image model needs colours "
                            "or faces)")
            return None
        if self.views == "CAMERAS":
            found = camera_photo_views(context.scene)
            if found is None:
                raise FaceAddonError("no scene camera has a background image: add the capture photos as camera "
                                     "background images, or choose Views ▸ Render the Scan")
            return SkinViews(*found, photos=True)
        return scan_views(mesh)
