"""Derive FaceKit's annotations from the template geometry, segmentation labels and target supports.

Nothing here is a hand-typed vertex list: each annotation is a rule over data the wheel ships, so the rules
survive an asset update and can be read (docs/facekit.md explains each with a picture). All rules work on the
neutral template in Blender axes (metres, +Z up, face toward -Y, subject's left = +X). Bilateral annotations
are derived on the subject's right side (-X, the image-left side of a frontal photo, where iBUG numbering
starts) and mirrored through the mirror map, so they are left/right consistent by construction.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull

from ..ibug68 import MIRROR as IBUG_MIRROR  # iBUG index of each landmark's mirror image

PART_NAMES = ("left_eye", "right_eye", "left_eyebrow", "right_eyebrow", "nose", "up_lip", "down_lip", "skin")
SEGMENT_NAMES = ("eyebrows", "eyes", "nose", "upper_lip", "lower_lip", "rest")
FRONT_FACING = -0.35  # normal·Y below this faces the camera of a frontal photo (within ~70 degrees)
JAW_PLANE = -0.03  # metres: the jaw outline is searched in front of this y (the jaw angles)
SUPPORT = {"brow": 0.6, "nose": 0.75, "upperlip": 0.4, "lowerlip": 0.6}  # part = support above these
SEGMENT_SUPPORT = 0.3
LOWER_LIP_RATIO = 0.8  # lower lip at most this many upper-lip heights (mouthRollLower also drags the chin)


def derive_annotations(vertices: np.ndarray, faces: np.ndarray, face_labels: np.ndarray, mirror: np.ndarray,
                       support: dict[str, np.ndarray], human: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """All annotations as index arrays keyed `landmarks`, `part/<name>`, `segment/<name>`, `spa`, and with
    `human` the surface landmarks `landmark_triangle` (68, 3) vertex indices + `landmark_bary` (68, 3).

    vertices (n, 3) template; faces (m, 3); face_labels (m,) segmentation label per face; mirror (n,);
    support: per-vertex relative target displacement (0..1): nose, eyes, ears (MakeHuman modifier groups),
    brow, upperlip, lowerlip (ARKit browDown*, mouthRollUpper, mouthRollLower); human: (68, 3) the iBUG points
    in the human convention near the template (see `human_landmarks`). Parts are always derived from the
    geometric landmark rules, so they do not move when the landmark convention is recalibrated.
    """
    geo = _Geometry(vertices, faces, face_labels, mirror)
    landmarks = _landmarks(geo, support)
    parts = _parts(geo, support, landmarks)
    out = {"landmarks": landmarks, "spa": np.flatnonzero(parts.pop("spa"))}
    if human is not None:
        out.update(zip(("landmarks", "landmark_triangle", "landmark_bary"),
                       human_landmarks(geo, landmarks, human, parts)))
    out.update({f"part/{k}": np.flatnonzero(v) for k, v in parts.items()})
    out.update({f"segment/{k}": np.flatnonzero(v) for k, v in _segments(geo, support, parts).items()})
    return out


#: iBUG points FaceKit keeps from its geometric rule in the human convention: the jaw outline (all but the chin 8)
#: is a silhouette in photos; MediaPipe's face-oval points slide over the face with pose and no annotated set
#: covers them, so the frontal-outline rule below stays. So do the inner mouth corners 60 and 64 (not annotated).
RULE_LANDMARKS = tuple(i for i in range(17) if i != 8) + (60, 64)
#: the inner-lip points snap onto their own lip: on the closed-mouth template the mapped upper and lower points
#: coincide, and a point on a triangle across the lips would float in the gap when the mouth opens
LIP_OF = {61: "up_lip", 62: "up_lip", 63: "up_lip", 65: "down_lip", 66: "down_lip", 67: "down_lip"}
#: face labels no landmark is snapped onto (a point on them would not follow the lids and lips)
CAVITIES = ("eye_cavity.L", "eye_cavity.R", "mouth_cavity")


def human_landmarks(geo: "_Geometry", rule: np.ndarray, human: np.ndarray, parts: dict[str, np.ndarray]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 68 landmarks as surface points: `human` (68, 3) (MediaPipe's points on the template mapped by the
    calibrated 468 -> 68 map) with the `RULE_LANDMARKS` from `rule` (vertex indices), made left/right symmetric
    (each point averaged with its mirror image's reflection), snapped to the nearest surface point.
    Returns (nearest vertex (68,), triangle vertex indices (68, 3), barycentric weights (68, 3))."""
    from ..geometry.surface_distance import SurfaceQuery, barycentric

    pts = np.asarray(human, np.float64).copy()
    pts[list(RULE_LANDMARKS)] = geo.v[rule[list(RULE_LANDMARKS)]]
    pts = 0.5 * (pts + pts[IBUG_MIRROR] * np.array([-1.0, 1.0, 1.0]))
    skin = ~np.isin(geo.labels, CAVITIES)
    snapped, _, face = SurfaceQuery(geo.v, geo.f[skin], k=8).nearest(pts)
    tri = geo.f[skin][face]
    for lip, other in (("up_lip", "down_lip"), ("down_lip", "up_lip")):
        rows = [i for i, name in LIP_OF.items() if name == lip]
        # the lip parts are narrower than the lips (down_lip spans about ±5 mm): two rings wider, without the
        # other lip, so the points beside the centre (61/63, 65/67) land on their own lip too
        lip_side = geo.ring(geo.ring(parts[lip])) & ~parts[other]
        faces = geo.f[skin & lip_side[geo.f].all(1)]
        used, local = np.unique(faces, return_inverse=True)  # query the lip alone: its own nearest vertices
        snapped[rows], _, face = SurfaceQuery(geo.v[used], local.reshape(faces.shape), k=8).nearest(pts[rows])
        tri[rows] = faces[face]
    bary = barycentric(snapped, *(geo.v[tri[:, k]] for k in range(3)))
    return _distinct_vertices(geo, snapped), tri.astype(np.int64), bary


