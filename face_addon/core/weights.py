"""Shipped weights: one file = {"format", "kind", "version", "meta", "state_dict"} written with torch.save and
read back with torch.load(weights_only=True) (tensors, numbers, strings, lists, dicts only: no pickled code).

`load_weights` checks the kind and that the file's version is one this code can read, so a stale or foreign
file gives a clear message instead of a shape error deep inside a network.
"""
from __future__ import annotations

import warnings
from pathlib import Path

from .errors import WeightsError  # defined with the other user errors; imported from here too

FORMAT = "face_addon.weights"


def save_weights(path: Path | str, kind: str, version: int, state_dict: dict, meta: dict) -> Path:
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"format": FORMAT, "kind": kind, "version": int(version), "meta": meta, "state_dict": state}, tmp)
    tmp.replace(path)
    return path


def read_tensor_file(path: Path | str):
    """torch.load(weights_only=True) of `path` on the CPU; WeightsError (one line) when it cannot be read."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols of foreign files: noise to a user
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user problem
        # torch's own message suggests weights_only=False, i.e. running pickled code: never repeat that advice
        raise WeightsError(f"{path.name} is not a readable weights file ({type(exc).__name__}): it is corrupt, "
                           "truncated or was not saved by face_addon; use the shipped file or re-export it") from None


def load_weights(path: Path | str, kind: str, versions: tuple[int, ...]) -> tuple[dict, dict]:
    """(state_dict, meta) of a weights file of `kind` whose version is in `versions`; WeightsError otherwise."""
    path = Path(path)
    blob = read_tensor_file(path)
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise WeightsError(f"{path.name} is not a face_addon weights file")
    if blob.get("kind") != kind:
        raise WeightsError(f"{path.name} holds '{blob.get('kind')}' weights, expected '{kind}'")
    if blob.get("version") not in versions:
        raise WeightsError(f"{path.name} has version {blob.get('version')}; this face_addon reads {list(versions)}")
    return blob["state_dict"], blob.get("meta", {})


def cached_per_file_version(build):
    """Wrap `build(path: str)` (which reads a weights file into a ready network) so each file version is read
    once per process: the cache key is the resolved path and its modification time, so a re-trained file
    is picked up. The wrapper raises WeightsError for a missing file."""
    from functools import lru_cache

    @lru_cache(maxsize=2)
    def cached(path: str, mtime_ns: int):
        return build(path)

    def load(path: Path | str):
        path = Path(path)
        if not path.is_file():
            raise WeightsError(f"weights file not found: {path}")
        return cached(str(path.resolve()), path.stat().st_mtime_ns)

    load.__doc__ = build.__doc__
    return load
