"""core.models: where a weights file is found (the user's model folder wins, else the shipped file, else one clear
error) and which skin model runs for which input."""
from __future__ import annotations

from pathlib import Path

import pytest

from face_addon.core import models
from face_addon.core.capabilities import MODELS_DIR as SHIPPED_DIR
from face_addon.core.errors import WeightsError

SKIN_FILES = (models.SKIN_IMAGE_MODEL, models.SKIN_COLOR_MODEL, models.SKIN_GEOMETRY_MODEL)


def _folder(root: Path, name: str, files: tuple[str, ...]) -> Path:
    """A folder holding empty files of these names (resolve looks at names only)."""
    d = root / name
    d.mkdir()
    for f in files:
        (d / f).write_bytes(b"")
    return d


@pytest.fixture
def shipped(tmp_path, monkeypatch) -> Path:
    """A stand-in for face_addon/models with all three skin models and landmarks.pt."""
    d = _folder(tmp_path, "shipped", SKIN_FILES + ("landmarks.pt",))
    monkeypatch.setattr(models, "MODELS_DIR", d)
    return d


def test_override_folder_wins(shipped, tmp_path):
    user = _folder(tmp_path, "user", ("landmarks.pt",))
    assert models.resolve("landmarks.pt", user) == user / "landmarks.pt"
    assert models.resolve("landmarks.pt", str(user)) == user / "landmarks.pt"


def test_falls_back_to_shipped(shipped, tmp_path):
    user = _folder(tmp_path, "user", ())
    assert models.resolve("landmarks.pt", user) == shipped / "landmarks.pt"
    assert models.resolve("landmarks.pt", "") == shipped / "landmarks.pt"   # an unset preference
    assert models.resolve("landmarks.pt") == shipped / "landmarks.pt"


def test_missing_file_is_one_clear_error(shipped, tmp_path):
    user = _folder(tmp_path, "user", ())
    with pytest.raises(WeightsError, match=r"neo3df\.pt was found neither in the model folder .*user.* nor among "
                                           r"the shipped models") as info:
        models.resolve("neo3df.pt", user)
    assert "\n" not in str(info.value)
    with pytest.raises(WeightsError, match=r"neither among the shipped models"):
        models.resolve("neo3df.pt")
    assert not models.available("neo3df.pt", user) and models.available("landmarks.pt", user)


def test_skin_choice_by_colours_and_views(shipped):
    image = models.skin_model(has_colors=True, has_views=True)
    assert image.path == shipped / models.SKIN_IMAGE_MODEL and image.uses_views and not image.warnings
    color = models.skin_model(has_colors=True, has_views=False)
    assert color.path == shipped / models.SKIN_COLOR_MODEL and not color.uses_views and not color.warnings
    geom = models.skin_model(has_colors=False, has_views=False)
    assert geom.path == shipped / models.SKIN_GEOMETRY_MODEL and not geom.uses_views
    assert any("no vertex colours" in w for w in geom.warnings)
    views_no_colour = models.skin_model(has_colors=False, has_views=True)
    assert views_no_colour.path == shipped / models.SKIN_GEOMETRY_MODEL
    assert any("needs vertex colours too" in w for w in views_no_colour.warnings)


def test_skin_choice_steps_down_when_files_are_missing(shipped):
    (shipped / models.SKIN_IMAGE_MODEL).unlink()
    no_image = models.skin_model(has_colors=True, has_views=True)
    assert no_image.path == shipped / models.SKIN_COLOR_MODEL and not no_image.uses_views
    assert any(f"{models.SKIN_IMAGE_MODEL} is missing" in w for w in no_image.warnings)
    (shipped / models.SKIN_COLOR_MODEL).unlink()
    no_color = models.skin_model(has_colors=True, has_views=False)
    assert no_color.path == shipped / models.SKIN_GEOMETRY_MODEL
    assert any(f"{models.SKIN_COLOR_MODEL} is missing" in w for w in no_color.warnings)
    (shipped / models.SKIN_GEOMETRY_MODEL).unlink()
    with pytest.raises(WeightsError, match=models.SKIN_GEOMETRY_MODEL):
        models.skin_model(has_colors=False, has_views=False)


def test_skin_choice_honours_the_model_folder(shipped, tmp_path):
    user = _folder(tmp_path, "user", (models.SKIN_COLOR_MODEL,))
    assert models.skin_model(True, False, overrides=user).path == user / models.SKIN_COLOR_MODEL
    assert models.skin_model(True, True, overrides=user).path == shipped / models.SKIN_IMAGE_MODEL


@pytest.mark.skipif(not (SHIPPED_DIR / models.SKIN_IMAGE_MODEL).is_file()
                    or not (SHIPPED_DIR / models.SKIN_COLOR_MODEL).is_file(), reason="shipped skin models absent")
def test_a_given_weights_file_says_itself_whether_it_reads_views():
    """A user's file is not judged by its name: its feature list decides (the shipped files, given explicitly)."""
    assert models.skin_model(False, False, weights=SHIPPED_DIR / models.SKIN_IMAGE_MODEL).uses_views
    given = models.skin_model(True, True, weights=SHIPPED_DIR / models.SKIN_COLOR_MODEL)
    assert given.path == SHIPPED_DIR / models.SKIN_COLOR_MODEL and not given.uses_views
