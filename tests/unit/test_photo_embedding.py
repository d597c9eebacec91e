"""The 468 points' places on FaceKit, one per face mesh model (`facekit_photo.EMBEDDING_FILES`): the photo fit,
its expression read-out and the landmark correction place the points with the embedding of the model that drew
them, and the embedding trainer refuses views drawn by another model."""
from __future__ import annotations

import numpy as np
import pytest

from face_addon.core.capabilities import MODELS_DIR
from face_addon.core.errors import UsageError
from face_addon.core.photo.facekit_photo import EMBEDDING_FILES, load_photo_facekit

shipped = pytest.mark.skipif(not all((MODELS_DIR / f).is_file() for f in EMBEDDING_FILES.values()),
                             reason="the MediaPipe embeddings do not ship")


@shipped
def test_each_mesh_model_loads_its_own_embedding():
    for mesh_model, name in EMBEDDING_FILES.items():
        with np.load(MODELS_DIR / name) as z:
            assert np.array_equal(load_photo_facekit(mesh_model=mesh_model).embedding["triangle"], z["triangle"])
    plain, attention = (load_photo_facekit(mesh_model=m) for m in ("mesh", "attention"))
    moved = np.linalg.norm(plain.embedded_points(plain.fk.template) - attention.embedded_points(plain.fk.template), axis=1)
    assert np.median(moved) > 5e-4  # measured apart, not a copy (median ~1-2 mm, lids and lips several mm)
    with pytest.raises(ValueError, match="face mesh model"):
        load_photo_facekit(mesh_model="iris")


@shipped
def test_the_photo_fit_places_the_points_of_the_mesh_that_drew_them():
    from face_addon.core.pipelines.reconstruct_photo import MESH_MODEL, fitter

    with np.load(MODELS_DIR / EMBEDDING_FILES[MESH_MODEL]) as z:
        assert np.array_equal(fitter(MESH_MODEL).model.embedding["bary"], z["bary"])
    assert fitter("mesh").model.embedding["bary"].shape == (468, 3)  # the plain mesh's fit stays available


def test_embedding_refuses_views_drawn_by_another_mesh(tmp_path):
    from face_addon.train.photo_embedding import embed

    plain = tmp_path / "0000000_00.npz"
    np.savez(plain, mesh_model=np.str_("mesh"))
    with pytest.raises(UsageError, match="drawn by the face mesh 'mesh', not 'attention'"):
        embed([plain], np.zeros(0, np.int64), mesh_model="attention")
    old = tmp_path / "0000001_00.npz"  # records cached before the key were drawn by the plain mesh
    np.savez(old, landmarks=np.zeros((468, 2)))
    with pytest.raises(UsageError, match="drawn by the face mesh 'mesh'"):
        embed([old], np.zeros(0, np.int64), mesh_model="attention")
