"""Landmark training data (no bpy): each sample cached once as 32k area-uniform surface candidates with their
triangle normals and its 68 landmarks; every time it is drawn it is augmented, Poisson-disk resampled and
standardised into the network's inputs and heatmap targets. Split from train/landmarks.py (the step loop).

Two inputs (Settings.input):
- "face_frame" (default since session 12, `core/pipelines/sgcn_frame.py`): the sample is cached in FaceKit's
  canonical frame (the similarity of its brow, nose and eye landmarks onto the mean face's, as the face frame
  fits a scan), only around the face (`<out>/cache_frame/SEED.npz`). Drawn, it gets what the face frame and a
  real scanner do to it: a frame error (±FRAME_ROT_DEG per axis, ±FRAME_SCALE, FRAME_SHIFT_M rms), the
  inference face mask and often a tighter one (face-only crops: RADIUS_RANGE_M, BACK_RANGE_M), plane cuts and
  holes outside the landmarks, a ragged border (FRINGE_M of normal noise fading over FRINGE_WIDTH_M) and normal
  noise; then the crop's fixed standardisation.
- "pca" (2S-SGCN §3.2, the paper): the whole scan (`<out>/cache/SEED.npz`), rotation up to ±30° per axis,
  plane crops, holes, normal noise, mm or m scale, then the PCA standardisation.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.dataset import load_sample
from ..core.geometry.pca_align import standardize
from ..core.geometry.poisson_disk import poisson_disk_subset, sample_surface, triangle_normals
from ..core.geometry.similarity import umeyama
from ..core.pipelines import detect_landmarks as dl
from ..core.pipelines.sgcn_frame import FrameCrop, default_crop
from .samples import train_seeds

if TYPE_CHECKING:
    from .landmarks import Settings

N_CANDIDATES = 32000
FRAME_POINTS = tuple(range(17, 48))  # brows, nose, eyes: the rigid part the frame's fit follows (not jaw, lips)
CACHE_MARGIN_M = 0.03                # the cached region reaches this far beyond the inference mask
FRAME_ROT_DEG = 3.0                  # the face frame's error on real scans: a few degrees, millimetres, percent
FRAME_SCALE = 0.04
FRAME_SHIFT_M = 0.0025
RADIUS_RANGE_M = (0.085, 0.125)      # a tighter face mask (p = TIGHT_P): Artec masks reach 0.11-0.14 m ...
BACK_RANGE_M = (-0.04, -0.01)        # ... and end at y = -0.03..0
TIGHT_P = 0.6
FRINGE_M = 0.002                     # a scanner's ragged border: normal noise of this rms at the mask's edge ...
FRINGE_WIDTH_M = 0.008               # ... fading to nothing this far inside


def cache_sample(root: Path, seed: int, cache: Path, rng: np.random.Generator) -> Path:
    """32k surface candidates (+ triangle normals) and the 68 landmarks of one sample, cached as npz."""
    path = cache / f"{seed:07d}.npz"
    if not path.exists():
        s = load_sample(root, seed)
        pts, nrm, _ = sample_surface(s.scan_vertices, s.scan_faces, N_CANDIDATES, rng)
        _, area = triangle_normals(s.scan_vertices, s.scan_faces)
        tmp = cache / f".{seed:07d}.{os.getpid()}.tmp.npz"  # data-parallel ranks may cache the same sample
        np.savez(tmp, points=pts.astype(np.float32), normals=nrm.astype(np.float32),
                 landmarks=s.landmarks.astype(np.float32), area=np.float64(area.sum()))
        tmp.replace(path)
    return path


def mean_face_landmarks() -> np.ndarray:
    """FaceKit's mean face landmarks (68, 3): the canonical frame's reference."""
    from ..core.facekit import load_facekit

    fk = load_facekit()
    return np.asarray(fk.landmarks(fk.template), np.float64)


def cache_sample_frame(root: Path, seed: int, cache: Path, rng: np.random.Generator, crop: FrameCrop,
                       mean_landmarks: np.ndarray) -> Path:
    """32k candidates (+ triangle normals) around the face and the 68 landmarks, in canonical metres (module doc)."""
    path = cache / f"{seed:07d}.npz"
    if not path.exists():
        s = load_sample(root, seed)
        lms = s.landmarks.astype(np.float64)
        k = list(FRAME_POINTS)
        scale, rot, t = umeyama(lms[k], mean_landmarks[k])
        v = scale * s.scan_vertices.astype(np.float64) @ rot.T + t
        near = FrameCrop(crop.centre, crop.radius + CACHE_MARGIN_M, crop.back + CACHE_MARGIN_M).keep(v)
        faces = s.scan_faces[near[s.scan_faces].all(axis=1)]
        normals_area = triangle_normals(v, faces)
        pts, nrm, _ = sample_surface(v, faces, N_CANDIDATES, rng, normals_area)
        area = normals_area[1]
        tmp = cache / f".{seed:07d}.{os.getpid()}.tmp.npz"
        np.savez(tmp, points=pts.astype(np.float32), normals=nrm.astype(np.float32),
                 landmarks=(scale * lms @ rot.T + t).astype(np.float32), area=np.float64(area.sum()))
        tmp.replace(path)
    return path


def cached_samples(roots: list[Path], cache: Path, rng: np.random.Generator, log=print, crop: FrameCrop | None = None
                   ) -> list[Path]:
    """The cached train-split samples of `roots`, caching the ones that are new (a broken sample is skipped);
    `crop`: in the face frame (module doc)."""
    files = []
    mean_landmarks = mean_face_landmarks() if crop is not None else None
    for root, seed in train_seeds(roots):
        try:
            files.append(cache_sample(root, seed, cache, rng) if crop is None
                         else cache_sample_frame(root, seed, cache, rng, crop, mean_landmarks))
        except Exception as exc:  # noqa: BLE001 - a broken sample is skipped, not fatal
            log(f"skip {root}/{seed}: {exc}")
    return files


def rotation(angles_rad: np.ndarray) -> np.ndarray:
    cx, cy, cz = np.cos(angles_rad)
    sx, sy, sz = np.sin(angles_rad)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def augment(pts: np.ndarray, nrm: np.ndarray, lms: np.ndarray, rng: np.random.Generator, max_rot_deg: float,
            units: bool = True):
    """Random rotation, crop planes, holes, normal noise and (`units`) unit; landmarks are kept (crops never cut
    them)."""
    keep = np.ones(len(pts), bool)
    centre = lms.mean(0)
    for _ in range(rng.integers(0, 3)):  # cropped / partial scans: cut beyond a plane outside the landmarks
        direction = rng.normal(size=3)
        direction[1] = abs(direction[1]) if rng.random() < 0.7 else direction[1]  # mostly from the back
        direction /= np.linalg.norm(direction)
        lm_reach = ((lms - centre) @ direction).max()
        pt_reach = ((pts - centre) @ direction).max()
        if pt_reach > lm_reach + 0.01:
            cut = rng.uniform(lm_reach + 0.01, pt_reach)
            keep &= (pts - centre) @ direction <= cut
    for _ in range(rng.integers(0, 5)):  # holes
        c = pts[rng.integers(len(pts))]
        r = rng.uniform(0.005, 0.03)
        if np.linalg.norm(lms - c, axis=1).min() > 0.5 * r:
            keep &= np.linalg.norm(pts - c, axis=1) > r
    pts, nrm = pts[keep], nrm[keep]
    noise = rng.uniform(0, 0.0006)
    pts = pts + nrm * rng.normal(0, noise, (len(pts), 1))
    rot = rotation(np.deg2rad(rng.uniform(-max_rot_deg, max_rot_deg, 3)))
    unit = 1000.0 if rng.random() < 0.3 and units else 1.0
    return pts @ rot.T * unit, nrm @ rot.T, lms @ rot.T * unit


def augment_frame(pts: np.ndarray, nrm: np.ndarray, lms: np.ndarray, rng: np.random.Generator, crop: FrameCrop
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A frame error, face masks, cuts, holes, a ragged border and noise in the canonical frame (module doc)."""
    rot = rotation(np.deg2rad(rng.uniform(-FRAME_ROT_DEG, FRAME_ROT_DEG, 3)))
    scale = 1.0 + rng.uniform(-FRAME_SCALE, FRAME_SCALE)
    shift = rng.normal(0.0, FRAME_SHIFT_M, 3)
    c = crop.centre
    pts, lms = scale * (pts - c) @ rot.T + c + shift, scale * (lms - c) @ rot.T + c + shift
    nrm = nrm @ rot.T
    mask = crop
    if rng.random() < TIGHT_P:
        mask = FrameCrop(c + rng.uniform(-0.01, 0.01, 3), rng.uniform(*RADIUS_RANGE_M), rng.uniform(*BACK_RANGE_M))
    keep = crop.keep(pts) & mask.keep(pts)
    pts, nrm = pts[keep], nrm[keep]
    pts, nrm, lms = augment(pts, nrm, lms, rng, 0.0, units=False)
    inside = np.minimum(np.minimum(crop.radius - np.linalg.norm(pts - crop.centre, axis=1), crop.back - pts[:, 1]),
                        np.minimum(mask.radius - np.linalg.norm(pts - mask.centre, axis=1), mask.back - pts[:, 1]))
    fade = np.clip(1.0 - inside / FRINGE_WIDTH_M, 0.0, 1.0)
    pts = pts + nrm * (rng.uniform(0.0, FRINGE_M) * rng.normal(size=(len(pts), 1)) * fade[:, None])
    return pts, nrm, lms