def _distinct_vertices(geo: "_Geometry", points: np.ndarray) -> np.ndarray:
    """(68,) the nearest free template vertex of each landmark (midline points on the midline), decided on the
    subject's right and mirrored, so the vertex landmarks stay distinct and left/right consistent where two
    surface landmarks share a place (the inner lips of a closed mouth)."""
    out = np.full(68, -1, np.int64)
    used: set[int] = set()
    side = (geo.v[:, 0] < -1e-6) | geo.midline
    for i in range(68):
        if points[IBUG_MIRROR[i], 0] < points[i, 0]:
            i = IBUG_MIRROR[i]  # the point on the subject's right of the pair
        if out[i] >= 0:
            continue
        pool = np.flatnonzero(geo.midline if IBUG_MIRROR[i] == i else side & ~geo.midline)
        for v in pool[np.argsort(np.linalg.norm(geo.v[pool] - points[i], axis=1))]:
            if int(v) not in used:
                break
        out[i], out[IBUG_MIRROR[i]] = v, geo.mirror[v]
        used.update((int(v), int(geo.mirror[v])))
    return out


class _Geometry:
    """Per-vertex quantities every rule needs: normals, adjacency, label membership, mirror."""

    def __init__(self, v: np.ndarray, f: np.ndarray, labels: np.ndarray, mirror: np.ndarray) -> None:
        self.v, self.f, self.labels, self.mirror, self.n = v, f, labels, mirror, len(v)
        fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
        vn = np.zeros_like(v)
        for k in range(3):
            np.add.at(vn, f[:, k], fn)
        self.normals = vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)
        i, j = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]).T
        adj = coo_matrix((np.ones(i.size), (i, j)), shape=(self.n, self.n))
        self.adj = csr_matrix(((adj + adj.T) > 0).astype(np.float64))
        self.on = {name: np.isin(np.arange(self.n), f[labels == name]) for name in np.unique(labels)}
        self.midline = mirror == np.arange(self.n)
        self.front = self.normals[:, 1] < FRONT_FACING

    def boundary(self, inside: np.ndarray) -> np.ndarray:
        """Vertices of `inside` with a neighbour outside it."""
        return inside & (self.adj @ (~inside).astype(np.float64) > 0)

    def ring(self, mask: np.ndarray) -> np.ndarray:
        """`mask` grown by one edge ring."""
        return mask | (self.adj @ mask.astype(np.float64) > 0)

    def largest(self, mask: np.ndarray) -> np.ndarray:
        """The largest connected piece of `mask` on the mesh graph."""
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return mask
        _, comp = connected_components(self.adj[idx][:, idx], directed=False)
        out = np.zeros(self.n, bool)
        out[idx[comp == np.bincount(comp).argmax()]] = True
        return out

    def mirrored(self, mask: np.ndarray) -> np.ndarray:
        out = np.zeros(self.n, bool)
        out[self.mirror[mask]] = True
        return out

    def nearest(self, candidates: np.ndarray, x: float, z: float) -> int:
        """The candidate vertex closest to (x, z) in a frontal view."""
        idx = np.flatnonzero(candidates)
        return int(idx[np.argmin((self.v[idx, 0] - x) ** 2 + (self.v[idx, 2] - z) ** 2)])


