"""Real-like variants of synthetic scans for Segment Skin (issue 19), with their views rendered as Segment Skin
renders them (needs bpy).

    python -m face_addon.synth.skin_reallike --data /work/data/synth/train_skin --out /work/data/synth/reallike_train \
        --views-out /work/data/synth/reallike_views_train --first-seed 600000
    python -m face_addon.synth.skin_reallike --data /work/data/synth/val_skin --out /work/data/synth/reallike_val \
        --views-out /work/data/synth/reallike_views_val --first-seed 950000

Why: skin_p2p only saw whole synthetic heads (voxel-remeshed at 2 mm, coloured, upright, views from a jittered
rig), and it calls real untextured face crops (the Artec scans, humface) non-skin although its image branch sees
skin there. Each source scan gives one variant of every kind in KINDS:

- `crop_plain`: the face and front of the head only (an open border, like the Artec scans: inside a rounded
  outline around the landmarks, in front of a plane behind the eyes), retessellated, no colour;
- `crop_textured`: the same kind of crop with the scan's colours;
- `head_plain`: the whole scan without colour, decimated.

Retessellation: crops are subdivided once and Taubin-smoothed half of the time (structured-light scans: dense,
~1 mm, smooth), then every variant is quadric-decimated to a random size of 10k-60k vertices (when larger). Every variant is turned by a random rotation, then passed
through Segment Skin's own `face_upright` (the face frame found in renders) and rendered from `scan_rig` of the
upright copy by `blender.scan_views.render_views` (an uncoloured scan in the neutral skin tone): the image
features and their cross-view variance are what inference computes. A variant is stored in that upright frame
(metres) as a dataset sample (scan.ply with sRGB bytes — the neutral tone for uncoloured kinds, what
segment_skin feeds the network —, labels.npz, meta.json naming its source and kind) under consecutive seeds
from --first-seed (keep them in the train split and apart from the source seeds), and its views as
`<views-out>/<seed>.npz` (core/view_cache.py), which `face train skin --views` reads. Resumable.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..core.color import linear_to_srgb, srgb_to_linear
from ..core.dataset import Sample, complete_seeds, load_sample, sample_dir, write_ply
from ..core.geometry.decimate import decimate
from ..core.geometry.multiview import label_image, scan_rig
from ..core.mesh import Mesh
from ..core.pipelines.segment_skin import NEUTRAL_SKIN_ALBEDO
from ..core.pipelines.upright_scan import face_upright
from ..core.view_cache import save_views
from .skin_views import RESOLUTION

KINDS = ("crop_plain", "crop_textured", "head_plain")
#: vertex count range of the variants (log-uniform; the Artec scans have 36k-56k, humface 10k)
TARGET_VERTICES = (10_000, 60_000)
NOSE_TIP, CHIN, JAW_RIGHT, JAW_LEFT, BROWS = 30, 8, 0, 16, slice(17, 27)


def crop_mask(vertices: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Vertices of a random face crop of an upright synthetic scan (+Z up, face towards −Y): inside a rounded
    outline (superellipse in x-z, its radius wobbling slowly with the angle) from a little below the chin to
    some way above the brows, and in front of a plane 6-13 cm behind the nose tip."""
    lm = np.asarray(landmarks, np.float64)
    top = lm[BROWS, 2].max() + rng.uniform(0.02, 0.07)
    bottom = lm[CHIN, 2] - rng.uniform(0.0, 0.04)
    cx = (lm[JAW_RIGHT, 0] + lm[JAW_LEFT, 0]) / 2
    rx = abs(lm[JAW_LEFT, 0] - lm[JAW_RIGHT, 0]) / 2 * rng.uniform(0.95, 1.35)
    cz, rz = (top + bottom) / 2, (top - bottom) / 2
    power = rng.uniform(2.0, 4.0)
    dx, dz = (vertices[:, 0] - cx) / rx, (vertices[:, 2] - cz) / rz
    angle = np.arctan2(dz, dx)
    wobble = 1 + sum(rng.uniform(0, 0.06) * np.sin(k * angle + rng.uniform(0, 2 * np.pi)) for k in (2, 3, 5))
    inside = np.abs(dx) ** power + np.abs(dz) ** power <= wobble ** power
    return inside & (vertices[:, 1] < lm[NOSE_TIP, 1] + rng.uniform(0.06, 0.13))


def submesh(vertices: np.ndarray, faces: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the old index of every kept vertex, faces renumbered) of the largest connected piece among the faces
    whose three vertices are kept (a crop's islands — an ear's rim, a strand of hair — are dropped)."""
    f = faces[keep[faces].all(1)]
    n = len(vertices)
    edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]]])
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    used = np.zeros(n, bool)
    used[f.reshape(-1)] = True
    biggest = np.bincount(comp[used]).argmax()
    f = f[comp[f[:, 0]] == biggest]
    index = np.unique(f)
    renumber = np.full(n, -1, np.int64)
    renumber[index] = np.arange(len(index))
    return index, renumber[f]


def subdivided(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vertices, faces, the old vertex each new vertex takes its labels from) after one midpoint subdivision:
    every triangle into four; an edge's midpoint takes the labels of the edge's first vertex."""
    e = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    edges, inverse = np.unique(e, axis=0, return_inverse=True)
    mid = len(vertices) + inverse.reshape(3, -1).T  # (m, 3): midpoints of edges 01, 12, 20
    v = np.concatenate([vertices, vertices[edges].mean(1)])
    a, b, c = faces.T
    ab, bc, ca = mid.T
    f = np.concatenate([np.stack(x, 1) for x in ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))])
    return v, f, np.concatenate([np.arange(len(vertices)), edges[:, 0]])