def make_example(npz: Path, prototype: np.ndarray | None, s: Settings, rng: np.random.Generator, augmented: bool):
    """(features (N,6), neighbours (N,k+1), coarse (L,), heatmap (N,L), standardised landmarks (L,3))."""
    d = np.load(npz)
    pts, nrm, lms = d["points"].astype(np.float64), d["normals"].astype(np.float64), d["landmarks"].astype(np.float64)
    area = float(d["area"])
    crop = FrameCrop.from_meta(s.frame_crop) if s.input == "face_frame" else None
    if crop is not None:
        n_before = len(pts)
        if augmented:
            pts, nrm, lms = augment_frame(pts, nrm, lms, rng, crop)
        else:
            keep = crop.keep(pts)
            pts, nrm = pts[keep], nrm[keep]
        area *= len(pts) / n_before
    else:
        if augmented:
            pts, nrm, lms = augment(pts, nrm, lms, rng, s.max_rot_deg)
        area *= len(pts) / N_CANDIDATES * (1.0 if np.abs(pts).max() < 10 else 1e6)
    keep = poisson_disk_subset(pts, s.n_points, rng, area=area)
    p, n = pts[keep], nrm[keep]
    proto = prototype if prototype is not None else np.zeros((len(lms), 3))
    prep = dl.prepare(p, n, proto, s.k, None if crop is None else crop.standardization())
    lm_std = prep.standardization.apply(lms)
    return prep.features, prep.neighbours, prep.coarse, dl.heatmaps(prep.points, lm_std, s.sigma), lm_std


