"""FaceKit arranged for fitting: the identity and expression bases as one (n, 3, K) array, a prior scale and bounds
per coefficient, the vertices skin points may match, and the Laplacian the non-rigid step smooths with. Built
once per FaceKit (the bases are large and every registration of a session shares them)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..facekit import FaceKit
from ..geometry.laplacian import combinatorial_laplacian


@dataclass(frozen=True)
class FitModel:
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


def border_vertices(n: int, faces: np.ndarray) -> np.ndarray:
    """(n,) bool: vertices on an edge used by one face only (neck cut, eye and mouth openings)."""
    e = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    uniq, count = np.unique(e, axis=0, return_counts=True)
    out = np.zeros(n, bool)
    out[uniq[count == 1].ravel()] = True
    return out


_MODELS: dict[int, FitModel] = {}


def fit_model(fk: FaceKit) -> FitModel:
    """The FitModel of `fk`, built on first use and kept for the last FaceKit seen."""
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
    model = FitModel(fk, basis, sigma, lower, upper, ~border_vertices(fk.n_vertices, f), reach,
                     combinatorial_laplacian(fk.n_vertices, f))
    _MODELS.clear()
    _MODELS[id(fk)] = model
    return model
