"""`face landmarks` on a mesh without a face: one line on stderr and exit 1, nothing written (the fallback that
`--fallback-sgcn` asks for is tested on the core call, test_landmarks.py: a second face search here would cost
minutes)."""
import subprocess
import sys
from pathlib import Path

import trimesh

ROOT = Path(__file__).resolve().parents[2]


def _face(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "face_addon", "landmarks", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_a_sphere_is_an_error(tmp_path):
    trimesh.creation.icosphere(subdivisions=3, radius=0.1).export(tmp_path / "sphere.obj")
    out = tmp_path / "lm.json"
    run = _face(str(tmp_path / "sphere.obj"), "--out", str(out), "-q")
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "no face found on the mesh" in run.stderr
    assert not out.exists()