def compute_prototype(files: list[Path], crop: FrameCrop | None = None) -> np.ndarray:
    """Eq. 4 in standardised coordinates: the mean of the standardised landmarks of the given samples (`crop`:
    the face-frame standardisation, else the paper's)."""
    out = []
    for f in files:
        d = np.load(f)
        st = standardize(d["points"], d["normals"]) if crop is None else crop.standardization()
        out.append(st.apply(d["landmarks"]))
    return np.mean(out, axis=0)


def smoke_samples(cache: Path, n: int = 6) -> list[Path]:
    """FaceKit heads (template topology, random identities/expressions) as tiny cached samples: no dataset needed."""
    from ..core.facekit import load_facekit

    fk = load_facekit()
    rng = np.random.default_rng(0)
    a_id, a_exp = fk.sample_prior(rng, n=n)
    verts = fk.evaluate(a_id, a_exp)
    lms = fk.landmarks(verts)
    files = []
    for i in range(n):
        path = cache / f"smoke{i}.npz"
        pts, nrm, _ = sample_surface(verts[i], fk.faces, 4000, rng)
        _, area = triangle_normals(verts[i], fk.faces)
        np.savez(path, points=pts.astype(np.float32), normals=nrm.astype(np.float32),
                 landmarks=np.asarray(lms[i], np.float32), area=np.float64(area.sum()))
        files.append(path)
    return files
