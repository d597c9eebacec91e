"""A photo reconstruction names the weights that ran and where its part masks came from (`models`,
`mask_source`): the parser is named only when its masks went into the fit. The astronaut from scikit-image's
data folder, regressor only (no fit: the fields, not the fit, are under test)."""
from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import pytest

from face_addon.core.photo.image_io import load_photo
from face_addon.core.pipelines.reconstruct_photo import REGRESSOR_FILE, reconstruct_photo

pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not REGRESSOR_FILE.is_file(), reason="photo regressor weights not shipped")
SKIMAGE_DATA = Path(find_spec("skimage").submodule_search_locations[0]) / "data"


@pytest.fixture(scope="module")
def astronaut():
    return load_photo(SKIMAGE_DATA / "astronaut.png")


@pytest.mark.parametrize("masks, source", [("parser", "parser"), ("landmarks", "polygons")])
def test_the_masks_source_and_the_weights_that_ran(astronaut, masks, source):
    rec = reconstruct_photo(astronaut, method="regressor", masks=masks)
    assert rec.mask_source == source
    assert rec.models == {"detector": "mediapipe_face.npz", "face_mesh": "mediapipe_face.npz:attention",
                          "ibug_map": "ibug_map_attention.npz",
                          "embedding": "mediapipe_facekit_attention.npz", "regressor": REGRESSOR_FILE.name,
                          "parser": REGRESSOR_FILE.name if source == "parser" else None}


def test_the_default_names_the_parser_exactly_when_its_masks_are_used(astronaut):
    from face_addon.core.photo.camera import CROP
    from face_addon.core.photo.mediapipe_assets import load_connections
    from face_addon.core.photo.parts2d import parser_in_domain, part_masks
    from face_addon.core.pipelines.reconstruct_photo import crop_face, load_regressor, regress

    rec = reconstruct_photo(astronaut, method="regressor")
    _, crop_img, lm = crop_face(astronaut, rec.landmarks)
    parser = regress(load_regressor(REGRESSOR_FILE), crop_img)[1]
    in_domain = parser_in_domain(parser, part_masks(lm, load_connections(), CROP, CROP))
    assert rec.mask_source == ("parser" if in_domain else "polygons")
    assert (rec.models["parser"] is not None) == in_domain
