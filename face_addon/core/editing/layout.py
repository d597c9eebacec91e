"""The NEO-3DF segment layout on FaceKit's topology: five parts, the rest, the transition area.

FaceKit's segments (fk.segments) touch each other in places (eyes-nose, eyes-eyebrows, nose-upper lip share
edges), but NEO-3DF's blending needs every part to be an island inside `rest`, so that a part can change
shape while its neighbours stay put and ARAP absorbs the difference. The layout therefore hands the part
vertices within CONTACT_RINGS edge rings of another part to `rest`, then rebuilds rest's one-ring overlap.
The transition area is defined on the mean face as in the paper: rest vertices within 30 mm of a part
boundary; its outer boundary is the transition vertices that touch the rest of `rest`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..geometry.laplacian import adjacency

PART_NAMES = ("eyebrows", "eyes", "nose", "upper_lip", "lower_lip")
SEGMENT_NAMES = (*PART_NAMES, "rest")
CONTACT_RINGS = 1
TRANSITION_RADIUS = 0.030  # metres


@dataclass(frozen=True)
class SegmentLayout:
    """Vertex index sets of the editing model (all sorted int64 arrays into the full mesh).

    segments: name -> vertices (parts are disjoint; rest overlaps each part by its boundary ring).
    boundary: part -> its vertices shared with rest (the paper's segment boundary, red in its Fig. 2).
    transition: rest vertices within `radius` of any part boundary (boundaries included).
    outer_boundary: transition vertices adjacent to rest vertices outside the transition (blue in Fig. 2).
    """

    n_vertices: int
    segments: dict[str, np.ndarray]
    boundary: dict[str, np.ndarray]
    transition: np.ndarray
    outer_boundary: np.ndarray
    radius: float

    @property
    def parts(self) -> tuple[str, ...]:
        return PART_NAMES

    def mask(self, idx: np.ndarray) -> np.ndarray:
        out = np.zeros(self.n_vertices, bool)
        out[idx] = True
        return out

    def affected(self, segment: str) -> np.ndarray:
        """Boolean mask of what an edit of `segment` may move: the segment and the transition area."""
        return self.mask(self.segments[segment]) | self.mask(self.transition)


def build_layout(mean_vertices: np.ndarray, faces: np.ndarray, segments: dict[str, np.ndarray],
                 radius: float = TRANSITION_RADIUS, contact_rings: int = CONTACT_RINGS) -> SegmentLayout:
    """Layout from FaceKit's segments (dict with the five part names; 'rest' is recomputed) on `mean_vertices`."""
    n = len(mean_vertices)
    adj = adjacency(n, faces)
    grow = lambda m: m | (adj @ m.astype(np.float64) > 0)  # noqa: E731 - one edge ring
    masks = {k: np.isin(np.arange(n), segments[k]) for k in PART_NAMES}
    keep = {}
    for k in PART_NAMES:
        others = np.zeros(n, bool)
        for o in PART_NAMES:
            if o != k:
                others |= masks[o]
        for _ in range(contact_rings):
            others = grow(others)
        keep[k] = masks[k] & ~others
    parts_any = np.zeros(n, bool)
    for k in PART_NAMES:
        parts_any |= keep[k]
    pure_rest = ~parts_any
    overlap = grow(pure_rest) & parts_any
    out = {k: np.flatnonzero(keep[k]) for k in PART_NAMES}
    out["rest"] = np.flatnonzero(pure_rest | overlap)
    boundary = {k: np.flatnonzero(keep[k] & overlap) for k in PART_NAMES}
    all_boundary = np.concatenate(list(boundary.values()))
    dist, _ = cKDTree(mean_vertices[all_boundary]).query(mean_vertices)
    transition = (pure_rest & (dist < radius)) | overlap
    outer = transition & ~overlap & (adj @ (pure_rest & ~transition).astype(np.float64) > 0)
    return SegmentLayout(n, out, boundary, np.flatnonzero(transition), np.flatnonzero(outer), radius)
