"""Precomputed surface operators of DiffusionNet (Sharp et al., TOG 2022) for a mesh or a point cloud.

Laplacian L (positive semi-definite) and lumped mass M come from `robust_laplacian` (intrinsic Delaunay
on a tufted cover, mollified): it stays well behaved on the non-manifold, sliver-ridden meshes that
multi-view stereo produces, and the same code gives a point-cloud Laplacian, so one network serves both.
The k smallest eigenpairs of L φ = λ M φ carry the learned diffusion; the per-vertex gradient matrices
carry DiffusionNet's spatial gradient features. Solving the eigenproblem dominates the cost (2.5 s for
10k vertices and k = 128 on one core; it grows faster than linearly), so `cached_operators` keeps the
result on disk keyed by the exact input.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import robust_laplacian
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import ArpackNoConvergence, eigsh

from .knn_graph import estimate_normals, knn_graph
from .laplacian import unique_edges

CLOUD_NEIGHBOURS = 30  # kNN size of the point-cloud Laplacian, gradients and normals (DiffusionNet's choice)
_CACHE_VERSION = 1  # bump when the operators change, so old cache files are never read again


@dataclass(frozen=True)
class Operators:
    """Everything DiffusionNet needs about one shape (n vertices, k eigenpairs).

    mass (n,) lumped vertex areas; laplacian (n, n) CSR, PSD; evals (k,) ascending, ≥ 0; evecs (n, k),
    M-orthonormal (evecsᵀ diag(mass) evecs = I); grad_x, grad_y (n, n) CSR: the tangent gradient of a
    per-vertex function f at vertex i is (grad_x @ f, grad_y @ f)[i] in the frame (frames[i, 0],
    frames[i, 1]); frames (n, 3, 3) rows = tangent x, tangent y, unit normal.
    """

    mass: np.ndarray
    laplacian: sp.csr_matrix
    evals: np.ndarray
    evecs: np.ndarray
    grad_x: sp.csr_matrix
    grad_y: sp.csr_matrix
    frames: np.ndarray

    @property
    def normals(self) -> np.ndarray:
        return self.frames[:, 2]


def _validate(vertices: np.ndarray, faces: np.ndarray | None, k_eig: int) -> tuple[np.ndarray, np.ndarray | None]:
    v = np.asarray(vertices)
    if v.ndim != 2 or v.shape[1] != 3:
        raise ValueError(f"vertices must be (n, 3), got {v.shape}")
    if len(v) < 4:
        raise ValueError(f"a shape needs at least 4 vertices, got {len(v)}")
    v = np.ascontiguousarray(v, np.float64)
    if not np.isfinite(v).all():
        raise ValueError("vertices contain NaN or infinite coordinates")
    if k_eig < 1:
        raise ValueError(f"k_eig must be ≥ 1, got {k_eig}")
    if faces is None:
        return v, None
    f = np.asarray(faces)
    if f.ndim != 2 or f.shape[1] != 3 or len(f) == 0:
        raise ValueError(f"faces must be a non-empty (m, 3) array of triangles (or None for a point cloud), "
                         f"got {f.shape}")
    f = np.ascontiguousarray(f, np.int64)
    if f.min() < 0 or f.max() >= len(v):
        raise ValueError(f"face indices must lie in [0, {len(v)}), got [{f.min()}, {f.max()}]")
    unused = len(v) - len(np.unique(f))
    if unused:
        # such a vertex would have zero mass, making the generalised eigenproblem singular
        raise ValueError(f"{unused} vertices belong to no face: remove them, or pass faces=None for a point cloud")
    return v, f


def _normals(v: np.ndarray, f: np.ndarray | None) -> np.ndarray:
    """Area-weighted vertex normals of a mesh (PCA normals where they vanish), PCA normals of a cloud."""
    k = min(CLOUD_NEIGHBOURS, len(v) - 1)
    if f is None:
        return estimate_normals(v, k=k)
    face_n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])  # length = 2 × area
    n = np.zeros_like(v)
    for c in range(3):
        np.add.at(n, f[:, c], face_n)
    length = np.linalg.norm(n, axis=1)
    bad = length < 1e-12 * max(length.max(), 1e-300)
    if bad.any():
        n[bad] = estimate_normals(v, k=k)[bad]
        length[bad] = 1.0
    return n / length[:, None]


def tangent_frames(normals: np.ndarray) -> np.ndarray:
    """(n, 3, 3) right-handed frames [x, y, normal]: x is the coordinate axis least aligned with the normal,
    projected onto the tangent plane. Any choice works: DiffusionNet's gradient features are invariant
    to a per-vertex rotation of the frame."""
    axis = np.eye(3)[np.argmin(np.abs(normals), axis=1)]
    x = axis - (axis * normals).sum(1, keepdims=True) * normals
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.stack([x, np.cross(normals, x), normals], axis=1)


def _neighbours(v: np.ndarray, f: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) padded neighbour lists and their validity mask: mesh edges (one-ring), or kNN of a cloud."""
    if f is None:
        nbr = knn_graph(v, min(CLOUD_NEIGHBOURS, len(v) - 1))[:, 1:]
        return nbr, np.ones(nbr.shape, bool)
    e = unique_edges(f)
    src, dst = np.concatenate([e[:, 0], e[:, 1]]), np.concatenate([e[:, 1], e[:, 0]])
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    degree = np.bincount(src, minlength=len(v))
    start = np.concatenate([[0], np.cumsum(degree)[:-1]])
    slot = np.arange(len(src)) - start[src]
    nbr = np.zeros((len(v), degree.max()), np.int64)
    mask = np.zeros(nbr.shape, bool)
    nbr[src, slot] = dst
    mask[src, slot] = True
    return nbr, mask


