"""Where the real evaluation data lives (`../shared/real`, see its README) and how benchmarks find it.

The folder is never part of the project: CI and the developers' machines have it beside the clone, a user's
clone does not. Everything that reads it calls `real_root()` and skips with a message when it is absent.
"""
from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: Pictures of results on real data: in the ignored out/ folder, never in git (the real data's README: nothing of
#: it is committed, and a render of a scan or an overlay on a photo is still the scan or the photo)
PICTURES = REPO / "out" / "real_pictures"


def picture_path(name: str) -> Path:
    """out/real_pictures/<name>, the folder made when missing."""
    PICTURES.mkdir(parents=True, exist_ok=True)
    return PICTURES / name


def picture_note(name: str, what: str) -> str:
    """The real.md line that names a picture this benchmark wrote (not linked: it is not in git)."""
    return f"Picture ({what}; written by this benchmark, not in git): `out/real_pictures/{name}`."


def real_root() -> Path | None:
    """`$FACE_REAL_DATA` or `../shared/real` beside the clone; None (with a printed message) when missing."""
    root = Path(os.environ.get("FACE_REAL_DATA", REPO.parent / "shared" / "real"))
    if not (root / "README.md").is_file():
        print(f"real data not found at {root} (set FACE_REAL_DATA): skipping the real-data benchmark")
        return None
    return root


def people_script(doc: str, measure: Callable[[Path, int], tuple[dict, str]], people: int,
                  argv: list[str] | None) -> int:
    """The command line of a real-photo script run alone (`--people N`): skips without the real data, measures
    on one thread like the benchmark, prints the real.json keys and the markdown section."""
    import torch

    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--people", type=int, default=people, help="the first N people (default %(default)s)")
    args = ap.parse_args(argv)
    root = real_root()
    if root is None:
        return 0
    torch.set_num_threads(1)
    keys, md = measure(root, args.people)
    print(json.dumps(keys))
    print(md)
    return 0
