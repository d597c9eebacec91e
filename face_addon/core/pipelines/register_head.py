"""Register Head: fit FaceKit to the skin region of a head scan (Pixels2Points, Chen et al. 2025, Fig. 1 and
the d_surface metric of §3).

    reg = register_head(vertices, faces, skin, landmarks=lms)   # arrays in (any unit), dataclass out
    reg.vertices (4350, 3) the fitted FaceKit head in the scan's frame and units, reg.alpha_id/alpha_exp,
    reg.scale/rotation/translation (template -> scan similarity), reg.residual_mm, reg.timings
    d_surface_mm(reg_vertices_m, true_vertices_m, true_faces, fk.spa)   # the paper's registration error

Method: (1) similarity (Umeyama with scale) from FaceKit's landmark vertices to the scan's landmarks, without
the jaw contour (0-16: the least reliable landmarks, ~12 mm detector error); (2) ICP-style alternation: every
scan skin point is matched to its nearest FaceKit vertex (rejected when farther than a shrinking threshold,
when the normals disagree or when the vertex lies on the template's open border), and one linear least-squares
step solves jointly for (α_id, α_exp) and a linearised similarity update, point-to-plane along the model's
normals, with a Tikhonov prior scaled per coefficient like the sampling prior (facekit/prior.py), bounds on the
coefficients (expressions in [0, 1] ...) and the non-jaw landmarks as an extra term that fades over the
iterations (they place the head, the skin decides the end); (3) optionally (`nonrigid=True`) per-vertex offsets
along the normals with Laplacian smoothness, for shape the model lacks. Settings and results: docs/registration.md.

The data term runs from skin to model (every skin point should lie on the head), not from model to skin: where
hair, clothes or a beard cover the head there is no skin, and the prior, not the nearest stray point, decides
the shape there. Points matched to the same vertex give identical Jacobian rows, so the normal equations are
accumulated per vertex: one step costs O(template vertices × coefficients²) whatever the number of points.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu
from scipy.spatial import cKDTree

from ..facekit import FaceKit, load_facekit
from ..geometry.knn_graph import estimate_normals
from ..geometry.laplacian import combinatorial_laplacian
from ..geometry.normals import vertex_normals
from ..geometry.surface_distance import point_mesh_distance
from ..mesh import Mesh, MeshError, guess_unit_scale
from ..progress import Cancel, Progress, reporter, within

ITERATIONS = 15
MIN_SKIN_POINTS = 500
MAX_SKIN_POINTS = 20_000         # skin points used per fit (a random subset of larger scans)
ROBUST_LANDMARKS = np.arange(17, 68)  # iBUG brows, nose, eyes, mouth: the jaw contour is left out
LANDMARK_SIGMA_M = (0.004, 0.02)  # landmark error (non-jaw) assumed in the first and last iteration: they guide
#                                   the start, the skin decides the end (detected landmarks are a few mm off)
NOISE_SIGMA_M = 0.001            # expected point-to-plane residual of a good fit: weight of the data term
PRIOR_WEIGHT = 1.0               # multiplies the Tikhonov prior (1 = the prior's own scales)
SCALE_SIGMA = 0.03               # prior on the similarity's scale around metric: head sizes vary ~3 % (1 SD)
# (first, last iteration) of the correspondence gates, interpolated geometrically in between:
THRESHOLD_M = (0.02, 0.004)      # greatest point-to-plane distance
NORMAL_COS = (0.3, 0.6)          # least |cos| between scan and model normals
ROBUST_SCALE_M = (0.005, 0.001)  # Geman-McClure scale of the point weights
REACH_FRACTION = 0.25            # a point may lie this fraction of its vertex's longest edge farther (tangentially)
STOP_M = 2e-5                    # stop when no vertex moves more than this in an iteration
LARGE_RESIDUAL_MM = 2.5          # a final residual above this gets a "not a face?" warning
NONRIGID_ITERATIONS = 3
NONRIGID_SMOOTHNESS = 30.0       # weight of ‖L h‖² against the data term (per unit of vertex weight)
NONRIGID_DAMPING = 0.05          # weight of ‖h‖²: vertices without data stay on the model

UNIT_NAMES = {0.1: "decimetres", 0.01: "centimetres", 0.001: "millimetres"}


@dataclass
class Registration:
    vertices: np.ndarray      # (n_template, 3) registered FaceKit head, in the scan's units and frame
    faces: np.ndarray         # (m, 3) FaceKit template faces
    alpha_id: np.ndarray      # (K_id,) identity coefficients
    alpha_exp: np.ndarray     # (K_exp,) expression coefficients (ARKit units, [0, 1])
    scale: float              # similarity template (metres) -> scan units: x_scan = scale · R · x + t
    rotation: np.ndarray      # (3, 3)
    translation: np.ndarray   # (3,) scan units
    residual_mm: float        # mean |point-to-plane| residual of the skin correspondences, last iteration
    n_skin_points: int        # skin points the fit used (after subsampling)
    unit_scale: float = 1.0   # factor from scan units to metres (1, 0.01 or 0.001), guessed from the size
    inlier_fraction: float = 0.0  # share of those skin points matched in the last iteration
    warnings: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)  # landmarks_s, prepare_s, fit_s, [nonrigid_s], total_s

    def model_vertices(self) -> np.ndarray:
        """The head in FaceKit's model space (metres): `vertices` with the similarity undone."""
        return (self.vertices - self.translation) @ self.rotation / self.scale


