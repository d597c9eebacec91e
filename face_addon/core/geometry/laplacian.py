"""Mesh Laplacians as scipy sparse matrices (positive semi-definite convention L = D - W).

Two kinds, for two jobs: the cotangent Laplacian depends on the geometry and measures surface smoothness
(NEO-3DF's VAE loss); the combinatorial (graph) Laplacian depends on the topology only, so a system built
from it can be factorised once and reused for every face with that topology (NEO-3DF's ARAP blending).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def unique_edges(faces: np.ndarray) -> np.ndarray:
    """(e, 2) sorted vertex pairs of the triangle edges, each once."""
    f = np.asarray(faces, np.int64)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    return np.unique(np.sort(e, axis=1), axis=0)


def adjacency(n: int, faces: np.ndarray) -> sp.csr_matrix:
    """Symmetric 0/1 vertex adjacency (n, n) of a triangle mesh."""
    i, j = unique_edges(faces).T
    a = sp.coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    return (a + a.T).tocsr()


def combinatorial_laplacian(n: int, faces: np.ndarray) -> sp.csr_matrix:
    """L = D - A with A the 0/1 adjacency: row i is deg(i)·v_i - sum of its neighbours."""
    a = adjacency(n, faces)
    return (sp.diags(np.asarray(a.sum(1)).ravel()) - a).tocsr()


def cotangent_laplacian(vertices: np.ndarray, faces: np.ndarray) -> sp.csr_matrix:
    """L = D - W with W_ij = (cot a_ij + cot b_ij) / 2 over the angles opposite edge ij.

    Cotangents of (near-)degenerate triangles are clipped to ±1e3 so one sliver cannot dominate a loss.
    """
    v, f = np.asarray(vertices, np.float64), np.asarray(faces, np.int64)
    n = len(v)
    rows, cols, vals = [], [], []
    for k in range(3):  # angle at corner k is opposite edge (k+1, k+2)
        i, j, o = f[:, (k + 1) % 3], f[:, (k + 2) % 3], f[:, k]
        a, b = v[i] - v[o], v[j] - v[o]
        cot = np.einsum("ij,ij->i", a, b) / np.maximum(np.linalg.norm(np.cross(a, b), axis=1), 1e-12)
        cot = np.clip(cot, -1e3, 1e3) / 2
        rows += [i, j]
        cols += [j, i]
        vals += [cot, cot]
    w = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)).tocsr()
    return (sp.diags(np.asarray(w.sum(1)).ravel()) - w).tocsr()


def submesh_faces(faces: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Faces whose three corners are all in `keep` (sorted vertex indices), re-indexed into `keep`.

    Returns (faces (m', 3), keep) so callers can map back with keep[local_index].
    """
    keep = np.asarray(keep, np.int64)
    local = np.full(int(max(faces.max(), keep.max())) + 1, -1, np.int64)
    local[keep] = np.arange(len(keep))
    sub = local[faces]
    return sub[(sub >= 0).all(1)], keep
