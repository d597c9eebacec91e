"""The surface photo fitting compares with 2D part masks: FaceKit's head (subdivided) plus its eyeballs.

PRDL's predicted point sets must describe the same regions as the target masks. Two things make raw vertices a
poor stand-in on FaceKit: its vertex density is far from uniform (dense around eyes and mouth), which biases
f_ave, and a photo's "eye" is the visible eyeball between the lids, which is a separate mesh in FaceKit. So a
part's point set here is the centroids of its visible triangles, each weighted by its projected area, and the
eye parts include the eyeball triangles of their side. Part triangles follow the per-triangle classes of the
synthetic label renders (`dataset.head_face_classes`). Skin and nose use template-level triangles (the
subdivision is linear, so they lie on the same surface); brows, lids and lips use the subdivided ones.

Only the rows those triangles, the landmark embedding and the photometric term touch are evaluated while
fitting (template vertices first, in template order).
"""
from __future__ import annotations

import numpy as np
import torch

from ..dataset import CLASS_IDS, head_face_classes
from .camera import CROP, project, to_camera
from .facekit_photo import PARTS, PhotoFaceKit
from ..geometry.raster import rasterize

COARSE_PARTS = ("skin", "nose")


class FitMesh:
    def __init__(self, model: PhotoFaceKit) -> None:
        fk = model.fk
        sub = fk.subdivided()
        eyes = fk.extras["eyeballs"]
        n, ns = fk.n_vertices, sub.n_vertices
        self.n_template = n
        # full mesh (label images): subdivided head + eyeballs; visibility uses the template-level head +
        # eyeballs (the same surface, 4x fewer triangles to rasterise at every refresh)
        self.full_faces = np.vstack([sub.faces, eyes.faces + ns])
        coarse_idx = np.concatenate([np.arange(n), np.arange(ns, ns + eyes.n_vertices)])
        remap = np.full(ns + eyes.n_vertices, -1)
        remap[coarse_idx] = np.arange(len(coarse_idx))
        self.coarse_idx = coarse_idx
        self.coarse_faces = remap[np.vstack([fk.faces, eyes.faces + ns])]
        side = np.where(eyes.template[eyes.faces].mean(1)[:, 0] > 0, CLASS_IDS["left_eye"], CLASS_IDS["right_eye"])
        self.full_class = np.concatenate([head_face_classes(ns, sub.faces, {p: sub.parts[p] for p in PARTS}),
                                          side.astype(np.uint8)])
        self._full = {k: np.concatenate([getattr(sub, k), getattr(eyes, k)]) for k in ("template", "id_basis",
                                                                                         "exp_basis")}
        # part triangles in full-mesh vertex indices
        tmpl_class = head_face_classes(n, fk.faces, {p: fk.parts[p] for p in PARTS})
        part_full = {}
        for p in PARTS:
            if p in COARSE_PARTS:
                part_full[p] = fk.faces[tmpl_class == CLASS_IDS[p]]
            else:
                part_full[p] = self.full_faces[self.full_class == CLASS_IDS[p]]
        used = np.unique(np.concatenate([t.ravel() for t in part_full.values()]))
        self.rows = np.concatenate([np.arange(n), used[used >= n]])
        pos = np.full(len(self._full["template"]), -1)
        pos[self.rows] = np.arange(len(self.rows))
        self.part_tris = {p: pos[t] for p, t in part_full.items()}
        self.template = torch.as_tensor(self._full["template"][self.rows], dtype=torch.float32)
        self.basis = {k: torch.as_tensor(self._full[f"{k}_basis"][self.rows].reshape(-1, self._full[f"{k}_basis"].shape[-1]),
                                         dtype=torch.float32) for k in ("id", "exp")}

    def rows_vertices(self, a_id: torch.Tensor, a_exp: torch.Tensor) -> torch.Tensor:
        """(len(rows), 3) model-space positions of the fitted rows (template vertices first)."""
        return self.template + (self.basis["id"] @ a_id + self.basis["exp"] @ a_exp).reshape(-1, 3)

    def full_vertices(self, a_id: np.ndarray, a_exp: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Vertices of the full mesh (numpy, float64), or only `rows` of it."""
        f = self._full
        sel = slice(None) if rows is None else rows
        return (f["template"][sel] + np.einsum("nck,k->nc", f["id_basis"][sel], a_id)
                + np.einsum("nck,k->nc", f["exp_basis"][sel], a_exp))

    def render(self, a_id: np.ndarray, a_exp: np.ndarray, r: torch.Tensor, t: torch.Tensor, coarse: bool = False):
        """(uv (N, 2), depth (N,), raster) of the full mesh (or its template-level version) in the crop."""
        v = self.full_vertices(a_id, a_exp, self.coarse_idx if coarse else None)
        vc = to_camera(torch.as_tensor(v), r.double(), t.double())
        uv = project(vc).numpy()
        z = vc[:, 2].numpy()
        return uv, z, rasterize(uv, z, self.coarse_faces if coarse else self.full_faces, CROP, CROP)

    def label_image(self, a_id: np.ndarray, a_exp: np.ndarray, r: torch.Tensor, t: torch.Tensor) -> np.ndarray:
        """(CROP, CROP) class ids of the reconstruction (head parts + eyes), 0 = background."""
        _, _, ras = self.render(a_id, a_exp, r, t)
        out = np.zeros((CROP, CROP), np.uint8)
        out[ras.mask] = self.full_class[ras.tri[ras.mask]]
        return out

    def visible_part_triangles(self, uv_rows: np.ndarray, z_rows: np.ndarray, ras, tolerance: float = 0.002
                               ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per part: (visible triangles (k, 3) in row indices, their projected areas (k,))."""
        out = {}
        for p, tri in self.part_tris.items():
            c = uv_rows[tri].mean(1)
            zc = z_rows[tri].mean(1)
            iu, iv = np.round(c[:, 0]).astype(int), np.round(c[:, 1]).astype(int)
            inside = (iu >= 0) & (iu < CROP) & (iv >= 0) & (iv < CROP) & (zc > 0)
            vis = np.zeros(len(tri), bool)
            vis[inside] = zc[inside] <= ras.depth[iv[inside], iu[inside]] * (1 + tolerance)
            a, b, cc = uv_rows[tri[vis, 0]], uv_rows[tri[vis, 1]], uv_rows[tri[vis, 2]]
            area = 0.5 * np.abs((b[:, 0] - a[:, 0]) * (cc[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (cc[:, 0] - a[:, 0]))
            out[p] = (tri[vis], area)
        return out


def photo_truth_labels(labels: np.ndarray) -> np.ndarray:
    """A synthetic render's class-id image in the photo part convention: eyeball pixels become the eye of their
    side (nearest of the two brow+lid regions), as a face parser labels the visible eye."""
    out = labels.copy()
    eyeball = labels == CLASS_IDS["eyeball"]
    if not eyeball.any():
        return out
    cen = {}
    for side in ("left", "right"):
        m = np.isin(labels, (CLASS_IDS[f"{side}_eye"], CLASS_IDS[f"{side}_eyebrow"]))
        if m.any():
            cen[side] = np.argwhere(m).mean(0)
    pix = np.argwhere(eyeball)
    if len(cen) == 2:
        left = ((pix - cen["left"]) ** 2).sum(1) < ((pix - cen["right"]) ** 2).sum(1)
    elif len(cen) == 1:
        left = np.full(len(pix), "left" in cen)
    else:
        return out
    out[pix[left, 0], pix[left, 1]] = CLASS_IDS["left_eye"]
    out[pix[~left, 0], pix[~left, 1]] = CLASS_IDS["right_eye"]
    return out
