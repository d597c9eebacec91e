"""Every command-line case of robust_cases.py: exit code, one line, no traceback, inputs unchanged, no partial
output, sane results (see robust_runner.run_case)."""
from __future__ import annotations

import pytest
from robust_cases import CASES
from robust_runner import run_case


def test_enough_cases():
    commands = {c.argv[0] for c in CASES if c.argv}
    assert len(CASES) >= 60
    assert {"info", "check", "edit", "landmarks", "segment", "register", "reconstruct", "synth", "demo",
            "train"} <= commands


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_case(case, corpus, registered, tmp_path):
    outcome = run_case(case, corpus, tmp_path)
    assert not outcome.problems, f"{case.id}: {outcome.problems}\nstdout: {outcome.stdout[-500:]}\nstderr: {outcome.stderr[-1500:]}"


def test_real_ctrl_c_of_python_m_face_addon(tmp_path):
    """A real SIGINT to `python -m face_addon synth` mid-sample (Blender's own SIGINT handler would ignore it):
    exit 130, one line, the half-written sample folder removed."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    out = tmp_path / "ds"
    proc = subprocess.Popen([sys.executable, "-m", "face_addon", "synth", "--out", str(out), "--profile", "scan",
                             "--count", "1"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(repo), "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not list(out.glob(".tmp-*")):
        time.sleep(0.2)
    assert proc.poll() is None, "synth ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["face synth: interrupted; unfinished outputs were discarded"]
    assert not list(out.glob(".tmp-*")) and not list(out.glob("0*"))
