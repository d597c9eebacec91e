"""Where the real evaluation data lives (`../shared/real`, see its README) and how benchmarks find it.

The folder is never part of the project: CI and the developers' machines have it beside the clone, a user's
clone does not. Everything that reads it calls `real_root()` and skips with a message when it is absent.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def real_root() -> Path | None:
    """`$FACE_REAL_DATA` or `../shared/real` beside the clone; None (with a printed message) when missing."""
    root = Path(os.environ.get("FACE_REAL_DATA", REPO.parent / "shared" / "real"))
    if not (root / "README.md").is_file():
        print(f"real data not found at {root} (set FACE_REAL_DATA): skipping the real-data benchmark")
        return None
    return root
