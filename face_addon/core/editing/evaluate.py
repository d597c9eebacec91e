"""Held-out measurements of the editing model: reconstruction error, disentanglement (leak), controller
response, and the global-PCA baseline the paper compares against (its Fig. 4)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .controllers import measure
from .edit import FaceEditor
from .layout import PART_NAMES, SEGMENT_NAMES
from .model import MM, Neo3DF


def reconstruction_error_mm(model: Neo3DF, verts_mm: torch.Tensor, batch: int = 256) -> dict[str, float]:
    """Mean per-vertex Euclidean error (mm) of each segment VAE (parts in their re-centred frame), and of the
    assembled face with offsets from the regressor ('assembled', no blending)."""
    sums = {k: 0.0 for k in (*SEGMENT_NAMES, "assembled", "offset")}
    with torch.no_grad():
        for i in range(0, len(verts_mm), batch):
            v = verts_mm[i:i + batch]
            shapes, offs = model.split(v)
            z, _ = model.encode(v)
            dec = model.decode(z)
            for k in SEGMENT_NAMES:
                sums[k] += float((dec[k] - shapes[k]).norm(dim=-1).mean(-1).sum())
            pred = model.offsets(z["rest"])
            sums["offset"] += float((pred - offs)[..., 1:].norm(dim=-1).mean(-1).sum())
            placed = model.place(dec, pred)
            full = v.clone()
            for k in SEGMENT_NAMES:
                full[:, model.layout.segments[k]] = placed[k]
            sums["assembled"] += float((full - v).norm(dim=-1).mean(-1).sum())
    return {k: round(s / len(verts_mm), 4) for k, s in sums.items()}


@dataclass
class GlobalPCA:
    """Whole-face linear model with controllers mapped the same way (M = ΔX⁺ΔZ on PCA coefficients)."""

    mean: torch.Tensor  # (n, 3) mm
    basis: torch.Tensor  # (K, n, 3)
    M: dict[str, torch.Tensor]
    sigma: dict[str, torch.Tensor]

    def edit(self, seg: str, c: torch.Tensor) -> torch.Tensor:
        """Mean face edited by controllers c of segment `seg` -> (n, 3) mm."""
        return self.mean + torch.einsum("k,knd->nd", (c * self.sigma[seg]) @ self.M[seg], self.basis)


def fit_global_pca(model: Neo3DF, sampler, alphas: np.ndarray, components: int, batch: int = 2048) -> GlobalPCA:
    """PCA of the training faces (the same FaceKit draws as the VAEs) and its controller maps.

    FaceKit is linear (V = T + Bα), so the principal directions come from the SVD of B·Cov(α)^½ (3n × K_id)
    rather than of the faces themselves, and each face's coefficients are (α − ᾱ)·Bᵀ·U."""
    a = torch.as_tensor(alphas, dtype=torch.float64)
    a_mean = a.mean(0)
    cov = torch.cov((a - a_mean).T)
    evals, evecs = torch.linalg.eigh(cov)
    root = evecs @ torch.diag(evals.clamp_min(0).sqrt()) @ evecs.T
    u, _, _ = torch.linalg.svd(sampler.basis.double() @ root, full_matrices=False)
    basis = u[:, :components]  # (3n, K)
    mean = sampler(a_mean[None].float())[0]
    coeffs = (a - a_mean) @ (sampler.basis.double().T @ basis)
    ctl = model.controllers
    M, sigma = {}, {}
    for seg in SEGMENT_NAMES:
        idx = model.layout.segments[seg]
        xs = torch.cat([measure(sampler(alphas[i:i + batch])[:, idx], ctl.pairs[seg], ctl.axes[seg])
                        for i in range(0, len(alphas), batch)]).double()
        x_bar = measure(mean[None, idx], ctl.pairs[seg], ctl.axes[seg])[0].double()
        dx = xs - x_bar
        M[seg] = (torch.linalg.pinv(dx) @ coeffs).float()
        sigma[seg] = dx.std(0).float()
    return GlobalPCA(mean, basis.T.float().reshape(components, -1, 3), M, sigma)


