"""Reconstruct from Photo: a photo -> a new FaceKit head (identity baked, ARKit keys set, the fit's smooth
landmark correction as a "PhotoDetail" shape key at 1) or, with the Pixel2Mesh method, a new free-form face
mesh; and the photo's camera.

The head (or mesh) sits at the world origin with identity rotation, exactly as `PhotoReconstruction.vertices` (model
space = object space); the fitted pose goes into a new camera "<head> Camera" whose view reproduces the
photo (see `photo_camera`), with the photo as its background image. Optionally the photo is projected onto
the head through a "PhotoProjection" UV map. Nothing existing is modified except, when "Use as Scene Camera"
is on, the scene's camera and render resolution (the camera only matches the photo at the photo's size).
"""
from __future__ import annotations

import time
from pathlib import Path

import bpy
import numpy as np
from bpy_extras.io_utils import ImportHelper

from ...core.errors import missing_file_message
from ..facekit_object import create_head, set_expression_keys
from ..facekit_store import facekit
from ..materials import principled_material
from ..operator_base import FaceAddonError, PipelineOperator, poll_object_mode
from ..photo_camera import apply_camera, blender_camera, pixels_to_uv, project
from ..step_runner import Offload
from ..writers import OWNER_PROP, write_shape_keys

RESULT_PROP = "face_addon_photo"
DETAIL_KEY = "PhotoDetail"
UV_NAME = "PhotoProjection"
VISIBLE_ATTR = "PhotoVisible"
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
METHOD_ITEMS = [
    ("FIT", "FaceKit fit (PRDL)", "Regressor, then per-photo fitting: landmarks, part alignment (PRDL) and "
                                  "photometric terms (seconds)"),
    ("REGRESSOR", "Regressor only (fast)", "The learned regressor's estimate without fitting (needs its weights)"),
    ("PIXEL2MESH", "Pixel2Mesh (free-form mesh)", "Pixel2Mesh-face: a hemisphere deformed by a graph network into "
                                                  "an 8569-vertex face mesh (no FaceKit rig, no expression keys)"),
]


def add_photo_camera(context, head: bpy.types.Object, rec, image: bpy.types.Image) -> bpy.types.Object:
    """A camera that sees the head as the photo does, with the photo as its background image."""
    cam_data = bpy.data.cameras.new(f"{head.name} Camera")
    cam = bpy.data.objects.new(f"{head.name} Camera", cam_data)
    (context.collection or context.scene.collection).objects.link(cam)
    apply_camera(cam, blender_camera(rec.rotation, rec.translation, rec.K, rec.width, rec.height))
    cam_data.show_background_images = True
    bg = cam_data.background_images.new()
    bg.image = image
    bg.frame_method = "STRETCH"  # the camera frame is the photo's frame when the render size is W×H
    bg.alpha = 1.0
    bg.display_depth = "BACK"
    cam[OWNER_PROP] = True
    cam["face_addon_photo_head"] = head.name
    return cam


def project_photo(head: bpy.types.Object, rec, image: bpy.types.Image, faces: np.ndarray,
                  tone=(0.8, 0.56, 0.45)) -> bpy.types.Material:
    """UV map "PhotoProjection" = the photo pixel each vertex projects to; a material showing the photo there.

    Vertices the photo does not see (occluded or outside the frame, `core.geometry.raster.visible_vertices`) are
    marked 0 in the point attribute "PhotoVisible", and the material blends to a plain skin tone there, so the
    back of the head does not get the pixels in front of it smeared over it.
    """
    from ...core.geometry.raster import visible_vertices

    me = head.data
    proj = project(rec.vertices, rec.rotation, rec.translation, rec.K)
    visible = visible_vertices(proj[:, :2], proj[:, 2], faces, rec.height, rec.width)
    uv_layer = me.uv_layers.get(UV_NAME) or me.uv_layers.new(name=UV_NAME)
    loop_vertices = np.empty(len(me.loops), np.int32)
    me.loops.foreach_get("vertex_index", loop_vertices)
    uv = pixels_to_uv(proj[:, :2], rec.width, rec.height)
    uv_layer.data.foreach_set("uv", uv[loop_vertices].astype(np.float32).ravel())
    attr = me.attributes.get(VISIBLE_ATTR) or me.attributes.new(VISIBLE_ATTR, "FLOAT", "POINT")
    attr.data.foreach_set("value", visible.astype(np.float32))

    mat, nt, bsdf = principled_material(f"{head.name} Photo")
    bsdf.inputs["Roughness"].default_value = 0.5
    uvmap = nt.nodes.new("ShaderNodeUVMap")
    uvmap.uv_map = UV_NAME
    tex = nt.nodes.new("ShaderNodeTexImage")
    tex.image = image
    tex.extension = "EXTEND"
    seen = nt.nodes.new("ShaderNodeAttribute")
    seen.attribute_type = "GEOMETRY"
    seen.attribute_name = VISIBLE_ATTR
    mix = nt.nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    mix.inputs["A"].default_value = (*tone, 1.0)
    link = nt.links.new
    link(uvmap.outputs["UV"], tex.inputs["Vector"])
    link(seen.outputs["Fac"], mix.inputs["Factor"])
    link(tex.outputs["Color"], mix.inputs["B"])
    link(mix.outputs["Result"], bsdf.inputs["Base Color"])
    if me.materials:
        me.materials[0] = mat  # a new head's own slot; the shared skin material stays as it is
    else:
        me.materials.append(mat)
    return mat


