"""Segment Skin training data: each dataset scan cached once as its reduced mesh with raw features and soft
labels, the encoder's view features lifted onto it, and the augmentations that act on cached arrays (no bpy).

Each scan is cached once (`--cache`, shared between runs: different variants read the same files) as its
reduced mesh (≤ --max-vertices, 10k by default: the eigen solve dominates the cost), operators, σ, HKS, colour
and the skin label, all averaged over the scan vertices each reduced vertex represents.

Image features (img_mu, img_var): the views of each scan (synth.skin_views, jittered rig) are encoded by
--image-encoder (train.skin_image) and μ̄, σ̄² lifted onto the cached reduced vertices, once per scan and encoder
(`<cache>/lift_<encoder hash>/`, both weightings: visibility-aware and all views); scans without views are left
out. Split from train/skin.py (the step loop), which reads these files.
"""
from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..core.dataset import load_sample
from ..core.geometry.spectral import Operators, cached_operators
from ..core.pipelines import segment_skin as ss

LIFTINGS = ("visibility", "all")


def cache_arrays(vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray | None, skin: np.ndarray,
                 max_vertices: int, k_eig: int, ops_dir: Path) -> dict[str, np.ndarray]:
    """The reduced scan with its raw features and soft labels (operators go to ops_dir via cached_operators)."""
    shape = ss.prepare_shape(np.asarray(vertices, np.float64), faces,
                             None if colors is None else ss.normalize_colors(colors, len(vertices)), max_vertices, k_eig,
                             ops_dir)
    dec = shape.decimation
    color = shape.color if shape.color is not None else np.full((dec.n_vertices, 3), 0.5)
    return dict(vertices=dec.vertices, faces=dec.faces, sigma=shape.sigma, hks=shape.hks,
                color=color.astype(np.float32), skin=dec.from_original(skin.astype(np.float64)).astype(np.float32),
                weight=dec.cluster_sizes().astype(np.float32), sigma_k=np.int64(shape.sigma_k))


def cache_sample(root: Path, seed: int, cache: Path, max_vertices: int, k_eig: int) -> Path | None:
    """Cache one dataset scan (None when another process is caching it right now)."""
    path = cache / f"{seed:07d}.npz"
    if path.exists():
        return path
    lock = cache / f".{seed:07d}.lock"
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        if time.time() - lock.stat().st_mtime < 600:
            return None
        lock.unlink(missing_ok=True)  # a stale lock of a killed run
        return None
    os.close(fd)
    try:
        smp = load_sample(root, seed, head=False, cameras=False)
        arrays = cache_arrays(smp.scan_vertices, smp.scan_faces, smp.scan_colors, smp.skin, max_vertices, k_eig,
                              cache / "ops")
        tmp = cache / f".{seed:07d}.tmp.npz"
        np.savez(tmp, **arrays)
        tmp.replace(path)
    finally:
        lock.unlink(missing_ok=True)
    return path


