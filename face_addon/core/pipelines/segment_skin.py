"""Skin segmentation of a raw head scan: Pixels2Points (Chen et al. 2025, §2.1-2.2, Tab. 1).

    result = segment_skin(vertices, faces, colors, views=views)  # arrays in (any unit), dataclass out
    result.probability (n,) skin probability per input vertex, result.skin (n,) bool, result.timings

Stages: validate and bring to metres (mm/cm scans are detected by their size and reported) → reduce to at
most `max_vertices` (geometry/decimate.py) → DiffusionNet operators (geometry/spectral.py, cached on disk when
a cache folder is given) → per-vertex features → [image branch: encode the views, lift μ̄, σ̄² onto the reduced
vertices (skin_image.py)] → network → probabilities back to every input vertex.

Rendered views need the face upright: callers pass the scan through `upright_scan.face_upright` first (its face frame, found
by the landmarks' face-orientation search), which also gives scans in arbitrary units their size.

Models: skin_p2p (lifted image features + σ + HKS + colour: the paper's method) when views and colours are
given; skin_3d (σ + HKS + colour, the paper's 3D-only baseline) with colours only; skin_geom (σ + HKS) without
colours, with a warning. Geometric features are invariant to rigid motion; the colour input is sRGB-encoded
(see normalize_colors); image features depend on the views, whose cameras must be in the input's frame.

σ_30 (30 nearest neighbours) measures roughness at a scale set by the mesh's resolution, so a 190k-vertex scan
and a 30k-vertex one would give different values for the same surface, and so would an unevenly decimated real
scan (dense eyes and ears, centimetre triangles on the scalp). Here σ is taken on the surface evenly resampled
at s_ref = 2 mm, the spacing of the training scans (`sigma_points`: the scan's vertices plus points on its
triangles, one per 2 mm cube), at the reduced vertices, with k set from that point set's density to cover the
area of 30 neighbours at s_ref: whatever the scan's tessellation the neighbourhood covers the same area, and
the reduced mesh used for the network does not change σ at all.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from ..capabilities import MODELS_DIR
from ..color import linear_to_srgb
from ..geometry.decimate import Decimation, decimate
from ..geometry.heat_diffusion import heat_diffuse
from ..geometry.spectral import Operators, cached_operators, compute_operators
from ..geometry.surface_features import FEATURE_SETS, even_surface_points, heat_kernel_signature, surface_variation
from ..mesh import Mesh, MeshError, guess_unit_scale
from ..models import SKIN_COLOR_MODEL, SKIN_GEOMETRY_MODEL, SKIN_IMAGE_MODEL, available, resolve, skin_model
from ..progress import Cancel, Progress, reporter
from ..weights import cached_per_file_version, load_weights

WEIGHTS_KIND = "skin_segmentation"
WEIGHTS_VERSIONS = (1,)
# the shipped files (benchmarks compare them); which one runs is core.models.skin_model's choice
IMAGE_MODEL_WEIGHTS = MODELS_DIR / SKIN_IMAGE_MODEL
COLOR_WEIGHTS = MODELS_DIR / SKIN_COLOR_MODEL
GEOMETRY_WEIGHTS = MODELS_DIR / SKIN_GEOMETRY_MODEL

#: the network's mesh is reduced to at most this many vertices: the training resolution. On 8 test scans
#: 10k / 20k / 60k / no reduction gave mIoU 0.927 / 0.908 / 0.909 / 0.913 (docs/skin.md)
MAX_VERTICES = 10_000
K_EIG = 128            # eigenpairs of the DiffusionNet operators
N_HKS = 16             # HKS times
SIGMA_K = 30           # σ_k at the reference spacing (Pixels2Points: σ_30)
SIGMA_REFERENCE_SPACING_M = 0.002  # median nearest-neighbour spacing of the training scans
SIGMA_MAX_K = 256
TRIANGLE_GRID_DENSITY = 2 / np.sqrt(3)  # vertices per edge² of an equilateral triangle grid
#: out-of-range σ hands the decision to the image branch (`sigma_outside_training`): from SIGMA_TRUSTED training
#: standard deviations, fully after SIGMA_BLEND more. Chosen on the 16 regenerated synthetic test scans (mIoU must
#: not drop) and Lee Perry-Smith (head skin fraction), from a 4 x 3 grid; see docs/skin.md
SIGMA_TRUSTED = 1.5
SIGMA_BLEND = 2.0
#: the image model's probabilities are smoothed over the surface by heat diffusion over this geodesic length
#: (metres): the per-vertex network and the lifted 2D decision leave speckles and small islands that no real
#: skin boundary has. Chosen on 12 train-split synthetic scans never trained on (seeds 900000-900011; docs/skin.md)
SMOOTHING_LENGTH_M = 0.004
#: in that smoothing, a vertex no view sees counts with this weight (seen ones: 1), so it takes the value of the
#: seen surface around it (a harmonic fill) instead of its own: without image evidence the network reads such
#: vertices (inside closed lids, lip and ear folds) as non-skin — 92 % of Lee Perry-Smith's missed head-and-face
#: vertices were unseen. Chosen on the 16 synthetic test scans lifted from the front view alone (a third unseen):
#: accuracy on the unseen vertices 0.81 / 0.90 / 0.92 / 0.93 at 1 / 0.01 / 0.001 / 0.0001 (docs/skin.md)
UNSEEN_CONFIDENCE = 0.001
MIN_VERTICES = 100
IMAGE_FEATURES = ("img_mu", "img_var")
#: skin fractions outside this range get a warning (the synthetic scans have 5-45 % skin)
PLAUSIBLE_SKIN_FRACTION = 0.02  # below it, warn (a face crop may well be all skin)
FLAT_COLOR_STD = 1e-3  # colours varying less than this carry no information (e.g. an all-white default)
#: linear RGB colour of an untextured scan for the image model and its rendered views: the middle of the synthetic
#: generator's skin tones (synth/subject.py SKIN_TONES). On 8 synthetic test scans stripped of colour: mIoU 0.872
#: vs 0.788 for the geometry-only model; Artec faces 0 % -> see docs/skin.md
NEUTRAL_SKIN_ALBEDO = (0.58, 0.37, 0.26)


@dataclass
class SkinShape:
    """A scan reduced for the network, with its operators and raw per-vertex features (metres)."""

    decimation: Decimation
    ops: Operators
    sigma: np.ndarray          # (k,) surface variation at the reference scale
    hks: np.ndarray            # (k, N_HKS)
    color: np.ndarray | None   # (k, 3) sRGB-encoded in [0, 1], mean of the input vertices each reduced one represents
    sigma_k: int               # neighbours used for σ on the input
    img_mu: np.ndarray | None = None   # (k, F) lifted image features: visibility-weighted mean over views
    img_var: np.ndarray | None = None  # (k, F) and variance
    img_skin: np.ndarray | None = None  # (k,) the encoder's 2D skin probability lifted (the 2D-only baseline)
    img_seen: np.ndarray | None = None  # (k,) how many rigs see the vertex (0: no view does)

    def features(self, names: tuple[str, ...]) -> np.ndarray:
        return feature_matrix(names, self.sigma, self.hks, self.color, self.img_mu, self.img_var)


def feature_matrix(names: tuple[str, ...], sigma: np.ndarray, hks: np.ndarray, color: np.ndarray | None,
                   img_mu: np.ndarray | None = None, img_var: np.ndarray | None = None) -> np.ndarray:
    """(k, C) float32 network inputs in the order of `names`: log σ (1), log HKS (N_HKS), colour (3), lifted
    image features μ̄ (F) and log σ̄² (F). Logs because σ, HKS and variances span decades and their ratios, not
    differences, tell surfaces apart."""
    cols = []
    for name in names:
        if name == "sigma30":
            cols.append(np.log(sigma + 1e-6)[:, None])
        elif name == "hks":
            cols.append(np.log(np.maximum(hks, 1e-8)))
        elif name == "color":
            if color is None:
                raise ValueError("the 'color' feature needs vertex colours")
            cols.append(color)
        elif name in IMAGE_FEATURES:
            value = img_mu if name == "img_mu" else img_var
            if value is None:
                raise ValueError(f"the '{name}' feature needs views of the scan")
            cols.append(value if name == "img_mu" else np.log(value + 1e-4))
        else:
            raise ValueError(f"unknown feature {name!r}; known: {FEATURE_SETS + IMAGE_FEATURES}")
    return np.concatenate(cols, axis=1).astype(np.float32)


@dataclass
class SkinResult:
    probability: np.ndarray   # (n,) skin probability per input vertex
    skin: np.ndarray          # (n,) probability ≥ threshold
    variant: str              # which model ran: its file stem (skin_3d, skin_geom, ...)
    features: tuple[str, ...]
    unit_scale: float         # factor to metres guessed from the size (1, 0.01 or 0.001)
    n_network_vertices: int   # vertices of the reduced mesh the network saw
    warnings: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)  # decimate_s, operators_s, features_s, network_s, transfer_s, total_s

    @property
    def skin_fraction(self) -> float:
        return float(self.skin.mean()) if len(self.skin) else 0.0


def median_spacing(points: np.ndarray, sample: int = 20000, rng: np.random.Generator | None = None) -> float:
    """Median distance from a vertex to its nearest distinct neighbour (duplicates of unwelded meshes skipped)."""
    pts = np.asarray(points, np.float64)
    rng = rng if rng is not None else np.random.default_rng(0)
    q = pts if len(pts) <= sample else pts[rng.choice(len(pts), sample, replace=False)]
    d, _ = cKDTree(pts).query(q, k=min(8, len(pts)))
    d = np.where(d > 0, d, np.inf).min(axis=1)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if len(d) else 0.0


def sigma_neighbours(spacing_m: float) -> int:
    """k for σ on a scan with this vertex spacing: the area of 30 neighbours at the reference spacing."""
    if spacing_m <= 0:
        return SIGMA_K
    return int(np.clip(round(SIGMA_K * (SIGMA_REFERENCE_SPACING_M / spacing_m) ** 2), 8, SIGMA_MAX_K))


def sigma_points(vertices_m: np.ndarray, faces: np.ndarray | None) -> tuple[np.ndarray, int]:
    """(the points σ is measured on, k): the surface evenly resampled at the reference spacing
    (`even_surface_points`), k = 30 × its density relative to a triangle grid of the reference spacing (the
    training scans' evenly remeshed vertices), so σ covers the same area whatever the scan's tessellation.
    Point clouds (no area): k from their median spacing."""
    points, area = even_surface_points(vertices_m, faces, SIGMA_REFERENCE_SPACING_M)
    if not area:
        return points, sigma_neighbours(median_spacing(points))
    density = len(points) * SIGMA_REFERENCE_SPACING_M ** 2 / (TRIANGLE_GRID_DENSITY * area)
    return points, int(np.clip(round(SIGMA_K * density), 8, SIGMA_MAX_K))


def normalize_colors(colors: np.ndarray | None, n: int) -> np.ndarray | None:
    """(n, 3) sRGB-encoded colours in [0, 1] (the networks' colour input: the training scans' PLY bytes / 255)
    from linear float colours (Blender attributes, `mesh_files`; encoded with the exact curve of core/color.py,
    so file bytes come back unchanged) or sRGB 0-255 integers; alpha dropped. MeshError if malformed."""
    if colors is None:
        return None
    c = np.asarray(colors)
    if c.ndim != 2 or c.shape[0] != n or c.shape[1] not in (3, 4):
        raise MeshError(f"vertex colours must be (n={n}, 3 or 4), got {c.shape}")
    out = c[:, :3].astype(np.float64)
    if not np.isfinite(out).all():
        raise MeshError("vertex colours contain NaN or infinite values")
    if np.issubdtype(c.dtype, np.integer):
        return np.clip(out / 255.0, 0.0, 1.0)
    return linear_to_srgb(out)


def prepare_shape(vertices_m: np.ndarray, faces: np.ndarray | None, colors01: np.ndarray | None,
                  max_vertices: int = MAX_VERTICES, k_eig: int = K_EIG, cache_dir: Path | str | None = None,
                  timings: dict | None = None, progress: Progress | None = None) -> SkinShape:
    """Reduce a scan (metres) and compute its operators and raw features (shared by inference and training)."""
    timings = timings if timings is not None else {}
    report = progress or (lambda fraction, stage: None)
    v = np.asarray(vertices_m, np.float64)
    t0 = time.perf_counter()
    report(0.05, "reducing")
    dec = decimate(v, faces, max_vertices)
    if dec.n_vertices < 4:
        raise MeshError(f"only {dec.n_vertices} vertices are left after clean-up; the mesh is too degenerate")
    t1 = time.perf_counter()
    report(0.15, "surface operators")
    try:
        ops = (cached_operators(dec.vertices, dec.faces, cache_dir, k_eig) if cache_dir is not None
               else compute_operators(dec.vertices, dec.faces, k_eig))
    except (ValueError, RuntimeError) as exc:  # degenerate geometry, ARPACK failing to converge
        raise MeshError(f"could not compute the surface operators of this mesh ({exc}); try removing "
                        "degenerate parts (Mesh > Clean Up) or pass it as a point cloud") from None
    t2 = time.perf_counter()
    report(0.75, "features")
    even, k_sigma = sigma_points(v, faces)
    sigma = surface_variation(even, k_sigma, queries=dec.vertices)
    hks = heat_kernel_signature(ops.evals, ops.evecs, ops.mass, N_HKS)
    color = dec.from_original(colors01) if colors01 is not None else None
    t3 = time.perf_counter()
    timings.update(decimate_s=t1 - t0, operators_s=t2 - t1, features_s=t3 - t2)
    return SkinShape(dec, ops, sigma, hks, color, k_sigma)


# ------------------------------------------------------------------------------------------------ model

def build_network(arch: dict):
    """The network described by a weights file's meta["arch"] ({"type": "diffusion_net" | "mlp", ...config})."""
    from ..nets.diffusion_net import DiffusionNet
    from ..nets.vertex_mlp import VertexMLP

    config = {k: v for k, v in arch.items() if k != "type"}
    if arch.get("type") == "mlp":
        return VertexMLP(**config)
    return DiffusionNet(**config)


def _build(path: str):
    """(network in eval mode, meta) from a skin weights file, read once per file version.
    Raises WeightsError for a missing, foreign or too new file."""
    state, meta = load_weights(path, WEIGHTS_KIND, WEIGHTS_VERSIONS)
    net = build_network(meta["arch"])
    net.load_state_dict(state)
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net, {**meta, "name": Path(path).stem, "path": str(path)}  # results name the file that ran


load_skin_model = cached_per_file_version(_build)


def predict(net, meta: dict, shape: SkinShape) -> np.ndarray:
    """(k,) skin probability per reduced vertex, the network on the configured device (core/device.py)."""
    import torch

    from ..device import place
    from ..nets.diffusion_net import DiffusionOperators

    names = tuple(meta["features"])
    x = (shape.features(names) - np.asarray(meta["feature_mean"], np.float32)) / np.asarray(meta["feature_std"],
                                                                                              np.float32)
    device = place(net)
    with torch.inference_mode():
        ops = DiffusionOperators.from_operators(shape.ops, device=device)
        logits = net(torch.from_numpy(x.astype(np.float32)).to(device), ops)
        return torch.softmax(logits, dim=1)[:, 1].cpu().numpy().astype(np.float64)


# ------------------------------------------------------------------------------------------------ pipeline

def _choose_model(colors01: np.ndarray | None, has_views: bool, model, weights, models_dir, warnings: list[str]):
    """(net, meta): the given model, else the given file, else `core.models.skin_model`'s choice for the input."""
    if model is not None:
        return model
    if weights is None:
        choice = skin_model(colors01 is not None, has_views, models_dir)
        warnings += choice.warnings
        weights = choice.path
    return load_skin_model(weights)


def lift_views(shape: SkinShape, meta: dict, views, unit: float, timings: dict) -> None:
    """Encode the views with the model's image encoder and lift μ̄, σ̄² and the 2D skin probability onto the
    reduced vertices, rig by rig (`skin_image.lift_rigs`; the cameras live in the input's frame and units, the
    reduced mesh in metres)."""
    from .skin_image import encode_views, lift_rigs, load_image_encoder

    t0 = time.perf_counter()
    # a relative name: the encoder beside the skin model (a user's model folder), else the shipped one
    encoder = load_image_encoder(resolve(meta["image_encoder"], Path(meta.get("path", MODELS_DIR / "x")).parent))
    feats, skin2d = encode_views(encoder, views)
    t1 = time.perf_counter()
    dec = shape.decimation
    shape.img_mu, shape.img_var, shape.img_skin, shape.img_seen = lift_rigs(
        dec.vertices / unit, dec.faces, feats, skin2d, views, meta.get("lifting", "visibility") == "visibility")
    timings.update(encode_s=t1 - t0, lift_s=time.perf_counter() - t1)


def sigma_outside_training(shape: SkinShape, meta: dict) -> np.ndarray:
    """(k,) weight in [0, 1] of the image branch per reduced vertex: 0 while the vertex's σ input lies within
    SIGMA_TRUSTED training standard deviations of the training mean, rising linearly to 1 over the next
    SIGMA_BLEND ones. DiffusionNet has never seen σ that far out (on the synthetic scans almost no skin and
    little else does), and on real scans it reads such vertices as hair or clothing whatever the images say."""
    names = tuple(meta["features"])
    at = names.index("sigma30")
    col = shape.features(names[:at]).shape[1] if at else 0
    log_sigma = feature_matrix(("sigma30",), shape.sigma, shape.hks, None)[:, 0]
    z = (log_sigma - meta["feature_mean"][col]) / meta["feature_std"][col]
    return np.clip((np.abs(z) - SIGMA_TRUSTED) / SIGMA_BLEND, 0.0, 1.0)


def smooth_over_surface(shape: SkinShape, prob: np.ndarray) -> np.ndarray:
    """(k,) the image model's per-reduced-vertex probabilities after one heat-diffusion step over
    SMOOTHING_LENGTH_M, where a vertex no view sees (`img_seen` 0) weighs its own value by UNSEEN_CONFIDENCE and so
    takes the seen surface's around it."""
    confidence = np.where(shape.img_seen > 0, 1.0, UNSEEN_CONFIDENCE)
    return np.clip(heat_diffuse(shape.ops.laplacian, shape.ops.mass, prob, SMOOTHING_LENGTH_M, confidence), 0, 1)


def check_segmentable(vertices: np.ndarray, faces: np.ndarray | None) -> Mesh:
    """The input as a Mesh, or MeshError (empty, NaN, too few vertices): callers that render views first (the
    operator) check with this before the renders, so bad input fails in a moment, not after them."""
    mesh = Mesh(vertices, faces if faces is not None else np.zeros((0, 3), np.int64))
    mesh.validate(allow_point_cloud=True)
    if mesh.n_vertices < MIN_VERTICES:
        raise MeshError(f"{mesh.n_vertices} vertices are too few to segment (need at least {MIN_VERTICES}).")
    return mesh


def segment_skin(vertices: np.ndarray, faces: np.ndarray | None = None, colors: np.ndarray | None = None,
                 model=None, *, weights: Path | str | None = None, max_vertices: int = MAX_VERTICES,
                 threshold: float = 0.5, cache_dir: Path | str | None = None, views=None,
                 models_dir: Path | str | None = None, progress: Progress | None = None,
                 cancel: Cancel | None = None) -> SkinResult:
    """Skin probability per vertex of a head scan: a mesh (faces (m, 3)) or a point cloud (faces None/empty) in
    any unit and pose, with optional per-vertex colours (linear RGB floats in [0, 1], or 0-255 integers).

    `views` (`skin_image.SkinViews`: images + cameras in the input's frame and units; renders of the scan or the
    user's calibrated photos) enables the Pixels2Points model (lifted image features) when the scan also has
    colours. Without views the colour model runs when colours are given (and vary), the geometry-only model
    otherwise (with a warning).
    `model` = (net, meta) from `load_skin_model`, or `weights` (a file), overrides that choice; a model that
    needs colours then requires them; `models_dir`: a user's model folder (core.models.resolve). Raises MeshError
    for unusable input (empty, NaN, too few vertices), and Cancelled at the next stage boundary (core/progress.py).
    """
    t0 = time.perf_counter()
    report = reporter(progress, cancel)
    report(0.0, "checking the input")
    mesh = check_segmentable(vertices, faces)
    warnings: list[str] = []
    colors01 = normalize_colors(colors, mesh.n_vertices)
    if colors01 is not None and colors01.std(axis=0).max() < FLAT_COLOR_STD:
        warnings.append("the vertex colours are all the same, so they were ignored")
        colors01 = None
    # an untextured scan with views: the image model (shipped or given) reads it in a neutral skin tone
    neutral = (colors01 is None and colors is None and views is not None
               and (model is not None or weights is not None or available(SKIN_IMAGE_MODEL, models_dir)))
    if neutral:
        colors01 = normalize_colors(np.tile(NEUTRAL_SKIN_ALBEDO, (mesh.n_vertices, 1)), mesh.n_vertices)
    net, meta = _choose_model(colors01, views is not None, model, weights, models_dir, warnings)
    names = tuple(meta["features"])
    if neutral and set(IMAGE_FEATURES) & set(names):
        warnings.append("the scan has no colours: the image model read it in a neutral skin tone (its views are "
                        "rendered in that tone; less accurate than with the scan's own colours)")
    elif neutral:
        colors01 = None
    if "color" in names and colors01 is None:
        raise MeshError(f"the skin model '{meta['name']}' needs vertex colours and this scan has none; "
                        "use the geometry-only model")
    if set(IMAGE_FEATURES) & set(names) and views is None:
        raise MeshError(f"the skin model '{meta['name']}' needs views of the scan (renders or calibrated photos)")
    unit = guess_unit_scale(mesh)
    if unit != 1.0:
        warnings.append(f"the scan looks like it is in {'millimetres' if unit == 0.001 else 'centimetres' if unit == 0.01 else 'decimetres'} "
                        f"(size {mesh.extent():.4g}); it was scaled to metres for the network")
    timings: dict = {}
    shape = prepare_shape(mesh.vertices * unit, None if mesh.is_point_cloud else mesh.faces,
                          colors01 if "color" in names else None, max_vertices, int(meta.get("k_eig", K_EIG)),
                          cache_dir, timings, report)
    if set(IMAGE_FEATURES) & set(names):
        report(0.8, "image features")
        lift_views(shape, meta, views, unit, timings)
    report(0.85, "network")
    t3 = time.perf_counter()
    prob_reduced = predict(net, meta, shape)
    if shape.img_skin is not None and "sigma30" in names:
        w = sigma_outside_training(shape, meta)
        prob_reduced = (1 - w) * prob_reduced + w * shape.img_skin
        if (w > 0.5).mean() > 0.1:
            warnings.append(f"the surface of {100 * (w > 0.5).mean():.0f} % of the scan is rougher or smoother than "
                            "the training scans': the images decided there")
    if shape.img_skin is not None:
        prob_reduced = smooth_over_surface(shape, prob_reduced)
    t4 = time.perf_counter()
    prob = shape.decimation.to_original(prob_reduced)
    skin = prob >= threshold
    t5 = time.perf_counter()
    fraction = float(skin.mean())
    if fraction < PLAUSIBLE_SKIN_FRACTION:
        warnings.append(f"only {100 * fraction:.1f} % of the scan was found to be skin: no face visible?")
    timings.update(network_s=t4 - t3, transfer_s=t5 - t4, total_s=t5 - t0)
    report(1.0, "done")
    return SkinResult(probability=prob, skin=skin, variant=str(meta["name"]), features=names, unit_scale=unit,
                      n_network_vertices=shape.decimation.n_vertices, warnings=warnings, timings=timings)
