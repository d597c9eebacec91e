"""A missing input is reported before the heavy imports (torch, the models), not after seconds of start-up.

Each command runs in a fresh interpreter through the real entry (`python -m face_addon`'s module_entry, which
registers the add-on on the bpy module first); the check is on import order, not on timing."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from face_addon.cli.args import check_inputs
from face_addon.core.errors import MeshError, PhotoError

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
from face_addon.cli.main import module_entry
code = module_entry(sys.argv[1:])
print(json.dumps({"rc": code, "torch": "torch" in sys.modules}))
"""


def test_check_inputs_messages(tmp_path):
    with pytest.raises(PhotoError, match="no such photo"):
        check_inputs((tmp_path / "a.jpg", "photo"))
    with pytest.raises(MeshError, match="a folder, not a file"):
        check_inputs((tmp_path, "file"))
    with pytest.raises(MeshError, match="no such landmark file"):
        check_inputs((None, "file"), (tmp_path / "lm.json", "landmark file"))
    (tmp_path / "s.obj").write_text("v 0 0 0\n")
    check_inputs((tmp_path / "s.obj", "file"), (None, "landmark file"))  # present or not given: nothing raised


@pytest.mark.parametrize("argv, message", [
    (["landmarks", "{t}/missing.obj", "--out", "{t}/l.json"], "no such file"),
    (["segment", "{t}/missing.ply", "--out", "{t}/s.ply"], "no such file"),
    (["register", "{t}/missing.ply", "--out", "{t}/h.ply", "--segment"], "no such file"),
    (["reconstruct", "{t}/missing.jpg", "--out", "{t}/r.obj"], "no such photo"),
])
def test_missing_input_before_torch(tmp_path, argv, message):
    args = [a.format(t=tmp_path) for a in argv]
    run = subprocess.run([sys.executable, "-c", _PROBE, *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["rc"] == 1 and message in run.stderr and "Traceback" not in run.stderr
    assert not result["torch"], "torch was imported before the missing input was reported"
    assert not list(tmp_path.iterdir())  # nothing written


def test_landmark_file_unit(tmp_path):
    """`face register --landmarks X.json` takes the unit `face landmarks` recorded with its face frame."""
    from face_addon.cli.register import landmark_file_unit

    cases = {"frame.json": json.dumps({"orientation": {"unit_scale_to_m": 0.04902}}),
             "noframe.json": json.dumps({"orientation": None, "unit_scale_to_m": 0.01}),
             "zero.json": json.dumps({"orientation": {"unit_scale_to_m": 0}}),
             "text.json": json.dumps({"orientation": {"unit_scale_to_m": "cm"}}),
             "broken.json": "{", "list.json": "[1, 2]", "lm.csv": "x,y,z\n"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    units = {name: landmark_file_unit(tmp_path / name) for name in cases}
    assert units == {"frame.json": 0.04902, **{n: None for n in cases if n != "frame.json"}}


@pytest.mark.parametrize("argv", [
    ["landmarks", "{t}/in.obj", "--out", "{t}/l.txt"],
    ["segment", "{t}/in.obj", "--out", "{t}/s.obj"],
    ["register", "{t}/in.obj", "--out", "{t}/h.obj", "--segment"],
    ["reconstruct", "{t}/in.jpg", "--out", "{t}/r.xyz"],
    ["reconstruct", "{t}/in.jpg", "--out", "{t}/r.obj", "--json", "{t}/r.obj"],
])
def test_bad_output_before_torch(tmp_path, argv):
    """A usage error in an output option (exit 2) is also reported before the heavy imports: seconds saved on
    every typo (QA session 8: `face reconstruct --out X.xyz` took 10 s to say so)."""
    (tmp_path / "in.obj").write_text("v 0 0 0\n")
    (tmp_path / "in.jpg").write_bytes(b"\xff\xd8\xff")
    args = [a.format(t=tmp_path) for a in argv]
    run = subprocess.run([sys.executable, "-c", _PROBE, *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["rc"] == 2 and "Traceback" not in run.stderr
    assert not result["torch"], "torch was imported before the output usage error was reported"
