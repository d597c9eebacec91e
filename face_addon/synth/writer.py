"""Atomic sample folders, the root index and the failure log (DESIGN §5). No bpy.

A sample is written into a hidden temp folder `.tmp-SEED-PID` and renamed to `SEED` (7 digits) only when every
file is there, so a killed run never leaves a half sample and a rerun skips what is complete (resume).
"""
from __future__ import annotations

import json
import os
import shutil
import time
import traceback
from pathlib import Path

import numpy as np

from ..core.color import linear_to_srgb_bytes
from ..core.dataset import complete_seeds, sample_dir, write_index, write_ply


class SampleWriter:
    """Collects one sample's files in a temp folder; `commit()` renames it into place."""

    def __init__(self, root: Path, seed: int) -> None:
        self.root, self.seed = Path(root), seed
        self.final = sample_dir(root, seed)
        self.tmp = self.root / f".tmp-{seed:07d}-{os.getpid()}"
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir(parents=True)

    def json(self, name: str, data: dict) -> None:
        (self.tmp / name).write_text(json.dumps(data, indent=1, default=_jsonable) + "\n")

    def ply(self, name: str, v: np.ndarray, f: np.ndarray, colors_linear: np.ndarray | None = None) -> None:
        c = None if colors_linear is None else linear_to_srgb_bytes(colors_linear)
        write_ply(self.tmp / name, v, f, c)

    def npz(self, name: str, **arrays: np.ndarray) -> None:
        np.savez_compressed(self.tmp / name, **arrays)

    def commit(self) -> Path:
        if self.final.exists():  # a concurrent shard finished the same seed first: keep theirs
            shutil.rmtree(self.tmp)
        else:
            os.replace(self.tmp, self.final)
        return self.final

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _jsonable(x):
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(type(x))


def log_failure(root: Path, seed: int, exc: BaseException) -> None:
    """Append one line to failures.jsonl: the seed reproduces the failure on its own."""
    line = {"seed": seed, "error": f"{type(exc).__name__}: {exc}", "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "traceback": traceback.format_exc(limit=6)}
    with open(Path(root) / "failures.jsonl", "a") as fh:
        fh.write(json.dumps(line) + "\n")


def clean_stale_temps(root: Path) -> int:
    """Remove temp folders left by killed runs of this machine's dead processes; returns how many."""
    removed = 0
    for p in Path(root).glob(".tmp-*"):
        try:
            pid = int(p.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if not _alive(pid):
            shutil.rmtree(p, ignore_errors=True)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


__all__ = ["SampleWriter", "clean_stale_temps", "complete_seeds", "log_failure", "write_index"]