def load_cached(path: Path, k_eig: int, ops_dir: Path) -> tuple[dict[str, np.ndarray], Operators]:
    with np.load(path, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    return d, cached_operators(d["vertices"], d["faces"], ops_dir, k_eig)


def raw_features(d: dict[str, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    return ss.feature_matrix(names, d["sigma"], d["hks"], d["color"].astype(np.float64), d.get("img_mu"),
                             d.get("img_var"))


def lift_sample(cached: Path, views_dirs: list[Path], encoder, lift_dir: Path) -> Path | None:
    """Lift the encoder's view features onto a cached reduced scan, both weightings (None without views); its
    views are `<seed>.npz` in the first of `views_dirs` that has them."""
    from ..core.pipelines.skin_image import SkinViews, encode_views, lifted_image_features
    from ..core.view_cache import load_views

    path = lift_dir / cached.name
    if path.exists():
        return path
    views_file = next((d / cached.name for d in views_dirs if (d / cached.name).exists()), None)
    if views_file is None:
        return None
    images, _, cams = load_views(views_file)
    with np.load(cached, allow_pickle=False) as z:
        v, f = z["vertices"], z["faces"]
    feats, skin2d = encode_views(encoder, SkinViews(images, cams))
    out = {}
    for lifting in LIFTINGS:
        out[f"mu_{lifting}"], out[f"var_{lifting}"] = lifted_image_features(v, f, feats, cams, lifting == "visibility")
    tmp = lift_dir / f".{cached.stem}.{os.getpid()}.tmp.npz"
    np.savez(tmp, **out)
    tmp.replace(path)
    return path


def with_lifted(d: dict[str, np.ndarray], lift_file: Path, lifting: str) -> dict[str, np.ndarray]:
    with np.load(lift_file, allow_pickle=False) as z:
        d["img_mu"], d["img_var"] = z[f"mu_{lifting}"], z[f"var_{lifting}"]
    return d


def scaled(ops: Operators, s: float) -> Operators:
    """The operators of the same shape scaled by s (exact: no recomputation)."""
    return replace(ops, mass=ops.mass * s ** 2, evals=ops.evals / s ** 2, evecs=ops.evecs / s,
                   grad_x=ops.grad_x / s, grad_y=ops.grad_y / s)


def jitter_color(color: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-scan gain, tint and gamma on the sRGB-encoded colours in [0, 1] (lighting/calibration differences between scans)."""
    gain = rng.uniform(0.8, 1.2) * rng.uniform(0.93, 1.07, 3)
    return np.clip(np.clip(color, 1e-4, 1.0) ** rng.uniform(0.8, 1.25) * gain, 0.0, 1.0)


def feature_stats(files: list[Path], names: tuple[str, ...], load) -> dict[str, list[float]]:
    """Mean and std of every input column of `names` over the given cached scans (vertex-count weighted);
    `load` (path → feature dict, `ScanPool.features`) reads a scan's features."""
    x = np.concatenate([raw_features(load(f), names) for f in files])
    return {"mean": x.mean(0).tolist(), "std": np.maximum(x.std(0), 1e-6).tolist()}


class Lifting:
    """The image features of a run: the encoder, the views folders (the synthetic scans' and the real-like
    variants', synth/skin_reallike.py), where the lifted features of each cached scan
    go (`<cache>/lift_<encoder hash>/`) and the weighting the network reads."""

    def __init__(self, encoder_path: str, views: tuple[str, ...], cache: Path, weighting: str) -> None:
        import hashlib

        from ..core.pipelines.skin_image import load_image_encoder

        self.encoder = load_image_encoder(encoder_path)
        self.channels = int(self.encoder[1]["feature_channels"])
        self.views = [Path(v) for v in views]
        self.folder = cache / f"lift_{hashlib.sha1(Path(encoder_path).read_bytes()).hexdigest()[:10]}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.weighting = weighting

    def lifted(self, files: list[Path]) -> list[Path]:
        """The scans that have views, each lifted once."""
        return [f for f in files if lift_sample(f, self.views, self.encoder, self.folder) is not None]

    def add(self, d: dict[str, np.ndarray], cached: Path) -> dict[str, np.ndarray]:
        return with_lifted(d, self.folder / cached.name, self.weighting)


class ScanPool:
    """The train scans a run reads: the train-split samples of `roots` cached into `cache` (and lifted, with
    image features), new ones cached while caching stays within a time allowance; or a fixed list of cached
    files (`fixed`: tests and --smoke)."""

    def __init__(self, roots: list[Path], cache: Path, max_vertices: int, k_eig: int, rng: np.random.Generator,
                 log=print, lifting: Lifting | None = None, fixed: list[Path] | None = None) -> None:
        self.roots, self.cache, self.max_vertices, self.k_eig = roots, cache, max_vertices, k_eig
        self.rng, self.log, self.lifting, self.fixed = rng, log, lifting, fixed
        self.caching_s = 0.0
        (cache / "ops").mkdir(parents=True, exist_ok=True)

    def files(self, allowance_s: float | None = None, at_least: int = 0) -> list[Path]:
        """Cached scans, caching new ones in random order until `caching_s` exceeds `allowance_s` (None: until
        there are `at_least`)."""
        from .samples import train_seeds

        if self.fixed is not None:
            return self._lifted(self.fixed)
        pending = train_seeds(self.roots)
        files = [self.cache / f"{sd:07d}.npz" for _, sd in pending if (self.cache / f"{sd:07d}.npz").exists()]
        todo = [(r, sd) for r, sd in pending if not (self.cache / f"{sd:07d}.npz").exists()]
        for i in self.rng.permutation(len(todo)):
            if (len(files) >= at_least) if allowance_s is None else self.caching_s > allowance_s:
                break
            t0 = time.time()
            try:
                got = cache_sample(*todo[i], self.cache, self.max_vertices, self.k_eig)
            except Exception as exc:  # noqa: BLE001 - a broken sample is skipped, not fatal
                self.log(f"skip {todo[i]}: {exc}")
                got = None
            self.caching_s += time.time() - t0
            if got is not None:
                files.append(got)
        return self._lifted(sorted(files))

    def wait_for(self, n: int) -> list[Path]:
        """At least `n` cached scans (waits for a running `face synth` to write them)."""
        files = self.files(at_least=n)
        while len(files) < n:
            self.log(f"waiting for data: {len(files)} < {n} samples")
            time.sleep(30)
            files = self.files(at_least=n)
        return files

    def features(self, cached: Path) -> dict[str, np.ndarray]:
        """The per-vertex feature arrays of a cached scan (for the input statistics)."""
        with np.load(cached, allow_pickle=False) as z:
            d = {k: z[k] for k in ("sigma", "hks", "color")}
        return self.lifting.add(d, cached) if self.lifting is not None else d

    def example(self, cached: Path) -> tuple[dict[str, np.ndarray], Operators]:
        """A cached scan's arrays (+ lifted features) and its operators."""
        d, ops = load_cached(cached, self.k_eig, self.cache / "ops")
        return (self.lifting.add(d, cached) if self.lifting is not None else d), ops

    def _lifted(self, files: list[Path]) -> list[Path]:
        return self.lifting.lifted(files) if self.lifting is not None else files
