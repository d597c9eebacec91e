"""2D part masks for P = {skin, eyes, brows, nose, upper/lower lip} from the 468 MediaPipe landmarks.

3DDFA-V3 takes the masks from a face parser (DML-CSR); the parts here are polygons of the landmark contours that
MediaPipe itself defines (its FACEMESH_* connection sets, read from the wheel at build time): eyes and the face
oval are closed loops; a brow is its upper and lower chain joined; a lip is the band between the outer and
inner lip contour on its side of the mouth corners; the nose is the hull of the nose set. Skin is the face
oval minus every other part and the mouth opening. The oval stops at the jaw and the upper forehead and never
includes the ears (the supplement's ear removal); the forehead cut above the brows happens in the fitter, on
the target and the prediction alike.
"""
from __future__ import annotations

import numpy as np

from .facekit_photo import PARTS


def fill_polygon(poly: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W) bool: pixel centres inside the closed polygon (even-odd rule)."""
    mask = np.zeros((height, width), bool)
    if len(poly) < 3:
        return mask
    x0, y0 = np.floor(poly.min(0)).astype(int)
    x1, y1 = np.ceil(poly.max(0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width - 1), min(y1, height - 1)
    if x1 < x0 or y1 < y0:
        return mask
    yy, xx = np.mgrid[y0:y1 + 1, x0:x1 + 1].astype(np.float64)
    inside = np.zeros(xx.shape, bool)
    a, b = poly, np.roll(poly, -1, 0)
    for (ax, ay), (bx, by) in zip(a, b):
        cross = (ay > yy) != (by > yy)
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = ax + (yy - ay) * (bx - ax) / (by - ay)
        inside ^= cross & (xx < xint)
    mask[y0:y1 + 1, x0:x1 + 1] = inside
    return mask


def ordered_chains(edges: np.ndarray) -> list[list[int]]:
    """Split an undirected edge set into ordered chains (open) or loops (closed; first vertex not repeated)."""
    adj: dict[int, list[int]] = {}
    for a, b in np.asarray(edges).tolist():
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    seen: set[int] = set()
    chains = []
    starts = [v for v, n in adj.items() if len(n) == 1] + sorted(adj)
    for s in starts:
        if s in seen:
            continue
        chain, prev, cur = [s], None, s
        seen.add(s)
        while True:
            nxt = [n for n in adj[cur] if n != prev and n not in seen]
            if not nxt:
                break
            prev, cur = cur, nxt[0]
            chain.append(cur)
            seen.add(cur)
        chains.append(chain)
    return chains


def _face_axes(pts: np.ndarray, left_eye: list[int], right_eye: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Unit 'right' (towards the subject's left eye in the image) and 'down' directions of the face."""
    right = pts[left_eye].mean(0) - pts[right_eye].mean(0)
    right /= max(np.linalg.norm(right), 1e-9)
    return right, np.array([-right[1], right[0]])


def _split_loop(loop: list[int], pts: np.ndarray, right: np.ndarray, down: np.ndarray) -> tuple[list, list]:
    """A closed lip contour cut at its two corners (extremes along `right`) into (upper, lower) arcs, each
    running from the image-left corner to the image-right corner."""
    proj = pts[loop] @ right
    i, j = int(proj.argmin()), int(proj.argmax())
    n = len(loop)
    arc1 = [loop[(i + k) % n] for k in range((j - i) % n + 1)]
    arc2 = [loop[(i - k) % n] for k in range((i - j) % n + 1)]
    if pts[arc1].mean(0) @ down < pts[arc2].mean(0) @ down:
        return arc1, arc2
    return arc2, arc1


def part_masks(points: np.ndarray, connections: dict[str, np.ndarray], height: int, width: int
               ) -> dict[str, np.ndarray]:
    """Part masks {p: (H, W) bool} from landmarks (468+, 2+) in pixels and MediaPipe's connection sets."""
    pts = np.asarray(points, np.float64)[:, :2]
    loop = {k: ordered_chains(connections[k]) for k in connections}
    le, re = loop["left_eye"][0], loop["right_eye"][0]
    right, down = _face_axes(pts, le, re)
    masks = {"left_eye": fill_polygon(pts[le], height, width), "right_eye": fill_polygon(pts[re], height, width)}
    for side in ("left", "right"):
        chains = loop[f"{side}_eyebrow"]
        if len(chains) == 1:
            poly = pts[chains[0]]
        else:
            a, b = sorted(chains[:2], key=lambda c: pts[c].mean(0) @ down)
            a = sorted(a, key=lambda i: pts[i] @ right)
            b = sorted(b, key=lambda i: -(pts[i] @ right))
            poly = pts[a + b]
        masks[f"{side}_eyebrow"] = fill_polygon(poly, height, width)
    outer, inner = sorted(loop["lips"], key=lambda c: -len(c))[:2]
    if np.ptp(pts[inner] @ right) > np.ptp(pts[outer] @ right):
        outer, inner = inner, outer
    o_up, o_lo = _split_loop(outer, pts, right, down)
    i_up, i_lo = _split_loop(inner, pts, right, down)
    masks["up_lip"] = fill_polygon(pts[o_up + i_up[::-1]], height, width)
    masks["down_lip"] = fill_polygon(pts[o_lo + i_lo[::-1]], height, width)
    mouth = fill_polygon(pts[inner], height, width)
    masks["up_lip"] &= ~mouth
    masks["down_lip"] &= ~mouth
    nose_idx = np.unique(np.asarray(connections["nose"]).ravel())
    from scipy.spatial import ConvexHull

    hull = ConvexHull(pts[nose_idx])
    masks["nose"] = fill_polygon(pts[nose_idx][hull.vertices], height, width)
    face = fill_polygon(pts[loop["face_oval"][0]], height, width)
    others = mouth.copy()
    for k, m in masks.items():
        others |= m
    masks["skin"] = face & ~others
    return {p: masks[p] for p in PARTS}


def largest_components(masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each mask reduced to its largest connected blob. PRDL's f_max sees every target pixel, so one stray blob
    of a parser far from the face would dominate the loss."""
    from scipy import ndimage

    out = {}
    for p, m in masks.items():
        lab, n = ndimage.label(m)
        if n > 1:
            sizes = np.bincount(lab.ravel())[1:]
            m = lab == (1 + int(sizes.argmax()))
        out[p] = m
    return out


#: a parser mask is kept when it covers at least this share of the part's landmark polygon
PARSER_COVER = 0.2


def combine_masks(parser: dict[str, np.ndarray], polygons: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per part, the parser's mask where it covers at least PARSER_COVER of the landmark polygon, else the
    polygon. The parser learnt FaceKit's own part convention from renders (0.65 IoU against the true labels of
    held-out renders, the polygons 0.37), but on real photos it loses whole parts (London: eyes 0.01, brows 0.1
    IoU against the human masks, the polygons 0.8 and 0.56); a lost part covers almost none of its polygon.
    Measured (tests/bench/real_photo_detect.py, bench_photo.py): London 0.60 mean IoU (parser 0.25, polygons
    0.72), held-out renders 0.63 (parser 0.65)."""
    out = {}
    for p, poly in polygons.items():
        mask = parser.get(p)
        covered = mask is not None and np.count_nonzero(mask & poly) >= PARSER_COVER * max(np.count_nonzero(poly), 1)
        out[p] = mask if covered else poly
    return out