def leak_table(editor: FaceEditor, pca: GlobalPCA, strength: float = 3.0) -> list[dict]:
    """Per controller at ±strength σ on the mean face: largest displacement (mm) inside and outside the
    segment + transition area, for our model and the global baseline. For `rest` controllers the five parts
    may move rigidly (the offset regressor places them on the new rest), so 'outside' is measured on part
    shapes after removing each part's mean translation."""
    model, lay = editor.model, editor.model.layout
    mean_m = model.mean_face.double().numpy() / MM
    enc = editor.encode(mean_m)
    rows = []
    for j, (seg, name) in enumerate(editor.names):
        inside = lay.affected(seg)
        row = {"controller": name, "segment": seg}
        for label, fn in (("ours", lambda c: editor.apply(enc, c)),
                          ("global_baseline", lambda c: pca.edit(seg, c[_segment_slice(editor, seg)]))):
            worst_in = worst_out = 0.0
            for sign in (-1.0, 1.0):
                c = torch.zeros(len(editor.names))
                c[j] = sign * strength
                with torch.no_grad():
                    out = fn(c)
                    base = enc.verts if label == "ours" else pca.mean
                    d = out - base
                disp = d.norm(dim=-1).numpy()
                worst_in = max(worst_in, float(disp[inside].max()))
                worst_out = max(worst_out, _outside(d, seg, lay) if seg == "rest" else float(disp[~inside].max()))
            row[f"{label}_inside_mm"], row[f"{label}_leak_mm"] = round(worst_in, 4), round(worst_out, 5)
        rows.append(row)
    return rows


def _segment_slice(editor: FaceEditor, seg: str) -> slice:
    start = next(i for i, (s, _) in enumerate(editor.names) if s == seg)
    return slice(start, start + len(editor.model.controllers.names[seg]))


def _outside(d: torch.Tensor, seg: str, lay) -> float:
    """Largest part-shape change after removing each part's mean translation (for rest edits)."""
    worst = 0.0
    for k in PART_NAMES:
        dk = d[lay.segments[k]]
        worst = max(worst, float((dk - dk.mean(0)).norm(dim=-1).max()))
    return worst


def displacement_maps(editor: FaceEditor, pca: GlobalPCA, strength: float = 3.0) -> dict[str, dict[str, np.ndarray]]:
    """Per segment group, per method: per-vertex max displacement (mm) over its controllers at ±strength σ
    from the mean face (the quantity the paper's Fig. 4 heatmaps show)."""
    enc = editor.encode(editor.model.mean_face.double().numpy() / MM)
    out: dict[str, dict[str, np.ndarray]] = {}
    for seg in SEGMENT_NAMES:
        maps = {"ours": np.zeros(len(enc.verts)), "global_baseline": np.zeros(len(enc.verts))}
        for j, (s, _) in enumerate(editor.names):
            if s != seg:
                continue
            for sign in (-1.0, 1.0):
                c = torch.zeros(len(editor.names))
                c[j] = sign * strength
                with torch.no_grad():
                    ours = (editor.apply(enc, c) - enc.verts).norm(dim=-1).numpy()
                    glob = (pca.edit(seg, c[_segment_slice(editor, seg)]) - pca.mean).norm(dim=-1).numpy()
                maps["ours"] = np.maximum(maps["ours"], ours)
                maps["global_baseline"] = np.maximum(maps["global_baseline"], glob)
        out[seg] = maps
    return out


def controller_correlations(editor: FaceEditor, faces_m: np.ndarray, steps: int = 13) -> dict[str, float]:
    """Per controller: Pearson correlation between the slider (−3…+3 σ) and its measured feature on the
    edited face, averaged over the given faces."""
    model, ctl = editor.model, editor.model.controllers
    grid = torch.linspace(-3, 3, steps)
    corr: dict[str, list[float]] = {name: [] for _, name in editor.names}
    for face in faces_m:
        enc = editor.encode(face)
        for j, (seg, name) in enumerate(editor.names):
            k = ctl.names[seg].index(name)
            feats = []
            for value in grid:
                c = torch.zeros(len(editor.names))
                c[j] = value
                with torch.no_grad():
                    v = editor.apply(enc, c)
                feats.append(float(measure(v[None, model.layout.segments[seg]], ctl.pairs[seg][k:k + 1],
                                           ctl.axes[seg][k:k + 1])[0, 0]))
            corr[name].append(float(np.corrcoef(grid.numpy(), feats)[0, 1]))
    return {name: round(float(np.mean(v)), 4) for name, v in corr.items()}
