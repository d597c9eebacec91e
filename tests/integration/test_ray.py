"""`face synth --ray` and `face train landmarks --ray` on a real local Ray cluster (127.0.0.1, started and stopped
here): samples byte-identical to a local run, a worker killed mid-run, a 2-worker training run resumed from its
checkpoint. Skipped where Ray is not installed (it is not bundled: requirements-cluster.txt)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

REPO = Path(__file__).resolve().parents[2]
SYNTH = ["--profile", "scan", "--target-verts", "20000"]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def cluster():
    """A one-node Ray cluster with 2 worker CPUs on 127.0.0.1; yields its address. Its processes run in their
    own session and are ended by that session's id afterwards."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths are length-limited
    head = subprocess.Popen(
        [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
         f"--port={port}", "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
         f"--temp-dir={temp}"],
        env=_env(), start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while subprocess.run([sys.executable, "-c", f"import ray; ray.init(address='{address}'); ray.shutdown()"],
                             env=_env(), capture_output=True).returncode != 0:
            assert time.time() < deadline and head.poll() is None, "the local Ray cluster did not start"
            time.sleep(2)
        yield address
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)


def _face(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "face_addon", *args], env=_env(), cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def _files(root: Path) -> dict[str, bytes]:
    """Every file of every sample; meta.json without its wall-clock timings (the one field that is not the
    seed's)."""
    out = {}
    for p in sorted(root.glob("[0-9]*/**/*")):
        if p.is_file():
            data = p.read_bytes()
            if p.name == "meta.json":
                meta = json.loads(data)
                meta.pop("timings_s")
                data = json.dumps(meta, sort_keys=True).encode()
            out[str(p.relative_to(root))] = data
    return out


def test_synth_on_ray_matches_local_bytes(cluster, tmp_path):
    local = _face("synth", "--out", str(tmp_path / "local"), "--count", "3", "--seed", "1900100", *SYNTH)
    assert local.returncode == 0, local.stderr
    remote = _face("synth", "--out", str(tmp_path / "ray"), "--count", "3", "--seed", "1900100", *SYNTH,
                   "--ray", cluster)
    assert remote.returncode == 0, remote.stderr
    assert "samples/h" in remote.stdout and "ETA" in remote.stdout
    a, b = _files(tmp_path / "local"), _files(tmp_path / "ray")
    assert len(a) >= 3 * 5 and a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []
    again = _face("synth", "--out", str(tmp_path / "ray"), "--count", "3", "--seed", "1900100", *SYNTH,
                  "--ray", cluster)  # resume: nothing left to make
    assert again.returncode == 0 and "0 samples to make" in again.stdout


def _kill_a_worker_during(cluster: str, out: Path, seed: int) -> tuple[int | None, subprocess.Popen, str, str]:
    """Start a 3-sample Ray run and SIGKILL the worker whose temp folder (.tmp-SEED-PID) appears first."""
    run = subprocess.Popen([sys.executable, "-m", "face_addon", "synth", "--out", str(out), "--count", "3",
                            "--seed", str(seed), *SYNTH, "--ray", cluster, "--retries", "2"],
                           env=_env(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 180
    victim = None
    while victim is None and time.time() < deadline and run.poll() is None:
        temps = list(out.glob(".tmp-*")) if out.exists() else []
        if temps:
            victim = int(temps[0].name.rsplit("-", 1)[1])
            os.kill(victim, signal.SIGKILL)
        time.sleep(0.02)
    stdout, stderr = run.communicate(timeout=300)
    return victim, run, stdout, stderr


def test_synth_on_ray_survives_a_killed_worker(cluster, tmp_path):
    # A sample's temp folder exists only while its labels are written (under a second on an idle machine), so a
    # run can finish before the poll sees one: try up to three runs; one of them must lose a worker and complete.
    for attempt in range(3):
        out, seed = tmp_path / f"killed{attempt}", 1900200 + 10 * attempt
        victim, run, _, stderr = _kill_a_worker_during(cluster, out, seed)
        assert run.returncode == 0, stderr
        if victim is not None:
            break
    assert victim is not None, "no worker was seen at work in three runs"
    assert sorted(p.name for p in out.glob("[0-9]*")) == [str(seed + k) for k in range(3)]
    assert not (out / "failures.jsonl").exists()


def _train(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "face_addon.train.landmarks", "--out", str(out), "--smoke", *args],
                          env=_env(), cwd=REPO, capture_output=True, text=True, timeout=300)


def test_two_worker_training_resumes_from_its_checkpoint(cluster, tmp_path):
    import torch

    first = _train(tmp_path, "--ray", cluster, "--workers", "2", "--max-steps", "2")
    assert first.returncode == 0, first.stderr
    blob = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert blob["state"]["step"] == 2 and blob["state"]["seen"] == 2 * 4  # global batch 4, 2 per worker
    second = _train(tmp_path, "--ray", cluster, "--workers", "2", "--max-steps", "4", "--resume")
    assert second.returncode == 0, second.stderr
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["state"]
    assert state["step"] == 4 and state["seen"] == 4 * 4  # 6 smoke heads: one step (one loss) per epoch
    assert state["losses"][:2] == blob["state"]["losses"] and len(state["losses"]) == 4
    assert np.isfinite(state["losses"]).all()
