"""The FaceKit model for the Blender side, loaded once per session (the npz is tens of MB)."""
from __future__ import annotations

from functools import lru_cache

from ..core.facekit import FaceKit, load_facekit
from .operator_base import FaceAddonError


@lru_cache(maxsize=1)
def _cached() -> FaceKit:
    return load_facekit()


def facekit() -> FaceKit:
    """The shipped FaceKit, or a FaceAddonError telling the user how to build it."""
    try:
        return _cached()
    except FileNotFoundError as exc:
        raise FaceAddonError(str(exc)) from exc


def identity_group(name: str) -> str:
    """UI group of an identity coefficient: 'Macro' for age/sex/weight/ethnicity, else the face part."""
    if name.startswith("macro-"):
        return "Macro"
    core = name[2:] if name[:2] in ("l-", "r-") else name
    return core.split("-")[0].capitalize()