def _loop_landmarks(geo: _Geometry, loop: np.ndarray, n_upper: int, n_lower: int) -> tuple[int, int, list, list]:
    """Corners (lateral = min x, medial = max x) of a closed contour on the right side, plus points on its
    upper/lower arcs at evenly spaced x between them (ordered lateral -> medial)."""
    idx = np.flatnonzero(loop)
    lat, med = idx[np.argmin(geo.v[idx, 0])], idx[np.argmax(geo.v[idx, 0])]
    (x0, _, z0), (x1, _, z1) = geo.v[lat], geo.v[med]
    above = geo.v[:, 2] > z0 + (geo.v[:, 0] - x0) * (z1 - z0) / (x1 - x0)
    arcs = []
    for arc, count in ((loop & above, n_upper), (loop & ~above, n_lower)):
        xs = x0 + (x1 - x0) * np.arange(1, count + 1) / (count + 1)
        arcs.append([_at_x(geo, arc, x) for x in xs])
    return int(lat), int(med), arcs[0], arcs[1]


def _at_x(geo: _Geometry, mask: np.ndarray, x: float) -> int:
    idx = np.flatnonzero(mask)
    return int(idx[np.argmin(np.abs(geo.v[idx, 0] - x))])


def _landmarks(geo: _Geometry, support: dict[str, np.ndarray]) -> np.ndarray:
    """68 iBUG landmarks (order and rules in docs/facekit.md)."""
    v, lm = geo.v, np.full(68, -1, np.int64)
    right = v[:, 0] < -1e-6

    # Eyes 36-41: the eyelid margin is where head skin meets the eye cavity.
    margin = geo.on["eye_cavity.R"] & geo.on["head"]
    lm[36], lm[39], (lm[37], lm[38]), (lm[41], lm[40]) = _loop_landmarks(geo, margin, 2, 2)

    # Inner lips 60-67: where the lips meet the mouth cavity; the corners sit on the right half.
    inner = geo.on["mouth_cavity"] & geo.on["head"]
    lm[60], _, (lm[61],), (lm[67],) = _loop_landmarks(geo, inner & (right | geo.midline), 1, 1)
    lm[62] = _at_x(geo, inner & geo.midline & (v[:, 2] > v[lm[60], 2]), 0.0)
    lm[66] = _at_x(geo, inner & geo.midline & (v[:, 2] < v[lm[60], 2]), 0.0)

    # Outer lips 48-59: boundary of the lip region (lip-volume target supports) around the mouth.
    upper = geo.ring(inner) | (support["upperlip"] > SUPPORT["upperlip"])
    z_in = v[inner & geo.midline, 2].mean()
    z_cap = z_in - LOWER_LIP_RATIO * (v[_component_of(geo, upper, lm[62]) & geo.midline, 2].max() - z_in)
    lips = geo.largest(upper | ((support["lowerlip"] > SUPPORT["lowerlip"]) & (v[:, 2] > z_cap))
                       | geo.on["mouth_cavity"])
    outer = geo.boundary(lips) & ~geo.on["mouth_cavity"]
    lm[48], _, (lm[49], lm[50]), (lm[59], lm[58]) = _loop_landmarks(geo, outer & (right | geo.midline), 2, 2)
    mid_outer = np.flatnonzero(outer & geo.midline)
    lm[51], lm[57] = mid_outer[np.argmax(v[mid_outer, 2])], mid_outer[np.argmin(v[mid_outer, 2])]

    # Nose 27-35: midline profile of the front surface; tip = most forward, nasion = deepest point between
    # the eyes, subnasale = deepest point between tip and upper lip; alar base = lateral end of the nose
    # support at subnasale height.
    profile = geo.midline & (v[:, 1] < v[geo.midline & geo.front, 1].min() + 0.05)
    nose = support["nose"] > SUPPORT["nose"]
    lm[30] = np.flatnonzero(profile & nose)[np.argmin(v[profile & nose, 1])]
    eye_z = v[lm[39], 2]
    band = np.flatnonzero(profile & geo.front & (v[:, 2] > eye_z) & (v[:, 2] < eye_z + 0.03))
    lm[27] = band[np.argmax(v[band, 1])]
    below = np.flatnonzero(profile & (v[:, 2] < v[lm[30], 2]) & (v[:, 2] > v[lm[51], 2]))
    lm[33] = below[np.argmax(v[below, 1])]
    for k, t in ((28, 1 / 3), (29, 2 / 3)):
        z = v[lm[27], 2] + t * (v[lm[30], 2] - v[lm[27], 2])
        near = np.flatnonzero(profile & (np.abs(v[:, 2] - z) < 0.004))
        lm[k] = near[np.argmin(v[near, 1])]
    z33 = v[lm[33], 2]
    ala = np.flatnonzero(nose & right & (np.abs(v[:, 2] - z33 - 0.004) < 0.004) & (v[:, 1] < v[lm[33], 1] + 0.01))
    lm[31] = ala[np.argmin(v[ala, 0])]
    lm[32] = geo.nearest(nose & right & (v[:, 2] < v[lm[30], 2]) & (v[:, 1] < v[lm[33], 1]), v[lm[31], 0] / 2,
                         (v[lm[31], 2] + z33) / 2)

    # Brows 17-21: ridge of the browDown unit's motion (argmax per x) between the ends of its strong support.
    brow = (support["brow"] > SUPPORT["brow"]) & right & geo.front & (v[:, 2] > v[lm[37], 2] + 0.006)
    xs = np.linspace(v[brow, 0].min(), v[brow, 0].max(), 7)[1:-1]
    for k, x in zip(range(17, 22), xs):
        idx = np.flatnonzero(brow)
        dx = np.abs(v[idx, 0] - x)
        near = idx[dx <= max(dx.min(), 0.0035)]  # the column of brow vertices at x
        lm[k] = near[np.argmax(support["brow"][near])]

    # Jaw 0-8: the face outline in a frontal view, from eye-corner height down to the menton (8 = lowest midline
    # vertex of the front-facing patch around the nose; the under-chin faces down and so separates the face from
    # the neck). The outline is the convex hull of the frontal projection of the head in front of the jaw angles
    # (y < JAW_PLANE, ears excluded) above the menton: it follows the cheeks and the mandible instead of
    # stopping inside the face, never runs down the neck, and is not fooled by the coarse vertex spacing.
    face = geo.front & ~geo.on["eye_cavity.R"] & ~geo.on["eye_cavity.L"] & (support["ears"] < 0.2) & (v[:, 1] < 0)
    face = _component_of(geo, face, lm[30])
    lm[8] = np.flatnonzero(face & geo.midline)[np.argmin(v[face & geo.midline, 2])]
    candidates = np.flatnonzero((v[:, 1] < JAW_PLANE) & (support["ears"] < 0.2) & (v[:, 2] >= v[lm[8], 2] - 1e-4)
                                & (right | geo.midline))
    hull = candidates[ConvexHull(v[candidates][:, [0, 2]]).vertices]
    centre = v[lm[33], [0, 2]]
    rel = v[hull][:, [0, 2]] - centre
    angle = np.arctan2(-rel[:, 1], -rel[:, 0])  # 0 = towards the subject's right, pi/2 = straight down
    order = np.argsort(angle)
    angle, hull = angle[order], hull[order]
    start = np.arctan2(-(v[lm[36], 2] - centre[1]), 1.0)
    first = max(int(np.searchsorted(angle, start)) - 1, 0)
    last = int(np.searchsorted(angle, np.pi / 2 - 1e-6))
    poly = np.concatenate([v[hull[first:last]][:, [0, 2]], v[[lm[8]]][:, [0, 2]]])
    # clip the first hull edge where it crosses the eye-corner ray, then sample 9 points at equal arc length
    a0, a1 = angle[first], angle[first + 1]
    if a0 < start < a1:
        poly[0] = poly[0] + (start - a0) / (a1 - a0) * (poly[1] - poly[0])
    arc = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(poly, axis=0), axis=1))])
    pool = v[candidates][:, [0, 2]]
    for k, s in enumerate(np.linspace(0, arc[-1], 9)[:-1]):
        point = np.array([np.interp(s, arc, poly[:, 0]), np.interp(s, arc, poly[:, 1])])
        lm[k] = candidates[np.argmin(np.linalg.norm(pool - point, axis=1))]

    for i in range(68):  # left side = mirror image of the right side
        if lm[i] < 0:
            lm[i] = geo.mirror[lm[IBUG_MIRROR[i]]]
    return lm