def gradient_operators(v: np.ndarray, frames: np.ndarray, nbr: np.ndarray, mask: np.ndarray
                       ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Per-vertex least-squares tangent gradients: g_i minimises Σ_j |g_i · d_ij − (f_j − f_i)|² over the
    neighbours j, d_ij the edge v_j − v_i in the tangent frame of i. Exact for linear functions."""
    n, d = nbr.shape
    edge = v[nbr] - v[:, None, :]  # (n, d, 3)
    local = np.einsum("ndc,nac->nda", edge, frames[:, :2]) * mask[..., None]  # (n, d, 2)
    gram = np.einsum("nda,ndb->nab", local, local)
    gram += (1e-8 * np.trace(gram, axis1=1, axis2=2) + 1e-300)[:, None, None] * np.eye(2)  # collinear rings
    coef = np.linalg.solve(gram, local.transpose(0, 2, 1))  # (n, 2, d): g = coef @ (f_nbr − f_i)
    rows = np.repeat(np.arange(n), d)
    ops = []
    for a in range(2):
        c = coef[:, a, :]
        m = sp.coo_matrix((c[mask], (rows[mask.ravel()], nbr[mask])), shape=(n, n)).tocsr()
        ops.append((m - sp.diags(np.asarray(m.sum(1)).ravel())).tocsr())
    return ops[0], ops[1]


def _eigenpairs(lap: sp.csr_matrix, mass: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k smallest eigenpairs of L φ = λ M φ, M-orthonormal.

    Small problems (n ≤ 2k + 1, where ARPACK's Krylov space would be most of the space anyway) are solved
    densely. Otherwise shift-invert around σ < 0: L − σM is then positive definite even with several
    connected components (several zero eigenvalues), and σ is scaled by the area (λ ∝ 1/area) so the
    solve does not depend on the unit of length. A failed ARPACK run is retried with a larger shift.
    """
    n = lap.shape[0]
    if n <= 2 * k + 1:
        evals, evecs = scipy.linalg.eigh(lap.toarray(), np.diag(mass), subset_by_index=[0, k - 1])
    else:
        m = sp.diags(mass).tocsc()
        sigma = -1e-2 / mass.sum()
        for attempt in range(4):
            try:
                evals, evecs = eigsh(lap.tocsc(), k=k, M=m, sigma=sigma, which="LM")
                break
            except (ArpackNoConvergence, RuntimeError):
                if attempt == 3:
                    raise
                sigma *= 10
    order = np.argsort(evals)
    evals, evecs = np.clip(evals[order], 0.0, None), evecs[:, order]
    evecs /= np.sqrt((evecs ** 2 * mass[:, None]).sum(0))  # re-normalise in M (ARPACK's is approximate)
    return evals, evecs


def compute_operators(vertices: np.ndarray, faces: np.ndarray | None = None, k_eig: int = 128) -> Operators:
    """Operators of a triangle mesh, or of a point cloud when faces is None.

    k = min(k_eig, n) eigenpairs: a shape with fewer vertices than requested gets its whole spectrum
    (DiffusionNet's spectral diffusion works with any k). Raises ValueError for malformed input: not (n, 3),
    fewer than 4 vertices, NaN/inf coordinates, face indices out of range, vertices in no face.
    """
    v, f = _validate(vertices, faces, k_eig)
    if f is None:
        lap, mass = robust_laplacian.point_cloud_laplacian(v, n_neighbors=min(CLOUD_NEIGHBOURS, len(v) - 1))
    else:
        lap, mass = robust_laplacian.mesh_laplacian(v, f)
    lap, mass = sp.csr_matrix(lap), np.asarray(mass.diagonal(), np.float64)
    if not (mass > 0).all() or not np.isfinite(lap.data).all():
        raise ValueError("the Laplacian is degenerate (zero vertex area or non-finite weights)")
    evals, evecs = _eigenpairs(lap, mass, min(k_eig, len(v)))
    frames = tangent_frames(_normals(v, f))
    grad_x, grad_y = gradient_operators(v, frames, *_neighbours(v, f))
    return Operators(mass, lap, evals, evecs, grad_x, grad_y, frames)


def _cache_key(v: np.ndarray, f: np.ndarray | None, k_eig: int) -> str:
    h = hashlib.sha256(f"ops-v{_CACHE_VERSION}-k{k_eig}-n{len(v)}".encode())
    h.update(v.tobytes())
    h.update(b"cloud" if f is None else f.tobytes())
    return h.hexdigest()[:32]


def _sparse_arrays(name: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {f"{name}_data": m.data, f"{name}_indices": m.indices, f"{name}_indptr": m.indptr}


def _sparse(z: np.lib.npyio.NpzFile, name: str, n: int) -> sp.csr_matrix:
    return sp.csr_matrix((z[f"{name}_data"], z[f"{name}_indices"], z[f"{name}_indptr"]), shape=(n, n))


def cached_operators(vertices: np.ndarray, faces: np.ndarray | None, cache_dir: str | os.PathLike,
                     k_eig: int = 128) -> Operators:
    """`compute_operators`, stored in `cache_dir/<hash>.npz`, the hash over the exact vertex and face
    bytes, k_eig and the operator version: training epochs and repeated inference skip the eigen solve."""
    v, f = _validate(vertices, faces, k_eig)
    path = Path(cache_dir) / f"{_cache_key(v, f, k_eig)}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            n = len(z["mass"])
            return Operators(z["mass"], _sparse(z, "laplacian", n), z["evals"], z["evecs"],
                             _sparse(z, "grad_x", n), _sparse(z, "grad_y", n), z["frames"])
    ops = compute_operators(v, f, k_eig)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")  # written whole, then renamed: no torn files
    np.savez(tmp, mass=ops.mass, evals=ops.evals, evecs=ops.evecs, frames=ops.frames,
             **_sparse_arrays("laplacian", ops.laplacian), **_sparse_arrays("grad_x", ops.grad_x),
             **_sparse_arrays("grad_y", ops.grad_y))
    tmp.replace(path)
    return ops
