"""The one model-card builder (face_addon/train/model_card.py): card format, MODEL_CARD.md rows (the person's
"what" and status kept, numbers from the run), and a trainer's ship() through it on a shipped weights file."""
from __future__ import annotations

import importlib
import json
import shutil

import pytest

from face_addon.core.capabilities import MODELS_DIR
from face_addon.train import model_card as mc

INDEX = """# Shipped models

| file | what | trained on | held-out result | status |
|---|---|---|---|---|
| `a.pt` (1.0 MB) | written by a person | old data | old result | **preliminary**; see docs/a.md |
| `b.pt` (2.0 MB) | other | x | y | usable |

Text after the table.
"""
ABOUT = mc.About(model="a net", paper="a paper", load="a.load")


def test_card_header_then_sections_in_order():
    card = mc.build_card(ABOUT, "a.pt", 1.25, {"training": {"steps": 3}, "metrics": {}})
    assert list(card) == ["model", "paper", "file", "size_mb", "load", "training", "metrics"]
    assert card["file"] == "a.pt" and card["size_mb"] == 1.25


def test_picked_keeps_the_asked_order_and_skips_missing():
    assert list(mc.picked({"b": 2, "a": 1, "c": 3}, ("a", "z", "b"))) == ["a", "b"]


def test_row_replaced_keeping_what_and_status(tmp_path):
    (tmp_path / "MODEL_CARD.md").write_text(INDEX)
    card = mc.build_card(ABOUT, "a.pt", 3.04, {})
    path = mc.write_card(tmp_path, "a.pt", card, mc.Row(trained_on="12 scans", held_out="mIoU 0.9"))
    assert json.loads(path.read_text(encoding="utf-8")) == card and path.name == "a.json"
    text = (tmp_path / "MODEL_CARD.md").read_text()
    assert ("| `a.pt` (3.0 MB) | written by a person | 12 scans | mIoU 0.9 | **preliminary**; see docs/a.md |"
            in text.splitlines())
    assert "old result" not in text and "| `b.pt` (2.0 MB) | other | x | y | usable |" in text
    assert text.endswith("Text after the table.\n")


def test_new_file_row_added_after_the_table(tmp_path):
    (tmp_path / "MODEL_CARD.md").write_text(INDEX)
    mc.write_card(tmp_path, "c.pt", mc.build_card(ABOUT, "c.pt", 0.5, {}), mc.Row("d", "e"))
    lines = (tmp_path / "MODEL_CARD.md").read_text().splitlines()
    at = lines.index(f"| `c.pt` (0.5 MB) | a net | d | e | {mc.NEW_STATUS} |")
    assert lines[at - 1].startswith("| `b.pt`") and lines[at + 1] == ""


def test_card_json_is_utf8_with_a_final_newline(tmp_path):
    path = mc.write_card(tmp_path, "a.pt", mc.build_card(ABOUT, "a.pt", 1.0, {"data": "256² views"}))
    raw = path.read_bytes()
    assert raw.endswith(b"}\n") and "256²".encode() in raw and not (tmp_path / "MODEL_CARD.md").exists()


def test_seed_text():
    assert mc.seed_text([[500000, 500181]]) == "500000–500181"
    assert mc.seed_text([0, 323]) == "0–323"
    assert mc.seed_text([[1, 3], [5, 5], [9, 12]]) == "within 1–12, the card lists them"
    assert mc.seed_text("0500000..0500181") == "0500000..0500181"
    assert mc.seed_text([]) == "not recorded"


def test_skin_ship_writes_card_and_row_from_the_run(tmp_path):
    from face_addon.train import skin

    run, models = tmp_path / "run", tmp_path / "models"
    run.mkdir(), models.mkdir()
    shutil.copyfile(MODELS_DIR / "skin_geom.pt", run / "skin_geom.pt")
    (models / "MODEL_CARD.md").write_text(INDEX.replace("`a.pt`", "`skin_geom.pt`"))
    bench = tmp_path / "skin.json"
    bench.write_text(json.dumps({"test_n": 7, "miou": {"geometry_only": 0.5}, "d_surface_mm": {"geometry_only": 1.5}}))
    skin.ship(run, models, bench)
    card = json.loads((models / "skin_geom.json").read_text(encoding="utf-8"))
    shipped = json.loads((MODELS_DIR / "skin_geom.json").read_text(encoding="utf-8"))
    assert card["training"] == shipped["training"] and card["settings"] == shipped["settings"]
    assert card["miou"] == 0.5 and card["metrics"] == {"test_n": 7}
    row = next(r for r in (models / "MODEL_CARD.md").read_text().splitlines() if r.startswith("| `skin_geom.pt`"))
    steps = shipped["training"]["steps"]
    assert f"{steps} steps of one scan" in row and "7 scans: mIoU 0.500, d_surface 1.50 mm" in row
    assert "written by a person" in row and row.endswith("| **preliminary**; see docs/a.md |")


@pytest.mark.parametrize("module, weights", [("landmarks", "landmarks.pt"), ("photo", "photo_regressor.pt"),
                                             ("pixel2mesh", "pixel2mesh_face.pt")])
def test_ship_without_benchmark_results(tmp_path, module, weights):
    """A run shipped before its benchmark: the card carries the run's record, the row says 'not measured'."""
    run, models = tmp_path / "run", tmp_path / "models"
    run.mkdir(), models.mkdir()
    shutil.copyfile(MODELS_DIR / weights, run / weights)
    (models / "MODEL_CARD.md").write_text(INDEX.replace("`a.pt`", f"`{weights}`"))
    importlib.import_module(f"face_addon.train.{module}").ship(run, models, tmp_path / "no_results.json")
    stem = weights.removesuffix(".pt")
    card = json.loads((models / f"{stem}.json").read_text(encoding="utf-8"))
    shipped = json.loads((MODELS_DIR / f"{stem}.json").read_text(encoding="utf-8"))
    assert card["file"] == weights and card["training"] == shipped["training"]
    assert card["settings"] == shipped["settings"] and card["model"] == shipped["model"]
    row = next(r for r in (models / "MODEL_CARD.md").read_text().splitlines() if r.startswith(f"| `{weights}`"))
    assert "| not measured |" in row and "written by a person" in row
