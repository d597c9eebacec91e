"""Joining a Ray cluster, shared by `face synth --ray` (synth/ray_synth.py) and the data-parallel landmark trainer
(train/ray_train.py). It lives in core because train may not import synth (docs/architecture.md); no bpy.

Ray is not bundled with the extension: a missing Ray or an unreachable cluster is a one-line `UserError`.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import UserError


def import_ray():
    """The `ray` module, or a one-line error: Ray is not bundled with the extension."""
    try:
        import ray
    except ImportError as exc:
        raise UserError("--ray needs Ray on this machine and every node: pip install -r "
                        "requirements-cluster.txt (see docs/scale.md)") from exc
    return ray


def connect(ray, address: str) -> None:
    """Join the cluster at `address` ('auto' = the one this node belongs to); the workers find face_addon on
    the same PYTHONPATH as the driver (every node holds the extension at the same path)."""
    package_root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join([package_root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    try:
        ray.init(address=address, runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}},
                 log_to_driver=False, logging_level="ERROR")
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UserError(f"--ray {address}: cannot join the Ray cluster ({exc})") from exc