# ------------------------------------------------------------------------------------------------ geometry

def umeyama(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity (s, R, t) with dst ≈ s·R·src + t (Umeyama 1991; reflections excluded)."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u @ vt)) or 1.0
    rot = (u * d) @ vt
    scale = float((sig * d).sum() / (a ** 2).sum(axis=1).mean())
    return scale, rot, mu_d - scale * rot @ mu_s


def rotation_vector(omega: np.ndarray) -> np.ndarray:
    """Rotation matrix of a rotation vector (Rodrigues)."""
    angle = float(np.linalg.norm(omega))
    if angle < 1e-12:
        return np.eye(3)
    k = omega / angle
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx


def _skew(v: np.ndarray) -> np.ndarray:
    """(n, 3, 3) cross-product matrices [v]× of (n, 3) vectors."""
    z = np.zeros(len(v))
    return np.stack([np.stack([z, -v[:, 2], v[:, 1]], 1), np.stack([v[:, 2], z, -v[:, 0]], 1),
                     np.stack([-v[:, 1], v[:, 0], z], 1)], axis=1)


# ------------------------------------------------------------------------------------------------ the model

@dataclass(frozen=True)
class _Model:
    """FaceKit arranged for fitting (built once per FaceKit)."""

    fk: FaceKit
    basis: np.ndarray       # (n, 3, K) float64: identity then expression columns
    sigma: np.ndarray       # (K,) prior scale per coefficient
    lower: np.ndarray       # (K,) bounds
    upper: np.ndarray
    matchable: np.ndarray   # (n,) bool: vertices skin points may match (not on the template's open border)
    reach: np.ndarray       # (n,) longest edge at each vertex: how far a surface point can lie from it
    laplacian: sp.csr_matrix

    @property
    def n_id(self) -> int:
        return self.fk.n_identity

    def evaluate(self, alpha: np.ndarray) -> np.ndarray:
        return self.fk.template + self.basis @ alpha


def coefficient_prior(id_names: list[str], exp_names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scale, lower, upper) per coefficient, identity then expression, matching `prior.sample_prior`'s spread
    (docs/facekit.md) but with MakeHuman's full slider ranges as bounds: real people go beyond the sampler."""
    from ..facekit.prior import _SIGNED_SUFFIXES

    macro = {"macro-gender": (1.0, -1, 1), "macro-age-older": (0.5, 0, 1), "macro-age-younger": (0.3, 0, 1),
             "macro-muscle": (0.3, -1, 1), "macro-weight": (0.3, -1, 1), "macro-african": (0.3, -1 / 3, 2 / 3),
             "macro-asian": (0.3, -1 / 3, 2 / 3), "macro-caucasian": (0.3, -1 / 3, 2 / 3)}
    rows = []
    for name in id_names:
        if name in macro:
            rows.append(macro[name])
        elif name.endswith(_SIGNED_SUFFIXES):
            rows.append((0.2, -1, 1))
        else:  # one-sided shape targets
            rows.append((0.2, 0, 1))
    rows += [(0.3, 0, 1)] * len(exp_names)
    out = np.array(rows, np.float64)
    return out[:, 0], out[:, 1], out[:, 2]


def _border_vertices(n: int, faces: np.ndarray) -> np.ndarray:
    """(n,) bool: vertices on an edge used by one face only (neck cut, eye and mouth openings)."""
    e = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    uniq, count = np.unique(e, axis=0, return_counts=True)
    out = np.zeros(n, bool)
    out[uniq[count == 1].ravel()] = True
    return out


_MODELS: dict[int, _Model] = {}


def _model(fk: FaceKit) -> _Model:
    cached = _MODELS.get(id(fk))
    if cached is not None and cached.fk is fk:
        return cached
    basis = np.concatenate([fk.id_basis, fk.exp_basis], axis=2).astype(np.float64)
    sigma, lower, upper = coefficient_prior(fk.id_names, fk.exp_names)
    f = fk.faces
    edge = np.linalg.norm(fk.template[f] - fk.template[f[:, [1, 2, 0]]], axis=2)  # edge (a,b), (b,c), (c,a)
    reach = np.zeros(fk.n_vertices)
    for c in range(3):
        np.maximum.at(reach, f[:, c], np.maximum(edge[:, c], edge[:, c - 1]))
    model = _Model(fk, basis, sigma, lower, upper, ~_border_vertices(fk.n_vertices, f), reach,
                   combinatorial_laplacian(fk.n_vertices, f))
    _MODELS.clear()
    _MODELS[id(fk)] = model
    return model


@lru_cache(maxsize=1)
def default_facekit() -> FaceKit:
    """The shipped FaceKit, loaded once per process."""
    return load_facekit()


# ------------------------------------------------------------------------------------------------ input

def skin_mask(skin: np.ndarray, n: int) -> np.ndarray:
    """(n,) bool from a bool mask or a per-vertex probability (≥ 0.5 = skin); MeshError if malformed."""
    s = np.asarray(skin)
    if s.shape != (n,):
        raise MeshError(f"the skin mask must have one value per scan vertex ({n}), got shape {s.shape}")
    if s.dtype == bool:
        return s
    s = s.astype(np.float64)
    if not np.isfinite(s).all():
        raise MeshError("the skin probabilities contain NaN or infinite values")
    return s >= 0.5


def skin_samples(vertices: np.ndarray, faces: np.ndarray, skin: np.ndarray, max_points: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(points (k, 3), unit normals (k, 3)) of at most `max_points` skin vertices; normals from the faces
    around them (PCA normals for a point cloud or a vertex no face uses)."""
    idx = np.flatnonzero(skin)
    if len(idx) > max_points:
        idx = np.sort(rng.choice(idx, max_points, replace=False))
    pts = vertices[idx]
    normals = np.zeros_like(pts)
    if len(faces):
        near = faces[skin[faces].any(axis=1)]
        slot = np.full(len(vertices), -1)
        slot[idx] = np.arange(len(idx))
        fn = np.cross(vertices[near[:, 1]] - vertices[near[:, 0]], vertices[near[:, 2]] - vertices[near[:, 0]])
        s = slot[near].ravel()
        ok = s >= 0
        for c in range(3):
            normals[:, c] = np.bincount(s[ok], np.repeat(fn[:, c], 3)[ok], minlength=len(idx))
    length = np.linalg.norm(normals, axis=1)
    bad = length <= 1e-12 * max(float(length.max()), 1e-300)
    if bad.any():
        normals[bad] = estimate_normals(pts, k=min(16, len(pts) - 1))[bad]
        length[bad] = 1.0
    return pts, normals / length[:, None]


# ------------------------------------------------------------------------------------------------ solver

def solve_bounded(a: np.ndarray, b: np.ndarray, lower: np.ndarray, upper: np.ndarray, rounds: int = 6
                  ) -> np.ndarray:
    """argmin ½xᵀAx − bᵀx within [lower, upper] (A symmetric positive definite, ±inf for free variables):
    an active-set loop that pins violated variables to their bound and re-solves the rest."""
    x = np.clip(np.linalg.solve(a, b), lower, upper)
    pinned = (x <= lower) | (x >= upper)
    for _ in range(rounds):
        if not pinned.any():
            break
        free = ~pinned
        x_free = np.linalg.solve(a[np.ix_(free, free)], b[free] - a[np.ix_(free, pinned)] @ x[pinned])
        x[free] = np.clip(x_free, lower[free], upper[free])
        grad = a @ x - b  # release pinned variables whose gradient points into the box
        release = pinned & (((x <= lower) & (grad < 0)) | ((x >= upper) & (grad > 0)))
        newly = free & ((x <= lower) | (x >= upper))
        if not release.any() and not newly.any():
            break
        pinned = (pinned & ~release) | newly
    return x


@dataclass
class _Pose:
    """Similarity template (metres) -> scan (metres): p = s·R·x + t."""

    s: float
    rot: np.ndarray
    t: np.ndarray

    def to_template(self, p: np.ndarray) -> np.ndarray:
        return (p - self.t) @ self.rot / self.s

    def apply(self, x: np.ndarray) -> np.ndarray:
        return self.s * x @ self.rot.T + self.t

    def compose(self, sigma: float, omega: np.ndarray, tau: np.ndarray) -> "_Pose":
        """This pose after the template-space update x -> (1 + σ)·R(ω)·x + τ."""
        return _Pose(self.s * (1 + sigma), self.rot @ rotation_vector(omega), self.t + self.s * self.rot @ tau)


@dataclass
class _Matches:
    vertex: np.ndarray     # (k,) matched template vertex per accepted point
    residual: np.ndarray   # (k,) point-to-plane residual along the model normal (template units)
    weight: np.ndarray     # (k,) robust weight (Geman-McClure): stray points off the surface count less
    normals: np.ndarray    # (n, 3) model vertex normals the residuals are measured along
    n_points: int

    def per_vertex(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(summed weight (n,), weighted mean residual (n,)) per template vertex."""
        total = np.bincount(self.vertex, self.weight, minlength=n)
        return total, np.bincount(self.vertex, self.weight * self.residual, minlength=n) / np.maximum(total, 1e-300)


@dataclass(frozen=True)
class _Schedule:
    """Correspondence gates and landmark weight of one iteration, in template units."""

    max_dist: float
    min_cos: float
    robust_scale: float
    landmark_sigma: float

    @staticmethod
    def at(i: int, n: int, scale: float) -> "_Schedule":
        """Iteration i of n (geometric from the first to the last values), for a pose of this scale."""
        f = i / max(n - 1, 1)
        step = lambda ends: float(ends[0] * (ends[1] / ends[0]) ** f)  # noqa: E731
        return _Schedule(step(THRESHOLD_M) / scale, step(NORMAL_COS), step(ROBUST_SCALE_M) / scale,
                         step(LANDMARK_SIGMA_M) / scale)

    @staticmethod
    def last(scale: float) -> "_Schedule":
        return _Schedule.at(1, 2, scale)


def match(model: _Model, v: np.ndarray, q: np.ndarray, qn: np.ndarray, sched: _Schedule) -> _Matches:
    """Nearest matchable model vertex per point (q, normals qn in template space), kept when similarly oriented
    and near the vertex's tangent plane but not much farther from the vertex itself: between vertices a point is
    expected to lie some way off, far away the tangent plane no longer stands for the surface (6 mm edges)."""
    normals = vertex_normals(v, model.fk.faces)
    cand = np.flatnonzero(model.matchable)
    d, j = cKDTree(v[cand]).query(q, distance_upper_bound=sched.max_dist + REACH_FRACTION * model.reach.max())
    ok = np.isfinite(d)
    vert = cand[j[ok]]
    n = normals[vert]
    r = ((q[ok] - v[vert]) * n).sum(axis=1)
    keep = ((d[ok] <= sched.max_dist + REACH_FRACTION * model.reach[vert])
            & (np.abs((qn[ok] * n).sum(axis=1)) >= sched.min_cos) & (np.abs(r) <= sched.max_dist))
    r = r[keep]
    return _Matches(vert[keep], r, 1.0 / (1.0 + (r / sched.robust_scale) ** 2) ** 2, normals, len(q))


def _normal_equations(model: _Model, alpha: np.ndarray, v: np.ndarray, m: _Matches, lm_target: np.ndarray,
                      lm_weight: np.ndarray, scale_prior: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """(A, b) of the step x = [δα (K), σ, ω (3), τ (3)]: the model moves by B·δα + σ·v + ω × v + τ (see the
    module doc); point-to-plane rows per matched vertex, 3 rows per landmark, the coefficient prior, and a prior
    on the scale (s_now·(1 + σ) near s_ref)."""
    k = model.basis.shape[2]
    a_mat = np.zeros((k + 7, k + 7))
    rhs = np.zeros(k + 7)
    if len(m.vertex):
        total, mean_r = m.per_vertex(len(v))
        hit = np.flatnonzero(total)
        w = total[hit] * (len(hit) / total.sum()) / NOISE_SIGMA_M ** 2  # a matched vertex weighs 1/σ² on average
        n, x = m.normals[hit], v[hit]
        rows = np.concatenate([np.einsum("vc,vck->vk", n, model.basis[hit]), (n * x).sum(1, keepdims=True),
                               np.cross(x, n), n], axis=1)
        a_mat += (rows * w[:, None]).T @ rows
        rhs += rows.T @ (w * mean_r[hit])
    x = model.fk.landmarks(v)  # surface points (barycentric), linear in the basis like the vertices
    basis_lm = np.moveaxis(model.fk.landmarks(np.moveaxis(model.basis, 2, 0)), 0, 2)
    jac = np.concatenate([basis_lm, x[:, :, None], -_skew(x),
                          np.broadcast_to(np.eye(3), (len(x), 3, 3))], axis=2).reshape(-1, k + 7)
    w = np.repeat(lm_weight, 3)
    a_mat += (jac * w[:, None]).T @ jac
    rhs += jac.T @ (w * (lm_target - x).ravel())
    prior = PRIOR_WEIGHT / model.sigma ** 2
    a_mat[np.arange(k), np.arange(k)] += prior
    rhs[:k] -= prior * alpha
    s_now, s_ref = scale_prior
    c = (s_now / (s_ref * SCALE_SIGMA)) ** 2
    a_mat[k, k] += c
    rhs[k] += c * (s_ref / s_now - 1)
    a_mat[np.arange(k + 1, k + 7), np.arange(k + 1, k + 7)] += 1e-6 * a_mat.diagonal().max()  # keeps it regular
    return a_mat, rhs


def _step(model: _Model, alpha: np.ndarray, a_mat: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(new α, similarity update [σ, ω, τ]) with α + δα kept inside the coefficient bounds."""
    k = len(alpha)
    lower = np.concatenate([model.lower - alpha, np.full(7, -np.inf)])
    upper = np.concatenate([model.upper - alpha, np.full(7, np.inf)])
    x = solve_bounded(a_mat, rhs, lower, upper)
    return alpha + x[:k], x[k:]


# ------------------------------------------------------------------------------------------------ pipeline

def _landmarks_m(landmarks: np.ndarray | None, vertices: np.ndarray, faces: np.ndarray, unit: float,
                 warnings: list[str]) -> np.ndarray:
    """Scan landmarks in metres: the given ones, or the landmark model's on the scan."""
    if landmarks is None:
        from .detect_landmarks import detect_landmarks

        result = detect_landmarks(vertices, faces if len(faces) else None)
        warnings += _without_unit_notes(result.warnings)
        landmarks = result.landmarks
    lm = np.asarray(landmarks, np.float64)
    if lm.shape != (68, 3):
        raise MeshError(f"landmarks must be (68, 3) in iBUG order, got shape {lm.shape}")
    if not np.isfinite(lm).all():
        raise MeshError("the landmarks contain NaN or infinite values")
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    size, spread = (hi - lo).max(), np.ptp(lm, axis=0).max()  # spread 0: the degenerate case, refused later
    outside = (lm.mean(axis=0) < lo - 0.5 * size) | (lm.mean(axis=0) > hi + 0.5 * size)
    if spread > 0 and (outside.any() or not 0.01 < spread / size < 10):
        raise MeshError("the landmarks lie far outside the scan: are they in the scan's units and frame? "
                        "(`face landmarks` writes them in the input's units)")
    return lm * unit


def _initial_pose(model: _Model, lm_m: np.ndarray) -> _Pose:
    """Similarity of the mean face's landmarks onto the scan's (jaw contour left out)."""
    dst = lm_m[ROBUST_LANDMARKS]
    if np.linalg.matrix_rank(dst - dst.mean(axis=0), tol=1e-9 * max(np.abs(dst).max(), 1e-300)) < 2:
        raise MeshError("the landmarks are degenerate (all in one place or on a line): no pose can be estimated")
    return _Pose(*umeyama(model.fk.landmarks(model.fk.template)[ROBUST_LANDMARKS], dst))


def fit(model: _Model, pts: np.ndarray, nrm: np.ndarray, lm_m: np.ndarray, iterations: int,
        report: Progress) -> tuple[np.ndarray, _Pose, _Matches]:
    """Alternate correspondences and linear steps; returns (α, pose, matches of the result)."""
    pose = _initial_pose(model, lm_m)
    s_ref = 1.0 if 0.8 < pose.s < 1.25 else pose.s  # metric scans keep real size; others keep their own
    alpha = np.zeros(model.basis.shape[2])
    robust = np.zeros(68)
    robust[ROBUST_LANDMARKS] = 1.0
    v = model.evaluate(alpha)
    for i in range(iterations):
        report(0.1 + 0.8 * i / iterations, f"fitting ({i + 1}/{iterations})")
        sched = _Schedule.at(i, iterations, pose.s)
        m = match(model, v, pose.to_template(pts), nrm @ pose.rot, sched)
        a_mat, rhs = _normal_equations(model, alpha, v, m, pose.to_template(lm_m),
                                       robust / sched.landmark_sigma ** 2, (pose.s, s_ref))
        before = pose.apply(v)
        alpha, upd = _step(model, alpha, a_mat, rhs)
        pose = pose.compose(upd[0], upd[1:4], upd[4:7])
        v = model.evaluate(alpha)
        if i >= 2 and np.abs(pose.apply(v) - before).max() < STOP_M:
            break
    return alpha, pose, match(model, v, pose.to_template(pts), nrm @ pose.rot, _Schedule.last(pose.s))


def refine_nonrigid(model: _Model, v: np.ndarray, pose: _Pose, pts: np.ndarray, nrm: np.ndarray,
                    iterations: int = NONRIGID_ITERATIONS) -> tuple[np.ndarray, _Matches]:
    """Offsets h along the vertex normals minimising Σ w_v (h_v − r_v)² over matched vertices + smoothness
    ‖L h‖² + damping ‖h‖² (a sparse solve per iteration): detail the linear model cannot express."""
    q, qn, sched = pose.to_template(pts), nrm @ pose.rot, _Schedule.last(pose.s)
    lap = model.laplacian
    smooth = NONRIGID_SMOOTHNESS * (lap.T @ lap) + NONRIGID_DAMPING * sp.identity(len(v))
    for _ in range(iterations):
        m = match(model, v, q, qn, sched)
        total, mean_r = m.per_vertex(len(v))
        w = total * (np.count_nonzero(total) / max(total.sum(), 1e-300))
        h = splu((sp.diags(w) + smooth).tocsc()).solve(w * mean_r)
        v = v + h[:, None] * m.normals
    return v, match(model, v, q, qn, sched)


def _without_unit_notes(warnings: list[str]) -> list[str]:
    """Warnings of a sub-pipeline minus its unit note: this pipeline reports the unit once itself."""
    return [w for w in warnings if "looks like it is in" not in w]


def register_head(vertices: np.ndarray, faces: np.ndarray | None, skin: np.ndarray | None, *,
                  landmarks: np.ndarray | None = None, colors: np.ndarray | None = None,
                  iterations: int = ITERATIONS, nonrigid: bool = False, progress: Progress | None = None,
                  facekit: FaceKit | None = None, max_points: int = MAX_SKIN_POINTS, seed: int = 0,
                  cancel: Cancel | None = None) -> Registration:
    """Fit FaceKit to the skin of a head scan (mesh or point cloud, any unit and pose).

    skin: (n,) bool or skin probability per vertex (≥ 0.5 = skin), e.g. `segment_skin(...).probability`; None
    runs `segment_skin(vertices, faces, colors)` first. landmarks: (68, 3) iBUG landmarks on the scan in its
    units; None runs the landmark model. Raises MeshError for unusable input (NaN, too little skin, bad shapes),
    and Cancelled at the next stage or fitting round once `cancel()` is true (core/progress.py).
    """
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    t0 = time.perf_counter()
    report = reporter(progress, cancel)
    report(0.0, "checking the input")
    mesh = Mesh(vertices, faces if faces is not None else np.zeros((0, 3), np.int64))
    mesh.validate(allow_point_cloud=True)
    warnings: list[str] = []
    if skin is None:
        from .segment_skin import segment_skin

        report(0.0, "segmenting the skin")
        seg = segment_skin(mesh.vertices, faces, colors, progress=within(report, 0.0, 0.02))
        warnings += _without_unit_notes(seg.warnings)
        skin = seg.probability
    mask = skin_mask(skin, mesh.n_vertices)
    if mask.sum() < MIN_SKIN_POINTS:
        raise MeshError(f"only {int(mask.sum())} skin vertices: too few to register a head (need at least "
                        f"{MIN_SKIN_POINTS}); check the skin segmentation")
    unit = guess_unit_scale(mesh)
    if unit != 1.0:
        warnings.append(f"the scan looks like it is in {UNIT_NAMES[unit]} (size {mesh.extent():.4g}); the head is "
                        "returned in the same units")
    v_m = mesh.vertices * unit
    t1 = time.perf_counter()
    report(0.02, "landmarks")
    lm_m = _landmarks_m(landmarks, mesh.vertices, mesh.faces, unit, warnings)
    t2 = time.perf_counter()
    model = _model(facekit or default_facekit())
    pts, nrm = skin_samples(v_m, mesh.faces, mask, max_points, np.random.default_rng(seed))
    t3 = time.perf_counter()
    alpha, pose, m = fit(model, pts, nrm, lm_m, iterations, report)
    v = model.evaluate(alpha)
    t4 = time.perf_counter()
    timings = {"landmarks_s": t2 - t1, "prepare_s": (t1 - t0) + (t3 - t2), "fit_s": t4 - t3}
    if nonrigid:
        report(0.9, "non-rigid refinement")
        v, m = refine_nonrigid(model, v, pose, pts, nrm)
        timings["nonrigid_s"] = time.perf_counter() - t4
    residual_mm = float(np.abs(m.residual).mean() * pose.s * 1000) if len(m.vertex) else float("inf")
    inliers = len(m.vertex) / max(m.n_points, 1)
    if not np.isfinite(residual_mm) or inliers == 0.0:  # an impossible result must not look like a fit
        raise MeshError("registration failed: no skin point matched the fitted head; are the skin mask and the "
                        "landmarks those of this scan, in its units?")
    if residual_mm > LARGE_RESIDUAL_MM or inliers < 0.3:
        warnings.append(f"the head fits the skin poorly (mean residual {residual_mm:.1f} mm, {100 * inliers:.0f} % "
                        "of the skin matched): are the skin mask and the landmarks those of a face?")
    report(1.0, "done")
    return Registration(
        vertices=pose.apply(v) / unit, faces=model.fk.faces, alpha_id=alpha[:model.n_id].astype(np.float32),
        alpha_exp=alpha[model.n_id:].astype(np.float32), scale=pose.s / unit, rotation=pose.rot,
        translation=pose.t / unit, residual_mm=residual_mm, n_skin_points=len(pts), unit_scale=unit,
        inlier_fraction=inliers, warnings=warnings, timings={**timings, "total_s": time.perf_counter() - t0})


def d_surface_mm(registered_vertices: np.ndarray, true_vertices: np.ndarray, true_faces: np.ndarray,
                 spa: np.ndarray) -> float:
    """Pixels2Points' d_surface: mean distance (mm) from the registered head's spa vertices to the true head
    surface restricted to the triangles touching the spa region. Both heads share FaceKit's topology (`spa` =
    `fk.spa` indices) and are in metres."""
    reg = np.asarray(registered_vertices, np.float64)
    true_v = np.asarray(true_vertices, np.float64)
    f = np.asarray(true_faces, np.int64)
    spa = np.asarray(spa, np.int64)
    if reg.shape != true_v.shape:
        raise ValueError(f"registered {reg.shape} and true {true_v.shape} vertices differ: not the same topology")
    in_spa = np.zeros(len(true_v), bool)
    in_spa[spa] = True
    _, d, _ = point_mesh_distance(reg[spa], true_v, f[in_spa[f].any(axis=1)])
    return float(d.mean() * 1000.0)
