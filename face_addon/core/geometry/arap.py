"""Differentiable As-Rigid-As-Possible deformation in torch, factorised once per topology (NEO-3DF Alg. 1).

The paper's formulation: with the combinatorial Laplacian L (topology only) and a 0/1 constraint selector C,
the system A = [[LᵀL, Cᵀ], [C, 0]] is factorised once; each iteration solves A·W = R for new positions P',
with R = [Lᵀb; H]. The first iteration uses b = L·P (Laplacian editing); later ones estimate per-vertex
rotations R_i from P and P' (Sorkine & Alexa 2007) and b_i = Σ_j ½(R_i + R_j)(p_i − p_j). Gradients flow
through the rotations (SVD) and the solves (the adjoint of a solve with A is a solve with Aᵀ), so losses on P'
reach P and the constraint positions H.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import splu

from .laplacian import combinatorial_laplacian, unique_edges


class _Solve(torch.autograd.Function):
    """x = A⁻¹ r with a prefactorised sparse LU; backward solves with Aᵀ."""

    @staticmethod
    def forward(ctx, rhs: torch.Tensor, lu) -> torch.Tensor:
        ctx.lu = lu
        x = lu.solve(rhs.detach().cpu().double().numpy())
        return torch.from_numpy(x).to(rhs)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        g = ctx.lu.solve(grad.detach().cpu().double().numpy(), trans="T")
        return torch.from_numpy(g).to(grad), None


class ARAP:
    """ARAP on a fixed mesh graph with fixed constrained vertices.

    n: vertex count; faces (m, 3); constrained: vertex indices whose positions are given (H). Components of
    the mesh graph without any constrained vertex are constrained entirely (they would otherwise float).
    """

    def __init__(self, n: int, faces: np.ndarray, constrained: np.ndarray, iterations: int = 3) -> None:
        if iterations < 1:
            raise ValueError("ARAP needs at least one iteration")
        lap = combinatorial_laplacian(n, faces)
        _, comp = connected_components(lap != 0, directed=False)
        constrained = np.unique(np.asarray(constrained, np.int64))
        free_comps = np.setdiff1d(np.unique(comp), comp[constrained])
        self.extra = np.flatnonzero(np.isin(comp, free_comps))  # floating pieces: held where they are
        self.constrained = np.unique(np.concatenate([constrained, self.extra]))
        self.n, self.iterations = n, iterations
        nc = len(self.constrained)
        c = sp.coo_matrix((np.ones(nc), (np.arange(nc), self.constrained)), shape=(nc, n))
        a = sp.bmat([[lap.T @ lap, c.T], [c, None]], format="csc")
        self.lu = splu(a)
        coo = lap.tocoo()
        self.lap = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data, coo.shape,
                                           dtype=torch.float64, check_invariants=True).coalesce()
        e = unique_edges(faces)
        self.src = torch.as_tensor(np.concatenate([e[:, 0], e[:, 1]]))  # directed edges i -> j
        self.dst = torch.as_tensor(np.concatenate([e[:, 1], e[:, 0]]))

    def _rotations(self, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        """Per-vertex best rotations (B, n, 3, 3) taking rest edges of p onto deformed edges of q."""
        ep = p[:, self.src] - p[:, self.dst]
        eq = q[:, self.src] - q[:, self.dst]
        cov = torch.zeros(p.shape[0], self.n, 3, 3, dtype=p.dtype)
        cov = cov.index_add(1, self.src, ep[..., :, None] * eq[..., None, :])
        u, _, vh = torch.linalg.svd(cov)
        r = vh.transpose(-1, -2) @ u.transpose(-1, -2)
        flip = torch.ones_like(r[..., 0, :])
        flip[..., 2] = torch.sign(torch.linalg.det(r))
        return (vh.transpose(-1, -2) * flip[..., None, :]) @ u.transpose(-1, -2)

    def _lap(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        return torch.sparse.mm(self.lap, x.permute(1, 0, 2).reshape(self.n, -1)).reshape(self.n, b, 3).permute(1, 0, 2)

    def __call__(self, rest: torch.Tensor, handles: torch.Tensor) -> torch.Tensor:
        """rest (B, n, 3) or (n, 3): shape whose local detail is kept; handles (B, nc, 3): positions of
        `self.constrained` in that order. Returns deformed (B, n, 3) (or (n, 3)), float64 inside."""
        single = rest.dim() == 2
        p = (rest[None] if single else rest).double()
        h = (handles[None] if single else handles).double()
        if h.shape[1] != len(self.constrained):
            raise ValueError(f"expected {len(self.constrained)} handle positions, got {h.shape[1]}")
        b = self._lap(p)
        q = p
        for it in range(self.iterations):
            if it > 0:
                rot = self._rotations(p, q)
                e = p[:, self.src] - p[:, self.dst]
                contrib = 0.5 * ((rot[:, self.src] + rot[:, self.dst]) @ e[..., None])[..., 0]
                b = torch.zeros_like(p).index_add(1, self.src, contrib)
            rhs = torch.cat([self._lap(b), h], 1)  # L is symmetric: Lᵀb = L b
            bs = rhs.shape[0]
            w = _Solve.apply(rhs.permute(1, 0, 2).reshape(rhs.shape[1], -1), self.lu)
            q = w.reshape(-1, bs, 3).permute(1, 0, 2)[:, : self.n]
        out = q.to(rest.dtype)
        return out[0] if single else out