def _parts(geo: _Geometry, support: dict[str, np.ndarray], lm: np.ndarray) -> dict[str, np.ndarray]:
    """3DDFA-V3 parts and the spa region as boolean masks."""
    v, right = geo.v, geo.v[:, 0] < -1e-6
    parts: dict[str, np.ndarray] = {}
    # Eye = the eyelid opening: margin contour plus the cavity vertices seen through it from the front.
    cavity = geo.on["eye_cavity.R"]
    margin = cavity & geo.on["head"]
    poly = _contour_polygon(geo, margin)
    inside = cavity & _in_polygon(v[:, [0, 2]], poly) & (v[:, 1] < v[margin, 1].max())
    parts["right_eye"] = geo.largest(margin | inside)
    parts["right_eyebrow"] = geo.largest((support["brow"] > SUPPORT["brow"]) & right & geo.front
                                         & (v[:, 2] > v[lm[37], 2] + 0.006))
    # Nose: the nose modifiers' strong support, clipped to the box nasion / alar bases / subnasale (the
    # modifiers also drag the adjacent cheeks).
    box = ((np.abs(v[:, 0]) <= np.abs(v[lm[31], 0]) + 0.003) & (v[:, 2] <= v[lm[27], 2])
           & (v[:, 2] >= v[lm[33], 2] - 0.002))
    parts["nose"] = _symmetric(geo, geo.largest((support["nose"] > SUPPORT["nose"]) & box & ~geo.on["mouth_cavity"]))
    upper = (support["upperlip"] > SUPPORT["upperlip"]) & (support["upperlip"] >= support["lowerlip"])
    lower = (support["lowerlip"] > SUPPORT["lowerlip"]) & (support["lowerlip"] > support["upperlip"])
    mouth_z = v[lm[[48, 54]], 2].mean()
    skinlike = ~geo.on["mouth_cavity"] & ~parts["nose"]
    parts["up_lip"] = _symmetric(geo, geo.largest(upper & skinlike & (v[:, 2] >= mouth_z - 0.002)))
    z_cap = mouth_z - LOWER_LIP_RATIO * (v[parts["up_lip"], 2].max() - mouth_z)
    parts["down_lip"] = _symmetric(geo, geo.largest(lower & skinlike & (v[:, 2] < mouth_z + 0.002) & (v[:, 2] > z_cap)
                                                     & ~parts["up_lip"]))
    parts["left_eye"] = geo.mirrored(parts["right_eye"])
    parts["left_eyebrow"] = geo.mirrored(parts["right_eyebrow"])

    # spa: facial skin inside the jaw outline, up to a forehead line at nasion + half the nasion-menton span.
    top = v[lm[27], 2] + 0.5 * (v[lm[27], 2] - v[lm[8], 2])
    outline = v[lm[:17]][:, [0, 2]]
    poly = np.vstack([outline, [outline[-1, 0], top], [outline[0, 0], top]])
    cavities = geo.on["eye_cavity.R"] | geo.on["eye_cavity.L"] | geo.on["mouth_cavity"]
    spa = _in_polygon(v[:, [0, 2]], poly) & (v[:, 1] < 0) & ~(cavities & ~geo.on["head"])
    taken = np.zeros(geo.n, bool)
    for name in ("left_eye", "right_eye", "left_eyebrow", "right_eyebrow", "nose", "up_lip", "down_lip"):
        taken |= parts[name]
    skin_parts = taken & ~parts["left_eye"] & ~parts["right_eye"]  # brows, nose and lips are facial skin too
    parts["spa"] = _symmetric(geo, geo.largest(spa | skin_parts))
    parts["skin"] = geo.largest(parts["spa"] & ~taken)
    return parts


