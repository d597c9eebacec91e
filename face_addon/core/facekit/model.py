"""The FaceKit linear head model: V = T + B_id·α_id + B_exp·α_exp, in numpy and (differentiably) in torch."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..mesh import Mesh
from .annotations import IBUG_MIRROR
from .prior import sample_prior


@dataclass(frozen=True)
class LinearMesh:
    """A mesh whose vertices are a linear function of identity and expression coefficients.

    template: (n, 3) float64 metres; faces: (m, 3) int64;
    id_basis: (n, 3, K_id) float32; exp_basis: (n, 3, K_exp) float32.
    """

    template: np.ndarray
    faces: np.ndarray
    id_basis: np.ndarray
    exp_basis: np.ndarray
    name: str = "facekit"

    @property
    def n_vertices(self) -> int:
        return len(self.template)

    def evaluate(self, alpha_id: np.ndarray | None = None, alpha_exp: np.ndarray | None = None) -> np.ndarray:
        """Vertices for coefficients (K,) -> (n, 3) or batched (B, K) -> (B, n, 3); None means all zeros."""
        batched = any(a is not None and np.ndim(a) == 2 for a in (alpha_id, alpha_exp))
        out = np.broadcast_to(self.template, (1, *self.template.shape)).copy()
        for alpha, basis in ((alpha_id, self.id_basis), (alpha_exp, self.exp_basis)):
            if alpha is None:
                continue
            a = np.atleast_2d(np.asarray(alpha, np.float32))
            _check_width(a.shape[-1], basis)
            out = out + (a @ basis.reshape(-1, basis.shape[-1]).T).reshape(len(a), -1, 3)
        return out if batched else out[0]

    def evaluate_torch(self, alpha_id=None, alpha_exp=None):
        """Differentiable torch version of `evaluate`; takes/returns tensors on the coefficients' device/dtype."""
        import torch

        ref = next((a for a in (alpha_id, alpha_exp) if a is not None), None)
        dtype = ref.dtype if ref is not None else torch.float64
        device = ref.device if ref is not None else "cpu"
        batched = any(a is not None and a.dim() == 2 for a in (alpha_id, alpha_exp))
        out = torch.as_tensor(self.template, dtype=dtype, device=device)[None]
        for alpha, basis, key in ((alpha_id, self.id_basis, "id"), (alpha_exp, self.exp_basis, "exp")):
            if alpha is None:
                continue
            _check_width(alpha.shape[-1], basis)
            b = self._torch_basis(key, basis, dtype, device)
            a = alpha if alpha.dim() == 2 else alpha[None]
            out = out + (a @ b.T).reshape(a.shape[0], -1, 3)
        return out if batched else out[0]

    def _torch_basis(self, key: str, basis: np.ndarray, dtype, device):
        """Basis as an (n*3, K) tensor, cached per dtype/device: conversion dominates small-batch cost."""
        import torch

        cache = self.__dict__.setdefault("_torch_cache", {})
        k = (key, dtype, str(device))
        if k not in cache:
            cache[k] = torch.as_tensor(basis.reshape(-1, basis.shape[-1]), dtype=dtype, device=device)
        return cache[k]

    def to_mesh(self, vertices: np.ndarray | None = None) -> Mesh:
        """A `Mesh` with this topology and the given (n, 3) vertices (template when None)."""
        return Mesh(self.template if vertices is None else vertices, self.faces, name=self.name)


def _check_width(k: int, basis: np.ndarray) -> None:
    if k != basis.shape[-1]:
        raise ValueError(f"expected {basis.shape[-1]} coefficients, got {k}")


