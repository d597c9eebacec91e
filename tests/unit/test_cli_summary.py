"""cli/summary.py: the one `--json` document format of every command (header, plain JSON values, atomic)."""
from __future__ import annotations

import json

import numpy as np

from face_addon.cli.summary import summary_document, write_summary


def test_header_first_and_numpy_values_become_json():
    doc = summary_document("skin", {"n": np.int64(3), "p": np.float32(0.5), "R": np.eye(2), "w": ("a", "b"),
                                    "t": {"x": np.float64(1.25)}})
    assert list(doc)[:2] == ["format", "version"] and doc["format"] == "face_addon.skin" and doc["version"] == 1
    assert doc["n"] == 3 and type(doc["n"]) is int and doc["p"] == 0.5 and type(doc["p"]) is float
    assert doc["R"] == [[1.0, 0.0], [0.0, 1.0]] and doc["w"] == ["a", "b"] and doc["t"] == {"x": 1.25}


def test_write_summary_round_trips_and_ends_with_a_newline(tmp_path):
    path = write_summary(tmp_path / "s.json", "registration", {"residual_mm": np.float64(0.4)}, version=2)
    text = path.read_text()
    assert text.endswith("}\n")
    assert json.loads(text) == {"format": "face_addon.registration", "version": 2, "residual_mm": 0.4}
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temp file left behind
