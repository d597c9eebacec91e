"""The 'Model Overrides' preference (a model folder) reaches every operator that loads a model (core.models.resolve
through blender/model_files.py): a file of the shipped name in that folder is the one that runs. The folder here
holds a file that is not a weights file (the shipped ones are readable), so the operator must fail with that
file's one-line message."""
from __future__ import annotations

import pytest

bpy = pytest.importorskip("bpy")

from face_addon.blender import preferences  # noqa: E402
from face_addon.core.capabilities import capability  # noqa: E402


@pytest.fixture
def model_folder(tmp_path, monkeypatch):
    """Point the preferences' model folder at a temp folder; returns a function that puts a broken file there."""
    monkeypatch.setattr(preferences, "settings", lambda context=None: preferences.Settings(models_dir=str(tmp_path)))

    def broken(name: str) -> None:
        (tmp_path / name).write_bytes(b"not a weights file")

    return broken


@pytest.mark.skipif(not capability("edit").ready(), reason="neo3df.pt / FaceKit not available")
def test_face_edit_loads_the_model_folders_file(scene, model_folder):
    assert bpy.ops.face.add_face_model(seed=1) == {"FINISHED"}
    model_folder("neo3df.pt")
    with pytest.raises(RuntimeError, match="neo3df.pt is not a readable weights file"):
        bpy.ops.face.edit_face()


@pytest.mark.skipif(not capability("landmarks").ready(), reason="landmarks.pt / FaceKit not available")
def test_detect_landmarks_loads_the_model_folders_file(scene, model_folder):
    bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=3)  # 162 vertices
    model_folder("landmarks.pt")
    with pytest.raises(RuntimeError, match="landmarks.pt is not a readable weights file"):
        bpy.ops.face.detect_landmarks(method="sgcn")


@pytest.mark.skipif(not capability("register").ready(), reason="landmarks.pt / FaceKit not available")
def test_register_heads_landmark_model_is_the_model_folders_file(scene, model_folder):
    """Without landmark empties Register Head runs the landmark model: the folder's file, like Detect Landmarks."""
    import numpy as np

    from face_addon.blender.writers import write_vertex_group

    bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=4, radius=0.1)  # 642 vertices, all skin
    obj = bpy.context.active_object
    write_vertex_group(obj, "Skin", np.full(len(obj.data.vertices), 0.9))
    model_folder("landmarks.pt")
    with pytest.raises(RuntimeError, match="landmarks.pt is not a readable weights file"):
        bpy.ops.face.register_head()


@pytest.mark.skipif(not capability("skin").ready(), reason="skin models not available")
def test_segment_skin_runs_the_model_folders_choice(scene, model_folder):
    """An uncoloured mesh without views gets the geometry-only model (core.models.skin_model): the folder's."""
    bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=4, radius=0.1)
    model_folder("skin_geom.pt")
    with pytest.raises(RuntimeError, match="skin_geom.pt is not a readable weights file"):
        bpy.ops.face.segment_skin(views="NONE")
