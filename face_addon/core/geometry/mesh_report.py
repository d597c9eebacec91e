"""A quick health report of a mesh, so users learn about scan problems before a long pipeline runs."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..mesh import Mesh, guess_unit_scale

UNIT_NAMES = {1.0: "metres", 0.1: "decimetres", 0.01: "centimetres", 0.001: "millimetres"}


@dataclass(frozen=True)
class MeshReport:
    n_vertices: int
    n_faces: int
    n_components: int
    boundary_edges: int
    non_manifold_edges: int
    degenerate_faces: int
    unreferenced_vertices: int
    extent: float
    unit_scale: float

    @property
    def unit_name(self) -> str:
        return UNIT_NAMES[self.unit_scale]

    def lines(self) -> list[str]:
        """Human-readable findings, one per line, problems only after the summary."""
        out = [f"{self.n_vertices:,} vertices, {self.n_faces:,} triangles, {self.n_components} part(s), "
               f"size {self.extent:.3g} (looks like {self.unit_name})"]
        if self.unit_scale != 1.0:
            out.append(f"units: a head this size is in {self.unit_name}; results are computed in metres "
                       f"(scale {self.unit_scale:g}) and written back in the object's units")
        if self.n_components > 1:
            out.append(f"{self.n_components} loose parts")
        if self.non_manifold_edges:
            out.append(f"{self.non_manifold_edges} non-manifold edges (shared by 3+ faces)")
        if self.boundary_edges:
            out.append(f"{self.boundary_edges} boundary edges (holes or open borders)")
        if self.degenerate_faces:
            out.append(f"{self.degenerate_faces} zero-area faces")
        if self.unreferenced_vertices:
            out.append(f"{self.unreferenced_vertices} vertices not used by any face")
        return out


def inspect_mesh(mesh: Mesh) -> MeshReport:
    """Count components, open/non-manifold edges, degenerate faces and guess units. Validates first."""
    mesh.validate(allow_point_cloud=True)
    n, f = mesh.n_vertices, mesh.faces
    boundary = non_manifold = degenerate = 0
    if len(f):
        edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
        _, counts = np.unique(edges, axis=0, return_counts=True)
        boundary = int((counts == 1).sum())
        non_manifold = int((counts > 2).sum())
        v = mesh.vertices[f]
        area2 = np.linalg.norm(np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]), axis=1)
        degenerate = int((area2 <= 1e-12 * max(mesh.extent(), 1e-12) ** 2).sum())
        graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
        used = np.zeros(n, bool)
        used[f.ravel()] = True
        _, labels = connected_components(graph, directed=False)
        components = len(np.unique(labels[used]))
    else:
        used = np.zeros(n, bool)
        components = 0
    return MeshReport(
        n_vertices=n,
        n_faces=len(f),
        n_components=components,
        boundary_edges=boundary,
        non_manifold_edges=non_manifold,
        degenerate_faces=degenerate,
        unreferenced_vertices=int((~used).sum()) if len(f) else 0,
        extent=mesh.extent(),
        unit_scale=guess_unit_scale(mesh),
    )
