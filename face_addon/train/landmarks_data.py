"""Landmark training data (no bpy): each sample cached once as 32k area-uniform surface candidates with their
triangle normals and its 68 landmarks (`<out>/cache/SEED.npz`); every time it is drawn it is augmented
(rotation up to ±30° per axis, random plane crops and holes, normal noise, mm or m scale), Poisson-disk
resampled and standardised into the network's inputs and heatmap targets. Split from train/landmarks.py (the
step loop).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.dataset import load_sample
from ..core.geometry.pca_align import standardize
from ..core.geometry.poisson_disk import poisson_disk_subset, sample_surface, triangle_normals
from ..core.pipelines import detect_landmarks as dl
from .samples import train_seeds

if TYPE_CHECKING:
    from .landmarks import Settings

N_CANDIDATES = 32000


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


def cached_samples(roots: list[Path], cache: Path, rng: np.random.Generator, log=print) -> list[Path]:
    """The cached train-split samples of `roots`, caching the ones that are new (a broken sample is skipped)."""
    files = []
    for root, seed in train_seeds(roots):
        try:
            files.append(cache_sample(root, seed, cache, rng))
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


def augment(pts: np.ndarray, nrm: np.ndarray, lms: np.ndarray, rng: np.random.Generator, max_rot_deg: float):
    """Random rotation, crop planes, holes, normal noise and unit; landmarks are kept (crops never cut them)."""
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
    unit = 1000.0 if rng.random() < 0.3 else 1.0
    return pts @ rot.T * unit, nrm @ rot.T, lms @ rot.T * unit


def make_example(npz: Path, prototype: np.ndarray | None, s: Settings, rng: np.random.Generator, augmented: bool):
    """(features (N,6), neighbours (N,k+1), coarse (L,), heatmap (N,L), standardised landmarks (L,3))."""
    d = np.load(npz)
    pts, nrm, lms = d["points"].astype(np.float64), d["normals"].astype(np.float64), d["landmarks"].astype(np.float64)
    area = float(d["area"])
    if augmented:
        pts, nrm, lms = augment(pts, nrm, lms, rng, s.max_rot_deg)
    keep = poisson_disk_subset(pts, s.n_points, rng, area=area * len(pts) / N_CANDIDATES
                               * (1.0 if np.abs(pts).max() < 10 else 1e6))
    p, n = pts[keep], nrm[keep]
    proto = prototype if prototype is not None else np.zeros((len(lms), 3))
    prep = dl.prepare(p, n, proto, s.k)
    lm_std = prep.standardization.apply(lms)
    return prep.features, prep.neighbours, prep.coarse, dl.heatmaps(prep.points, lm_std, s.sigma), lm_std


def compute_prototype(files: list[Path]) -> np.ndarray:
    """Eq. 4 in standardised coordinates: the mean of the standardised landmarks of the given samples."""
    out = []
    for f in files:
        d = np.load(f)
        st = standardize(d["points"], d["normals"])
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