@dataclass(frozen=True)
class FaceKit(LinearMesh):
    """The FaceKit head (+neck) model with its names, annotations, prior and extra meshes.

    id_names / exp_names: coefficient names (exp_names are the 52 ARKit blendshape names).
    landmark_indices: (68,) iBUG-68 template vertices (nearest to the surface landmarks). landmark_triangle /
    landmark_bary: (68, 3) the landmarks as surface points (triangle vertices, barycentric weights) in the human
    convention (docs/facekit.md); `landmarks()` uses them when present. parts: 3DDFA-V3 part -> vertex indices.
    segments: NEO-3DF segment -> vertex indices (rest overlaps each part by one ring).
    spa: facial-skin vertices for registration error. mirror: (n,) index of each vertex's x -> -x image.
    extras: eyeballs, teeth, tongue, eyelashes as `LinearMesh`es driven by the same coefficients.
    """

    id_names: list[str] = field(default_factory=list)
    exp_names: list[str] = field(default_factory=list)
    landmark_indices: np.ndarray = field(default_factory=lambda: np.zeros(68, np.int64))
    landmark_triangle: np.ndarray | None = None
    landmark_bary: np.ndarray | None = None
    parts: dict[str, np.ndarray] = field(default_factory=dict)
    segments: dict[str, np.ndarray] = field(default_factory=dict)
    spa: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    mirror: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    extras: dict[str, LinearMesh] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)

    @property
    def n_identity(self) -> int:
        return len(self.id_names)

    @property
    def n_expression(self) -> int:
        return len(self.exp_names)

    @property
    def landmark_mirror(self) -> np.ndarray:
        """iBUG index of each landmark's mirror image (0 <-> 16, 36 <-> 45 ...)."""
        return IBUG_MIRROR

    def landmarks(self, vertices: np.ndarray) -> np.ndarray:
        """(n, 3) -> (68, 3), or batched (B, n, 3) -> (B, 68, 3); works for numpy arrays and torch tensors."""
        if self.landmark_triangle is None:
            return vertices[..., self.landmark_indices, :]
        w = self.landmark_bary
        if not isinstance(vertices, np.ndarray):
            import torch

            w = torch.as_tensor(w, dtype=vertices.dtype, device=vertices.device)
        return (vertices[..., self.landmark_triangle, :] * w[:, :, None]).sum(-2)

    def sample_prior(self, rng: np.random.Generator, n: int = 1, ages: str = "adult") -> tuple[np.ndarray, np.ndarray]:
        """(alpha_id (n, K_id), alpha_exp (n, K_exp)) from the documented prior (see `prior.sample_prior`)."""
        return sample_prior(self.id_names, self.exp_names, rng, n, ages)

    def subdivided(self) -> "FaceKit":
        """One level of midpoint subdivision (each triangle -> 4). Original vertices keep their indices; a new
        edge vertex is the mean of its edge's ends in the template and in every basis, so the model stays
        linear and exact; annotations carry over (an edge vertex joins a region when both ends are in it)."""
        edges = np.sort(np.concatenate([self.faces[:, [0, 1]], self.faces[:, [1, 2]], self.faces[:, [2, 0]]]), 1)
        uniq, inv = np.unique(edges, axis=0, return_inverse=True)
        inv = inv.reshape(3, -1).T + self.n_vertices  # new vertex of edges (01, 12, 20) per face
        a, b, c = self.faces.T
        ab, bc, ca = inv.T
        faces = np.concatenate([np.stack(t, 1) for t in ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))])
        mid = lambda x: np.concatenate([x, 0.5 * (x[uniq[:, 0]] + x[uniq[:, 1]])]).astype(x.dtype)  # noqa: E731
        lookup = {tuple(e): i + self.n_vertices for i, e in enumerate(uniq.tolist())}
        mirror_edges = np.sort(self.mirror[uniq], 1)
        mirror = np.concatenate([self.mirror, [lookup[tuple(e)] for e in mirror_edges.tolist()]]).astype(np.int64)

        def grow(idx: np.ndarray) -> np.ndarray:
            inside = np.isin(uniq, idx).all(1)
            return np.concatenate([idx, np.flatnonzero(inside) + self.n_vertices]).astype(np.int64)

        return FaceKit(
            template=mid(self.template), faces=faces.astype(np.int64), id_basis=mid(self.id_basis),
            exp_basis=mid(self.exp_basis), name=f"{self.name}_subdivided", id_names=self.id_names,
            exp_names=self.exp_names, landmark_indices=self.landmark_indices,
            landmark_triangle=self.landmark_triangle, landmark_bary=self.landmark_bary, parts={k: grow(v) for k, v in self.parts.items()},
            segments={k: grow(v) for k, v in self.segments.items()}, spa=grow(self.spa), mirror=mirror,
            extras=self.extras, source=self.source)


def read_facekit(path: Path) -> FaceKit:
    """Load a compiled facekit.npz (no pickle)."""
    with np.load(path, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    n = int(d["n_template"])
    verts = d["vertices"].astype(np.float64)
    ann = lambda prefix: {k[len(prefix):]: d[k] for k in sorted(d) if k.startswith(prefix)}  # noqa: E731
    extras = {}
    for name, rng in ann("extra/").items():
        if not name.endswith("/range"):
            continue
        name = name[: -len("/range")]
        lo, hi = (int(x) for x in rng)
        extras[name] = LinearMesh(verts[lo:hi], d[f"extra/{name}/faces"] - lo, d["id_basis"][lo:hi],
                                  d["exp_basis"][lo:hi], name=name)
    return FaceKit(
        template=verts[:n], faces=d["faces"], id_basis=d["id_basis"][:n], exp_basis=d["exp_basis"][:n],
        id_names=[str(s) for s in d["id_names"]], exp_names=[str(s) for s in d["exp_names"]],
        landmark_indices=d["annotation/landmarks"], landmark_triangle=d.get("annotation/landmark_triangle"),
        landmark_bary=d.get("annotation/landmark_bary"), parts=ann("annotation/part/"),
        segments=ann("annotation/segment/"), spa=d["annotation/spa"], mirror=d["mirror"], extras=extras,
        source={"wheel_sha256": str(d["wheel_sha256"]), "compiler_version": str(int(d["compiler_version"]))})
