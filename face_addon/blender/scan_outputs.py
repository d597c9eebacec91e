"""Names and readers of the outputs face_addon writes on a scan: the `Skin` / `Non-Skin` vertex groups of Segment
Skin and the `<object> Landmarks` empties of Detect Landmarks.

They live here, not in the operators that write them, because later steps read them (Register Head reads both,
Export Landmarks the empties): one operator module never imports another (docs/architecture.md).
"""
from __future__ import annotations

import bpy
import numpy as np

from ..core import ibug68
from .operator_base import FaceAddonError
from .writers import OWNER_PROP

SKIN_GROUP, NON_SKIN_GROUP = "Skin", "Non-Skin"


def landmark_collection_name(obj: bpy.types.Object) -> str:
    return f"{obj.name} Landmarks"


def read_landmark_empties(coll: bpy.types.Collection) -> tuple[np.ndarray, np.ndarray]:
    """World positions (68, 3) and confidences (68,) of our empties in iBUG order (moved empties included)."""
    names = {n: i for i, n in enumerate(ibug68.empty_names())}
    pts = np.full((68, 3), np.nan)
    conf = np.full(68, np.nan)
    for o in coll.objects:
        i = names.get(o.name.split(".")[0])
        if i is not None and o.get(OWNER_PROP):
            pts[i] = np.array(o.matrix_world.translation)
            conf[i] = float(o.get("confidence", np.nan))
    if np.isnan(pts).any():
        missing = [ibug68.empty_names()[i] for i in np.flatnonzero(np.isnan(pts).any(axis=1))]
        raise FaceAddonError(f"{len(missing)} landmark empties are missing (e.g. {missing[0]}); run Detect Landmarks again.")
    return pts, conf