def taubin(vertices: np.ndarray, faces: np.ndarray, iterations: int, lam: float = 0.5, mu: float = -0.53) -> np.ndarray:
    """Taubin smoothing (uniform weights): removes the simulated MVS noise without shrinking the shape."""
    n = len(vertices)
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    adj = coo_matrix((np.ones(2 * len(e)), (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])), shape=(n, n)).tocsr()
    adj.data[:] = 1.0
    deg = np.maximum(np.asarray(adj.sum(1)).ravel(), 1)[:, None]
    v = vertices.copy()
    for _ in range(iterations):
        for w in (lam, mu):
            v = v + w * (adj @ v / deg - v)
    return v


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def make_variant(s: Sample, kind: str, rng: np.random.Generator) -> tuple[Mesh, np.ndarray, np.ndarray, dict]:
    """(the variant as a Mesh in its random pose: linear colours or none, source vertex per variant vertex,
    sRGB colour bytes per variant vertex, what was done)."""
    v = s.scan_vertices.astype(np.float64)
    f = s.scan_faces
    source = np.arange(len(v))
    info: dict = {"kind": kind}
    if kind.startswith("crop"):
        index, f = submesh(v, f, crop_mask(v, s.landmarks, rng))
        v, source = v[index], source[index]
    target = int(np.exp(rng.uniform(np.log(TARGET_VERTICES[0]), np.log(TARGET_VERTICES[1]))))
    if kind.startswith("crop") and rng.uniform() < 0.5:
        v, f, parent = subdivided(v, f)
        iterations = int(rng.integers(0, 8))
        v, source = taubin(v, f, iterations), source[parent]
        info.update(retessellation="subdivided", taubin_iterations=iterations)
    dec = decimate(v, f, target)
    v, f, source = dec.vertices, dec.faces, source[dec.source]
    info.update(target_vertices=target)
    rot = random_rotation(rng)
    colour_bytes = s.scan_colors[source]
    plain = kind.endswith("plain")
    if plain:
        colour_bytes = np.tile(np.round(linear_to_srgb(np.asarray(NEUTRAL_SKIN_ALBEDO)) * 255), (len(v), 1))
    mesh = Mesh(v @ rot.T, f, colors=None if plain else srgb_to_linear(colour_bytes / 255.0).astype(np.float32))
    return mesh, source, colour_bytes.astype(np.uint8), info


def write_variant(s: Sample, kind: str, seed: int, out: Path, views_out: Path, rng: np.random.Generator) -> dict:
    """Make one variant, find its face frame, render its views, and write the sample and its views."""
    from ..blender.scan_views import render_views

    mesh, source, colour_bytes, info = make_variant(s, kind, rng)
    upright, note = face_upright(mesh)
    cams = scan_rig(upright.vertices, RESOLUTION)
    images = render_views(upright, cams)
    class_id = s.class_id[source].astype(np.uint8)
    labels = np.stack([label_image(upright.vertices, upright.faces, class_id, c) for c in cams])
    folder = sample_dir(out, seed)
    tmp = folder.with_name(f".{folder.name}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    write_ply(tmp / "scan.ply", upright.vertices.astype(np.float32), upright.faces, colour_bytes)
    nearest = np.asarray([np.argmin(np.linalg.norm(s.scan_vertices[source] - p, axis=1)) for p in s.landmarks])
    lm = upright.vertices[nearest].astype(np.float32)
    np.savez(tmp / "labels.npz", distance=s.distance[source], skin=s.skin[source], class_id=class_id, landmarks=lm,
             landmarks_true=lm, landmark_snap=np.zeros(len(lm), np.float32))
    info.update(source_root=str(s.path.parent), source_seed=s.seed, seed=seed, face_found=note is None,
                n_vertices=upright.n_vertices, skin_fraction=round(float(s.skin[source].mean()), 4))
    (tmp / "meta.json").write_text(json.dumps(info, indent=1))
    save_views(views_out / f"{seed:07d}.npz", images, labels, cams)
    tmp.replace(folder)
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="source dataset (face synth --profile scan)")
    ap.add_argument("--out", required=True, help="dataset folder for the variants")
    ap.add_argument("--views-out", required=True, help="folder for the variants' rendered views")
    ap.add_argument("--first-seed", type=int, required=True, help="seed of the first variant (then consecutive)")
    ap.add_argument("--max", type=int, default=None, help="at most this many source scans (lowest seeds first)")
    ap.add_argument("--shard", default="0/1", help="K/N: only every N-th source scan from the K-th (parallel runs)")
    ap.add_argument("--kinds", default=",".join(KINDS), help=f"comma list out of {','.join(KINDS)}")
    a = ap.parse_args(argv)
    root, out, views_out = Path(a.data), Path(a.out), Path(a.views_out)
    kinds = [k for k in a.kinds.split(",") if k]
    out.mkdir(parents=True, exist_ok=True)
    views_out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    k, n = (int(x) for x in a.shard.split("/"))
    for i, src in enumerate(complete_seeds(root)[:a.max]):
        if i % n != k:
            continue
        for kind in kinds:
            seed = a.first_seed + i * len(KINDS) + KINDS.index(kind)
            if sample_dir(out, seed).exists():
                continue
            try:
                info = write_variant(load_sample(root, src, head=False, cameras=False), kind, seed, out, views_out,
                                     np.random.default_rng([src, KINDS.index(kind)]))
            except Exception as exc:  # noqa: BLE001 - one broken variant must not stop a long run
                print(f"skip {src} {kind}: {exc}", flush=True)
                continue
            print(f"{seed} from {src} {kind}: {info['n_vertices']} vertices, skin {info['skin_fraction']}, "
                  f"face found {info['face_found']} ({time.time() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
