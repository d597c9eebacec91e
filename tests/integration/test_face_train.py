"""`face train <model>`: one subcommand per trainer, one time unit (--minutes), --data required where a trainer
reads data (one line, exit 2), CI presets on generated data, and resuming from the checkpoint."""
from __future__ import annotations

import time

import numpy as np
import pytest

from face_addon.cli.main import main
from face_addon.cli.train import TRAINERS, trainer_parser
from face_addon.core.capabilities import capability

needs_facekit = pytest.mark.skipif(not capability("facekit").ready(), reason="FaceKit asset not built")
#: trainers that read a dataset (editing draws its faces from FaceKit's prior)
DATA_TRAINERS = sorted(set(TRAINERS) - {"editing"})


def _options(model: str) -> set[str]:
    parser, _ = trainer_parser(model)
    return {s for a in parser._actions for s in a.option_strings}


def test_every_trainer_module_has_a_subcommand():
    """A module of face_addon/train with a command-line entry (`main`) is a trainer: `face train` must run it."""
    import ast
    from pathlib import Path

    import face_addon.train as train_pkg

    entries = {p.stem for p in Path(train_pkg.__file__).parent.glob("*.py")
               if any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in ast.parse(p.read_text()).body)}
    assert entries == set(TRAINERS)
    assert all({"add_arguments", "run"} <= set(vars(trainer_parser(m)[1])) for m in TRAINERS)


def test_one_time_unit_minutes():
    for model in TRAINERS:
        opts = _options(model)
        assert not {o for o in opts if "hours" in o or o == "--max-minutes"}, model
        assert {"--out"} <= opts and (model in ("ibug_map", "photo_embedding")) == ("--minutes" not in opts), model
    assert {"--ray", "--workers"} <= _options("landmarks")


@pytest.mark.parametrize("option", ["--max-hours", "--max-minutes"])
def test_the_old_time_options_are_refused_in_one_line(tmp_path, capsys, option):
    assert main(["train", "landmarks", "--out", str(tmp_path), "--smoke", option, "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["0", "-5", "nan", "soon"])
def test_minutes_must_be_a_positive_number(tmp_path, capsys, value):
    assert main(["train", "skin", "--out", str(tmp_path), "--smoke", "--minutes", value]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("model", DATA_TRAINERS)
def test_missing_data_is_one_line_and_exit_2(tmp_path, capsys, model):
    out = tmp_path / "run"
    assert main(["train", model, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--data DIR is required" in err and "Traceback" not in err
    assert err.startswith(f"face train {model}: error:")
    assert not out.exists()  # refused before any work


def test_data_must_be_an_existing_folder(tmp_path, capsys):
    assert main(["train", "skin_image", "--out", str(tmp_path / "run"), "--data", str(tmp_path / "nope")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_building_the_parser_loads_no_trainer():
    import subprocess
    import sys

    code = ("import sys; from face_addon.cli.main import _build_parser; _build_parser(); "
            "print(any(m.startswith('face_addon.train') for m in sys.modules), 'torch' in sys.modules)")
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1].split() == ["False", "False"]  # bpy 5.3 logs its own lines before ours


def test_help_and_unknown_model(capsys):
    assert main(["train", "-h"]) == 0
    listing = capsys.readouterr().out
    assert all(m in listing for m in TRAINERS)
    assert main(["train", "landmarks", "-h"]) == 0
    assert "--minutes" in capsys.readouterr().out
    assert main(["train", "gpt"]) == 2


@needs_facekit
@pytest.mark.parametrize("model, weights, kind, steps", [
    ("landmarks", "landmarks.pt", "landmarks_2s_sgcn", 3), ("skin", "skin_3d.pt", "skin_segmentation", 3),
    ("skin_image", "skin_image.pt", "skin_image_encoder", 5)])
def test_smoke_trains_on_generated_data_in_ci_time(tmp_path, model, weights, kind, steps):
    from face_addon.core.weights import load_weights

    t0 = time.process_time()  # CPU time: the CI budget, robust to a busy shared machine
    assert main(["train", model, "--out", str(tmp_path), "--smoke", "--threads", "1"]) == 0
    assert time.process_time() - t0 < 30
    _, meta = load_weights(tmp_path / weights, kind, (1,))
    assert meta["training"]["steps"] == steps


def _state(run):
    import torch

    return torch.load(run / "checkpoint.pt", weights_only=True)["state"]


@needs_facekit
def test_landmarks_resume_from_the_checkpoint(tmp_path):
    assert main(["train", "landmarks", "--out", str(tmp_path), "--smoke", "--max-steps", "2"]) == 0
    first = _state(tmp_path)
    assert first["step"] == 2
    assert main(["train", "landmarks", "--out", str(tmp_path), "--smoke", "--max-steps", "4", "--resume"]) == 0
    second = _state(tmp_path)
    assert second["step"] == 4 and second["seconds"] >= first["seconds"]
    assert second["losses"][:len(first["losses"])] == first["losses"] and np.isfinite(second["losses"]).all()


@needs_facekit
def test_skin_resume_from_the_checkpoint_and_without_resume_starts_over(tmp_path):
    from face_addon.core.pipelines.segment_skin import load_skin_model

    assert main(["train", "skin", "--out", str(tmp_path), "--smoke", "--max-steps", "2"]) == 0
    assert _state(tmp_path)["step"] == 2
    assert main(["train", "skin", "--out", str(tmp_path), "--smoke", "--max-steps", "3", "--resume"]) == 0
    _, meta = load_skin_model(tmp_path / "skin_3d.pt")
    assert meta["training"]["steps"] == 3 and _state(tmp_path)["step"] == 3
    assert main(["train", "skin", "--out", str(tmp_path), "--smoke", "--max-steps", "1"]) == 0
    assert _state(tmp_path)["step"] == 1  # no --resume: a fresh run


@needs_facekit
def test_a_tiny_time_budget_stops_after_the_first_step(tmp_path):
    assert main(["train", "landmarks", "--out", str(tmp_path), "--smoke", "--max-steps", "50",
                 "--minutes", "0.0001"]) == 0
    state = _state(tmp_path)
    assert state["step"] == 1 and state["seconds"] > 0.006  # 0.0001 min = 6 ms, spent by the first step