class FACE_OT_reconstruct_photo(PipelineOperator, ImportHelper, bpy.types.Operator):
    """Reconstruct a 3D face from a photo: a new FaceKit head with its expression keys set (or a free-form
    Pixel2Mesh face mesh), and a camera that sees it as the photo does"""

    bl_idname = "face.reconstruct_photo"
    bl_label = "Reconstruct from Photo"
    bl_options = {"REGISTER", "UNDO"}

    filter_glob: bpy.props.StringProperty(default="*" + ";*".join(PHOTO_EXTENSIONS), options={"HIDDEN"})
    method: bpy.props.EnumProperty(name="Method", items=METHOD_ITEMS, default="FIT")
    use_prdl: bpy.props.BoolProperty(name="Part Alignment (PRDL)", default=True,
                                     description="Align the face parts to their 2D segmentation while fitting")
    face_index: bpy.props.IntProperty(name="Face", default=0, min=0,
                                      description="Which face of the photo: 0 = the largest, 1 the next, ...")
    add_camera: bpy.props.BoolProperty(name="Add Camera", default=True,
                                       description="Add the photo's camera with the photo as background image")
    use_scene_camera: bpy.props.BoolProperty(
        name="Use as Scene Camera", default=True,
        description="Make the new camera the scene camera and set the render resolution to the photo's size "
                    "(the camera view only matches the photo at that size)")
    project_texture: bpy.props.BoolProperty(name="Project Photo", default=False,
                                            description="Project the photo onto the head as its material "
                                                        "(UV map 'PhotoProjection')")

    @classmethod
    def poll(cls, context):
        return poll_object_mode(cls, context)

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "method")
        row = layout.row()
        row.enabled = self.method == "FIT"
        row.prop(self, "use_prdl")
        layout.prop(self, "face_index")
        layout.prop(self, "add_camera")
        row = layout.row()
        row.enabled = self.add_camera
        row.prop(self, "use_scene_camera")
        layout.prop(self, "project_texture")

    def invoke(self, context, event):
        self._modal_requested = True  # execute(), called by the file browser, runs modal (operator_base)
        return ImportHelper.invoke(self, context, event)

    def steps(self, context):
        from ...core.models import available
        from ...core.photo import PhotoError
        from ...core.pipelines.pixel2mesh_photo import WEIGHTS_FILE, reconstruct_pixel2mesh
        from ...core.pipelines.reconstruct_photo import REGRESSOR_FILE, reconstruct_photo
        from ..model_files import model_file, models_dir

        path = Path(bpy.path.abspath(self.filepath)) if self.filepath else None
        if path is None:
            raise FaceAddonError("No photo chosen: pick a .jpg/.png file")
        if not path.is_file():
            raise FaceAddonError(missing_file_message(path, "photo"))
        face_index = self.face_index
        if self.method == "PIXEL2MESH":
            weights = model_file(context, WEIGHTS_FILE.name)
            work = lambda progress, cancel: reconstruct_pixel2mesh(  # noqa: E731
                path, face_index=face_index, weights_path=weights, progress=progress, cancel=cancel)
        else:
            # no regressor file anywhere: the pipeline fits from the mean face and warns (or refuses, method
            # 'regressor', naming the shipped path)
            regressor = (model_file(context, REGRESSOR_FILE.name)
                         if available(REGRESSOR_FILE.name, models_dir(context)) else REGRESSOR_FILE)
            method, use_prdl = self.method.lower(), self.use_prdl
            work = lambda progress, cancel: reconstruct_photo(  # noqa: E731
                path, method=method, use_prdl=use_prdl, face_index=face_index, regressor_path=regressor,
                progress=progress, cancel=cancel)
        t0 = time.perf_counter()
        try:
            rec = yield Offload(work)
        except PhotoError as exc:
            raise FaceAddonError(f"{path.name}: {exc}") from exc

        for obj in context.selected_objects:
            obj.select_set(False)
        if self.method == "PIXEL2MESH":
            head, faces = _pixel2mesh_object(context, rec, f"Face {path.stem} Pixel2Mesh"), rec.faces
        else:
            fk = facekit()
            head, faces = create_head(context, rec.alpha_id.astype(np.float32), name=f"Face {path.stem}",
                                      landmarks=False), fk.faces
            set_expression_keys(head, fk.exp_names, rec.alpha_exp)
            if rec.detail is not None:  # the fit's landmark correction, under the ARKit keys
                write_shape_keys(head, {DETAIL_KEY: rec.detail}, values={DETAIL_KEY: 1.0})
        head.location = (0.0, 0.0, 0.0)  # model space is object space: the camera carries the pose
        head.rotation_euler = (0.0, 0.0, 0.0)
        head.scale = (1.0, 1.0, 1.0)
        image = bpy.data.images.load(str(path), check_existing=True)
        cam = None
        if self.add_camera:
            cam = add_photo_camera(context, head, rec, image)
            if self.use_scene_camera:
                scene = context.scene
                scene.camera = cam
                scene.render.resolution_x, scene.render.resolution_y = rec.width, rec.height
                scene.render.resolution_percentage = 100
                scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
        if self.project_texture:
            project_photo(head, rec, image, faces)
        head.select_set(True)
        context.view_layer.objects.active = head

        seconds = time.perf_counter() - t0
        head[RESULT_PROP] = {
            "photo": str(path), "method": rec.method, "use_prdl": bool(self.use_prdl and rec.method == "fit"),
            "face_index": int(self.face_index), "n_faces": int(rec.n_faces), "score": float(rec.score),
            "width": int(rec.width), "height": int(rec.height), "camera": cam.name if cam else "",
            "K": np.asarray(rec.K, float).ravel().tolist(), "rotation": np.asarray(rec.rotation, float).ravel().tolist(),
            "translation": np.asarray(rec.translation, float).tolist(),
            "timings_s": {k: float(v) for k, v in rec.timings.items()}, "total_s": round(seconds, 3),
            "models": {k: v or "" for k, v in rec.models.items()},  # "" = not used (ID properties hold no None)
            "masks": "" if rec.method == "pixel2mesh" else rec.mask_source,
            "warnings": "; ".join(rec.warnings)}
        for w in rec.warnings:
            self.report({"WARNING"}, w)
        self.report({"INFO"}, f"Reconstructed face {self.face_index + 1} of {max(rec.n_faces, 1)} in {seconds:.1f} s "
                              f"({rec.method}) as '{head.name}'" + (f" with '{cam.name}'" if cam else "")
                              + f"; {_models_text(rec)}")
        return {"FINISHED"}


def _models_text(rec) -> str:
    """The weights files that ran and, for FaceKit results, where the part masks came from, as the core result
    names them (`models`, `mask_source`; the same fields `face reconstruct --json` writes)."""
    text = "weights: " + (", ".join(f"{role} {name}" for role, name in rec.models.items() if name) or "none")
    return text if rec.method == "pixel2mesh" else f"{text}; masks from {rec.mask_source}"


def _pixel2mesh_object(context, rec, name: str) -> bpy.types.Object:
    """A new smooth-shaded mesh object of the Pixel2Mesh result (model space = object space)."""
    from ...core.mesh import Mesh
    from ..mesh_io import new_mesh_object

    obj = new_mesh_object(name, Mesh(rec.vertices, rec.faces), context.collection)
    obj.data.shade_smooth()
    mat, _, bsdf = principled_material(f"{name} Skin")
    bsdf.inputs["Base Color"].default_value = (0.8, 0.56, 0.45, 1.0)
    obj.data.materials.append(mat)
    obj[OWNER_PROP] = True
    return obj


def menu_import_photo(self, context):
    self.layout.operator(FACE_OT_reconstruct_photo.bl_idname, text="Face from Photo (.jpg/.png)", icon="USER")
