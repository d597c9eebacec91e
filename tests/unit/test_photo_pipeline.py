"""The photo pipeline without Blender: several faces, the fit's effect on landmark alignment, the camera it
returns, grayscale input, and errors. Real photographs from scikit-image's data folder."""
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest
import torch

from face_addon.core.photo import PhotoError
from face_addon.core.photo.image_io import load_photo
from face_addon.core.pipelines.reconstruct_photo import REGRESSOR_FILE, fitter, reconstruct_photo

SKIMAGE_DATA = Path(find_spec("skimage").submodule_search_locations[0]) / "data"
pytestmark = pytest.mark.skipif(not REGRESSOR_FILE.is_file(), reason="photo regressor weights not shipped")


def _reprojection_px(rec) -> float:
    """Weighted mean distance (photo px) between detected landmarks and the reconstruction's embedded ones,
    projected with the returned camera (K, R, t)."""
    model = fitter().model
    pts = model.embedded_points(rec.vertices) @ rec.rotation.T + rec.translation
    uv = (pts @ rec.K.T)[:, :2] / pts[:, 2:]
    w = model.embedding["weight"]
    return float((np.linalg.norm(uv - rec.landmarks[:, :2], axis=1) * w).sum() / w.sum())


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return load_photo(SKIMAGE_DATA / "astronaut.png")


def test_fit_aligns_landmarks_better_than_the_regressor_and_returns_a_consistent_camera(astronaut):
    torch.manual_seed(0)
    reg = reconstruct_photo(astronaut, method="regressor")
    fit = reconstruct_photo(astronaut)
    face_px = 1 / reg.crop.scale * 224
    assert _reprojection_px(fit) < _reprojection_px(reg)
    assert _reprojection_px(fit) < 0.05 * face_px  # within 5 % of the face crop
    assert fit.alpha_exp.min() >= 0 and fit.alpha_exp.max() <= 1 and np.abs(fit.alpha_id).max() <= 1
    assert fit.part_labels.shape == (224, 224) and (fit.part_labels > 0).mean() > 0.2


def test_several_faces_largest_first_and_by_index(astronaut):
    from PIL import Image

    small = np.asarray(Image.fromarray((astronaut * 255).astype(np.uint8)).resize((410, 410)), np.float32) / 255
    canvas = np.ones((512, 950, 3), np.float32)  # a group photo: the same person twice, the right one smaller
    canvas[:, :512] = astronaut
    canvas[50:460, 530:940] = small
    big = reconstruct_photo(canvas, method="regressor")
    other = reconstruct_photo(canvas, method="regressor", face_index=1)
    assert big.n_faces == other.n_faces == 2
    assert big.landmarks[:, 0].mean() < 512 < other.landmarks[:, 0].mean()
    with pytest.raises(PhotoError, match="numbered 0-1 from the largest; there is no face 2"):
        reconstruct_photo(canvas, method="regressor", face_index=2)


def test_grayscale_photo_and_no_face():
    rec = reconstruct_photo(SKIMAGE_DATA / "camera.png", method="regressor")
    assert rec.n_faces >= 1 and np.isfinite(rec.vertices).all()
    with pytest.raises(PhotoError, match="no face"):
        reconstruct_photo(SKIMAGE_DATA / "chelsea.png")
    with pytest.raises(ValueError, match="method"):
        reconstruct_photo(SKIMAGE_DATA / "astronaut.png", method="magic")


def test_the_photo_pipeline_reads_the_attention_mesh_and_the_scans_the_plain_one(astronaut):
    """Reconstruct from Photo's points are the attention model's (MESH_MODEL, its own iBUG map) on the face the
    plain mesh found; a call without a model (the scan pipelines') still gets the plain mesh, whose lips and eyes
    differ. The cat and the coffee cup stay no-faces (the attention model's presence alone took them)."""
    from face_addon.core.photo.face_mesh import DEFAULT_MODEL, detect, detect_drawn_by
    from face_addon.core.pipelines.reconstruct_photo import MESH_MODEL

    rec = reconstruct_photo(astronaut, method="regressor")
    assert MESH_MODEL == "attention" and DEFAULT_MODEL == "mesh"
    np.testing.assert_allclose(rec.landmarks, detect_drawn_by(astronaut, MESH_MODEL)[0].points)
    assert np.abs(rec.landmarks - detect(astronaut)[0].points)[:, :2].max() > 0.5
    for name in ("chelsea.png", "coffee.png"):
        with pytest.raises(PhotoError, match="no face"):
            detect_drawn_by(load_photo(SKIMAGE_DATA / name), MESH_MODEL)