def _segments(geo: _Geometry, support: dict[str, np.ndarray], parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """NEO-3DF segments: each vertex goes to the part whose targets move it most (relative support above
    SEGMENT_SUPPORT), one connected piece per side; everything else is `rest`, which also takes the first ring
    of every part so the segments overlap by one ring as the paper's blending expects."""
    keys = {"eyebrows": "brow", "eyes": "eyes", "nose": "nose", "upper_lip": "upperlip", "lower_lip": "lowerlip"}
    stack = np.stack([support[k] for k in keys.values()], 1)
    owner = np.where(stack.max(1) > SEGMENT_SUPPORT, stack.argmax(1), -1)
    right, left = geo.v[:, 0] < 1e-6, geo.v[:, 0] > -1e-6
    seg = {}
    for i, name in enumerate(keys):
        mask = owner == i
        if name in ("eyebrows", "eyes"):
            side = geo.largest(mask & right & ~geo.midline)
            seg[name] = side | geo.mirrored(side)
        else:
            seg[name] = _symmetric(geo, geo.largest(mask & (right | left)))
    seg["eyes"] |= parts["right_eye"] | parts["left_eye"]
    taken = np.zeros(geo.n, bool)
    for name in keys:
        seg[name] &= ~taken
        taken |= seg[name]
    rest = geo.largest(~taken)
    holes = ~taken & ~rest  # small islands enclosed by a part join the part around them
    while holes.any():
        for name in keys:
            grown = geo.ring(seg[name]) & holes
            seg[name] |= grown
            holes &= ~grown
    seg["rest"] = rest | (geo.ring(rest) & ~rest)
    return seg


def _component_of(geo: _Geometry, mask: np.ndarray, seed: int) -> np.ndarray:
    """The connected piece of `mask` that contains vertex `seed`."""
    idx = np.flatnonzero(mask)
    _, comp = connected_components(geo.adj[idx][:, idx], directed=False)
    out = np.zeros(geo.n, bool)
    out[idx[comp == comp[np.searchsorted(idx, seed)]]] = True
    return out


def _symmetric(geo: _Geometry, mask: np.ndarray) -> np.ndarray:
    """Mask made mirror-symmetric by union with its mirror image."""
    return mask | geo.mirrored(mask)


def _contour_polygon(geo: _Geometry, loop: np.ndarray) -> np.ndarray:
    """A closed contour's vertices as a frontal-view polygon, ordered by angle around their centroid."""
    p = geo.v[loop][:, [0, 2]]
    c = p.mean(0)
    return p[np.argsort(np.arctan2(p[:, 1] - c[1], p[:, 0] - c[0]))]


def _in_polygon(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test for (k, 2) points against a closed (p, 2) polygon."""
    x, y = points[:, 0:1], points[:, 1:2]
    x0, y0 = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = ((y0 > y) != (y1 > y)) & (x < (x1 - x0) * (y - y0) / np.where(y1 == y0, 1e-12, y1 - y0) + x0)
    return crosses.sum(1) % 2 == 1
