"""2D part masks for P = {skin, eyes, brows, nose, upper/lower lip} from the 468 MediaPipe landmarks, and the
choice between them and the parser's masks.

3DDFA-V3 takes the masks from a face parser (DML-CSR); the parts here are polygons of the landmark contours that
MediaPipe itself defines (its FACEMESH_* connection sets, read from the wheel at build time): eyes and the face
oval are closed loops; a brow is its upper and lower chain joined; a lip is the band between the outer and
inner lip contour on its side of the mouth corners. Three per-part rules (`PolygonRules`) widen MediaPipe's
contours to the regions people (the London set's human masks) and FaceKit's part annotation both mean: the nose
reaches up the bridge and out over the nostril wings (MediaPipe's nose set is a narrow triangle), the brow band is
a little thicker, and the face oval above the eyes is stretched towards the hairline (the oval stops on the upper
forehead; the fitter's forehead cut drops that skin again for PRDL, so this only matters as a mask). Skin is the
face oval minus every other part and the mouth opening. The oval never includes the ears (the supplement's ear
removal).
"""
from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class PolygonRules:
    """How far the polygons reach beyond MediaPipe's contours, in eye distances (eye-centre to eye-centre).
    Chosen on the even-numbered London people and 37 synthetic validation views (seeds 900,000+), never on the
    odd-numbered people or the test views reported (docs/photo.md, round 3)."""

    nose_bridge: float = 0.1   # half-width of the nose's top edge at the nasion (point 168)
    brow_band: float = 0.02    # each brow chain moved outwards (upper up, lower down)
    forehead: float = 0.4      # oval points above the eye line moved up by this share of their height above it


#: MediaPipe points on the nostril wings (alae) that the nose set leaves out
ALAR_POINTS = (49, 102, 129, 279, 331, 358)
NASION = 168


def part_masks(points: np.ndarray, connections: dict[str, np.ndarray], height: int, width: int,
               rules: PolygonRules = PolygonRules()) -> dict[str, np.ndarray]:
    """Part masks {p: (H, W) bool} from landmarks (468+, 2+) in pixels and MediaPipe's connection sets."""
    from scipy.spatial import ConvexHull

    pts = np.asarray(points, np.float64)[:, :2]
    loop = {k: ordered_chains(connections[k]) for k in connections}
    le, re = loop["left_eye"][0], loop["right_eye"][0]
    right, down = _face_axes(pts, le, re)
    eye_line = (pts[le].mean(0) + pts[re].mean(0)) / 2
    iod = float(np.linalg.norm(pts[le].mean(0) - pts[re].mean(0)))
    masks = {"left_eye": fill_polygon(pts[le], height, width), "right_eye": fill_polygon(pts[re], height, width)}
    for side in ("left", "right"):
        chains = loop[f"{side}_eyebrow"]
        if len(chains) == 1:
            poly = pts[chains[0]]
        else:
            a, b = sorted(chains[:2], key=lambda c: pts[c].mean(0) @ down)
            a = sorted(a, key=lambda i: pts[i] @ right)
            b = sorted(b, key=lambda i: -(pts[i] @ right))
            shift = rules.brow_band * iod * down
            poly = np.concatenate([pts[a] - shift, pts[b] + shift])
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
    bridge = pts[NASION] + np.outer([-1.0, 1.0], rules.nose_bridge * iod * right)
    nose = np.concatenate([pts[np.unique(np.asarray(connections["nose"]).ravel())], pts[list(ALAR_POINTS)], bridge])
    masks["nose"] = fill_polygon(nose[ConvexHull(nose).vertices], height, width)
    oval = pts[loop["face_oval"][0]].copy()
    above = np.minimum((oval - eye_line) @ down, 0.0)
    face = fill_polygon(oval + rules.forehead * above[:, None] * down, height, width)
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


#: the parser is trusted when its brows cover at least this many times the area of the landmark brow bands
PARSER_BROW_RATIO = 2.0


def parser_in_domain(parser: dict[str, np.ndarray], polygons: dict[str, np.ndarray]) -> bool:
    """Whether the parser sees a photo like the renders it learnt from. It draws brows in FaceKit's convention,
    3-5x the landmark brow band on synthetic validation views; on real photos it shrinks or loses them (London:
    at most 1.4x, mostly under 0.5x). The brows are the test because the renders paint them and the real ones
    vary; the parser's eyes are no test (they miss the landmark eye loop on renders too: closed lids, glasses)."""
    ratios = [np.count_nonzero(parser.get(p, False)) / max(np.count_nonzero(polygons[p]), 1)
              for p in ("left_eyebrow", "right_eyebrow")]
    return float(np.mean(ratios)) >= PARSER_BROW_RATIO


def combine_masks(parser: dict[str, np.ndarray], polygons: dict[str, np.ndarray]
                  ) -> tuple[dict[str, np.ndarray], str]:
    """(masks, their source "parser" | "polygons"): the parser's masks when it is in its domain
    (`parser_in_domain`), else the landmark polygons: one source per photo (results name it, with the weights). The two describe parts in different conventions (the parser FaceKit's, learnt from renders; the
    polygons the human one of the London masks), and a per-part mix of them (the default of round 2: the
    parser's part wherever it covered a fifth of the polygon) was worse than either alone on both: London
    even-numbered people 0.61 mean IoU against 0.77 for the polygons, synthetic validation views 0.61 against
    0.67 for the parser. A part the trusted parser leaves empty stays empty (PRDL then ignores it: on renders
    that is a hidden eye)."""
    return (dict(parser), "parser") if parser_in_domain(parser, polygons) else (dict(polygons), "polygons")
