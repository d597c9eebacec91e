"""The long commands' progress display: stage lines on stderr (a \\r line on a terminal), nothing on stdout,
nothing with --quiet, and the same result line and JSON with or without it."""
from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest

from face_addon.cli.main import main
from face_addon.cli.progress_display import StageProgress


def test_one_line_per_stage_in_a_log():
    out = io.StringIO()
    show = StageProgress("segment", out, tty=False)
    for fraction, stage in ((0.0, "finding the face"), (0.05, "finding the face"), (0.1, "rendering views"),
                            (0.5, "network"), (0.9, "network"), (1.0, "done")):
        show(fraction, stage)
    show.close()
    assert out.getvalue().splitlines() == ["face segment:   0 % finding the face", "face segment:  10 % rendering views",
                                           "face segment:  50 % network", "face segment: 100 % done"]


def test_terminal_line_is_redrawn_and_ended():
    out = io.StringIO()
    show = StageProgress("landmarks", out, tty=True)
    show(0.0, "finding the face")
    show(0.004, "finding the face")  # same whole percent: not redrawn
    show(0.42, "reading the views")
    show(0.43, "x")  # shorter than the line before: blanked with spaces
    show.close()
    text = out.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert "\rface landmarks:  43 % x" + " " * (len("face landmarks:  42 % reading the views") - len(
        "face landmarks:  43 % x")) + "\n" in text


@pytest.fixture(scope="module")
def scan_files(tmp_path_factory):
    """A FaceKit head in millimetres with its skin and landmarks, as files for `face register`."""
    from face_addon.core.dataset import write_ply
    from face_addon.core.facekit import ensure_facekit, load_facekit
    from face_addon.core.landmark_export import write_landmarks

    fk = load_facekit(ensure_facekit())
    folder = tmp_path_factory.mktemp("scan")
    head = fk.subdivided().evaluate(np.zeros(fk.n_identity), np.zeros(len(fk.exp_names))) * 1000
    sub = fk.subdivided()
    write_ply(folder / "scan.ply", head, sub.faces)
    np.save(folder / "skin.npy", sub.template[:, 2] < 0.07)
    write_landmarks(folder / "lm.json", fk.landmarks(head / 1000) * 1000, units="input")
    return folder


def _register(folder, out, capsys, *extra):
    args = ["register", str(folder / "scan.ply"), "--skin", str(folder / "skin.npy"), "--landmarks",
            str(folder / "lm.json"), "--out", str(out / "head.ply"), "--json", str(out / "r.json"), "--iterations",
            "3", *extra]
    assert main(args) == 0
    captured = capsys.readouterr()
    summary = json.loads((out / "r.json").read_text())
    summary.pop("timings_s")
    return captured.out, captured.err, {k: v for k, v in summary.items() if k != "output"}


def test_register_shows_stages_on_stderr_only(scan_files, tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    out, err, summary = _register(scan_files, tmp_path / "a", capsys)
    quiet_out, quiet_err, quiet_summary = _register(scan_files, tmp_path / "b", capsys, "--quiet")
    stages = [line for line in err.splitlines() if line.startswith("face register: ")]
    assert len(stages) >= 3 and stages[-1].endswith("100 % done"), err
    assert any("landmarks" in s for s in stages) and all(re.search(r": +\d+ % ", s) for s in stages)
    assert "face register:" not in quiet_err and "face register:" not in out
    strip = lambda text: re.sub(r"[\d.]+ s\b", "T s", text.replace(str(tmp_path / "b"), str(tmp_path / "a")))  # noqa: E731
    assert strip(out) == strip(quiet_out) and out.count("\n") == 1
    assert summary == quiet_summary
