"""Per-photo FaceKit fitting (3DDFA-V3 §3.4): landmark + PRDL + photometric (SH) + regularisation terms with
the paper's balance weights, coarse-to-fine (pose from landmarks first, then everything), in the fixed camera
of `camera.py`.

    L = λ_prdl·L_prdl + λ_lmk·L_lmk + λ_pho·L_pho + λ_reg·L_reg
    λ_prdl = 0.8e-3, λ_lmk = 1.6e-3, λ_pho = 1.9, λ_reg = 3e-4       (paper, Eqn. 7)

except λ_lmk = 0.16 (100× the paper's): with the paper's balance the photometric and PRDL terms pulled the
fit 4.4 % of the eye distance off its own 468 input points on real (London) photos, and its 68 landmarks to
6.8 % NME against 2.1 % for the detector; at 100× the fit follows its input to about 1 % (chosen on London
people 001-008 only). Per-point weights (`landmark_weights`) favour the points the human-convention landmarks
are made of.

L_lmk and L_prdl are in squared crop pixels, averaged over landmarks / anchors. The perceptual term
(λ_per = 0.2) needs a face-recognition network that is not available offline and is left out. The
regulariser follows Deep3D (weights 1 / 0.8 / 1.7e-2 for identity / expression / albedo) on coefficients
divided by their prior standard deviation. The MediaPipe face-oval landmarks are silhouette points that slide
over the 3D surface with pose; they get weight 0 (the skin part's PRDL carries the contour instead of the
paper's landmark marching).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .camera import CENTER_PX, CROP, FOCAL_PX, project, to_camera
from .facekit_photo import PhotoFaceKit
from .fit_mesh import FitMesh
from .prdl import grid_anchors, prdl, target_descriptors
from .shading import init_sh, shade, vertex_normals

LAMBDA = {"prdl": 0.8e-3, "lmk": 0.16, "pho": 1.9, "reg": 3e-4}
REG_WEIGHTS = {"id": 1.0, "exp": 0.8, "albedo": 1.7e-2}
SKIN_ALBEDO = (0.75, 0.55, 0.45)
HUMAN_BOOST = 4.0


def landmark_weights(model: PhotoFaceKit) -> np.ndarray:
    """(468,) weight of each MediaPipe point in the landmark term: the embedding's weight (0 for the sliding
    face oval and points the detector places inconsistently), raised by HUMAN_BOOST × the point's share in the
    human-convention 68 landmarks (`ibug_map`), so the points people annotate are matched most closely."""
    from .ibug_map import N_MEDIAPIPE, load_weights

    base = np.asarray(model.embedding.get("weight", np.ones(468)), np.float64)
    if len(base) != N_MEDIAPIPE:  # another point set (tests embed 68 points): no human-convention share
        return base
    share = np.abs(load_weights()[17:]).sum(0)  # the jaw outline is a silhouette: not boosted
    return base * (1.0 + HUMAN_BOOST * share / share.max())


@dataclass
class FitParams:
    """Fitting variables: prior-normalised coefficients, pose (axis-angle), translation (m), SH, albedo."""

    id_n: torch.Tensor
    exp_n: torch.Tensor
    r: torch.Tensor
    t: torch.Tensor
    sh: torch.Tensor = field(default_factory=init_sh)
    albedo: torch.Tensor = field(default_factory=lambda: torch.zeros(9))

    def tensors(self) -> list[torch.Tensor]:
        return [self.id_n, self.exp_n, self.r, self.t, self.sh, self.albedo]

    def detach(self) -> "FitParams":
        return FitParams(*[x.detach().clone() for x in self.tensors()])


@dataclass
class FitTarget:
    """What one photo offers, in crop pixels: MediaPipe landmarks (468, 2), part masks, the crop image."""

    landmarks: np.ndarray | None = None
    masks: dict[str, np.ndarray] | None = None
    image: np.ndarray | None = None  # (CROP, CROP, 3) sRGB in [0, 1]
    landmark_weight: np.ndarray | None = None  # (468,)


@dataclass
class FitResult:
    params: FitParams
    alpha_id: np.ndarray
    alpha_exp: np.ndarray
    vertices: np.ndarray  # (n, 3) model space, template topology
    camera_vertices: np.ndarray  # (n, 3) camera space (OpenCV, metres)
    history: list[dict]
    seconds: float


@dataclass
class FitConfig:
    """Three stages: pose from landmarks; everything from landmarks + photo; then PRDL joins with small steps
    (PRDL's arg-min/arg-max gradients are sparse and jumpy, so it refines rather than leads)."""

    use_prdl: bool = True
    use_photo: bool = True
    free_exp: bool = True  # False: the expression stays at its initial value (identity and pose refit)
    free_id: bool = True  # False: the identity stays at its initial value (`reconstruct_photo.joint_config`)
    landmark_lambda: float = LAMBDA["lmk"]
    coarse_iters: int = 30
    mid_iters: int = 50
    fine_iters: int = 40
    visibility_every: int = 15
    lr: dict = field(default_factory=lambda: {"id": 0.03, "exp": 0.03, "r": 0.01, "t": 0.003, "sh": 0.02,
                                                "albedo": 0.02})
    fine_lr: dict = field(default_factory=lambda: {"id": 0.003, "exp": 0.003, "r": 0.0003, "t": 0.0001,
                                                     "sh": 0.01, "albedo": 0.01})


class Fitter:
    """Holds FaceKit's fitting surface (`FitMesh`) as torch tensors; `fit` is per photo."""

    def __init__(self, model: PhotoFaceKit) -> None:
        self.model = model
        self.mesh = FitMesh(model)
        self.n_template = model.fk.n_vertices
        self.faces = torch.as_tensor(model.fk.faces)
        self.anchors = grid_anchors()
        self.id_mean = torch.as_tensor(model.id_mean, dtype=torch.float32)
        self.id_std = torch.as_tensor(model.id_std, dtype=torch.float32)
        self.exp_mean = torch.as_tensor(model.exp_mean, dtype=torch.float32)
        self.exp_std = torch.as_tensor(model.exp_std, dtype=torch.float32)
        region = np.zeros(self.n_template, np.int64)
        for k, names in enumerate((("up_lip", "down_lip"), ("left_eyebrow", "right_eyebrow")), start=1):
            for name in names:
                region[model.fk.parts[name]] = k
        self.albedo_region = torch.as_tensor(region)
        self.photo_idx = np.unique(np.concatenate([model.fk.parts[p] for p in ("skin", "nose", "up_lip", "down_lip")]))
        self.landmark_weight = landmark_weights(model)
        self._cut = None
        self._face_mask = None

    # -- model ---------------------------------------------------------------------------------------------
    def coefficients(self, p: FitParams) -> tuple[torch.Tensor, torch.Tensor]:
        return self.id_mean + p.id_n * self.id_std, self.exp_mean + p.exp_n * self.exp_std

    def vertices(self, p: FitParams) -> torch.Tensor:
        """The fitted rows (template vertices first, then the small parts' and the eyeballs' vertices)."""
        return self.mesh.rows_vertices(*self.coefficients(p))

    def label_image(self, p: FitParams) -> np.ndarray:
        """The reconstruction's part classes in the crop (for Part IoU)."""
        a_id, a_exp = (x.detach().double().numpy() for x in self.coefficients(p))
        return self.mesh.label_image(a_id, a_exp, p.r.detach(), p.t.detach())

    def albedo(self, p: FitParams) -> torch.Tensor:
        base = torch.tensor(SKIN_ALBEDO) + p.albedo[:3]
        per_region = base[None] + torch.cat([torch.zeros(1, 3), p.albedo[3:].reshape(2, 3)])
        return per_region[self.albedo_region]  # 0 skin, 1 lips, 2 brows

    def initial(self, target: FitTarget) -> FitParams:
        """Mean face, frontal, placed from the landmarks' centroid and spread (or the crop centre)."""
        t = torch.tensor([0.0, 0.0, 0.6])
        if target.landmarks is not None:
            lm = np.asarray(target.landmarks, np.float64)[:, :2]
            spread = np.linalg.norm(lm - lm.mean(0), axis=1).mean()
            z = FOCAL_PX * 0.045 / max(spread, 1.0)  # mean MediaPipe point is ~45 mm from the centroid
            c = lm.mean(0)
            t = torch.tensor([(c[0] - CENTER_PX) * z / FOCAL_PX, (c[1] - CENTER_PX) * z / FOCAL_PX, z])
        return FitParams(torch.zeros(len(self.id_mean)), -self.exp_mean / self.exp_std, torch.zeros(3),
                         t.float())

    # -- fitting -------------------------------------------------------------------------------------------
    def fit(self, target: FitTarget, init: FitParams | None = None, cfg: FitConfig | None = None) -> FitResult:
        """Fit one photo. Runs single-threaded: its tensors are small, and extra threads only add
        synchronisation (3x slower with 2 threads on a busy 2-core machine)."""
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._fit(target, init, cfg or FitConfig())
        finally:
            torch.set_num_threads(threads)

    def _fit(self, target: FitTarget, init: FitParams | None, cfg: FitConfig) -> FitResult:
        t0 = time.perf_counter()
        p = (init or self.initial(target)).detach()
        self._clamp(p)  # a regressor may predict outside the valid range; the result must not
        lm_t = lm_w = None
        if target.landmarks is not None and self.model.embedding:
            lm_t = torch.as_tensor(np.asarray(target.landmarks)[:, :2], dtype=torch.float32)
            w = target.landmark_weight if target.landmark_weight is not None else self.landmark_weight
            lm_w = torch.as_tensor(w, dtype=torch.float32)
        masks = self._cut_forehead(target.masks) if (cfg.use_prdl and target.masks) else None
        tdesc = target_descriptors(masks, self.anchors) if masks else {}
        if not tdesc and lm_t is None and (not cfg.use_photo or target.image is None):
            raise ValueError("nothing to fit: no landmarks, part masks or image")
        img = None
        self._face_mask = None
        if cfg.use_photo and target.image is not None:
            img = torch.as_tensor(np.ascontiguousarray(target.image[..., :3]), dtype=torch.float32).permute(2, 0, 1)[None]
            if target.masks:
                self._face_mask = np.any(np.stack(list(target.masks.values())), 0)
        history: list[dict] = []
        names = ("id", "exp", "r", "t", "sh", "albedo")
        stages = [("coarse", cfg.coarse_iters, ("r", "t"), cfg.lr), ("mid", cfg.mid_iters, names, cfg.lr),
                  ("fine", cfg.fine_iters, names, cfg.fine_lr)]
        for stage, iters, free, lr in stages:
            full = stage != "coarse"
            free = tuple(n for n in free if (cfg.free_exp or n != "exp") and (cfg.free_id or n != "id"))
            if iters <= 0 or (stage == "coarse" and lm_t is None):
                continue
            tensors = dict(zip(names, p.tensors()))
            for n in names:
                tensors[n].requires_grad_(n in free)
            opt = torch.optim.Adam([{"params": [tensors[n]], "lr": lr[n]} for n in free])
            parts = vis = None
            for it in range(iters):
                v = self.vertices(p)
                vc = to_camera(v, p.r, p.t)
                uv = project(vc)
                if it % cfg.visibility_every == 0:
                    parts, vis = self._refresh(p, uv.detach().numpy(), vc[:, 2].detach().numpy())
                terms = {}
                if lm_t is not None:
                    pl = project(to_camera(self.model.embedded_points(v[:self.n_template]), p.r, p.t))
                    terms["lmk"] = (lm_w * ((pl - lm_t) ** 2).sum(1)).sum() / lm_w.sum()
                if tdesc and (stage == "fine" or (stage == "mid" and lm_t is None)):  # masks alone: PRDL leads
                    pred = {k: (uv[tri].mean(1), torch.as_tensor(area)) for k, (tri, area) in parts.items()}
                    terms["prdl"] = prdl(pred, tdesc, self.anchors, {k: 1.0 for k in tdesc})
                if full and img is not None:
                    terms["pho"] = self._photometric(p, vc, uv, vis, img)
                if full:
                    terms["reg"] = (REG_WEIGHTS["id"] * (p.id_n ** 2).sum() + REG_WEIGHTS["exp"] * (p.exp_n ** 2).sum()
                                    + REG_WEIGHTS["albedo"] * (p.albedo ** 2).sum())
                if not terms:
                    break
                loss = sum((cfg.landmark_lambda if k == "lmk" else LAMBDA[k]) * val for k, val in terms.items())
                opt.zero_grad()
                loss.backward()
                opt.step()
                self._clamp(p)
                if it % 10 == 0 or it == iters - 1:
                    history.append({"stage": stage, "iter": it, "loss": float(loss.detach()),
                                    **{k: float(val.detach()) for k, val in terms.items()}})
        p = p.detach()
        with torch.no_grad():
            v = self.vertices(p)[:self.n_template]
            vc = to_camera(v, p.r, p.t)
            a_id, a_exp = self.coefficients(p)
            a_id, a_exp = a_id.clamp(-1, 1), a_exp.clamp(0, 1)  # float32 rounding of the clamped values
        return FitResult(p, a_id.numpy(), a_exp.numpy(), v.numpy().astype(np.float64),
                         vc.numpy().astype(np.float64), history, time.perf_counter() - t0)

    def _clamp(self, p: FitParams) -> None:
        """Coefficients stay inside the model's valid range (identity ±1, expressions 0..1)."""
        with torch.no_grad():
            lo, hi = (-1 - self.id_mean) / self.id_std, (1 - self.id_mean) / self.id_std
            p.id_n.copy_(torch.maximum(torch.minimum(p.id_n, hi), lo))
            lo, hi = -self.exp_mean / self.exp_std, (1 - self.exp_mean) / self.exp_std
            p.exp_n.copy_(torch.maximum(torch.minimum(p.exp_n, hi), lo))

    # -- terms ---------------------------------------------------------------------------------------------
    def _refresh(self, p: FitParams, uv_rows: np.ndarray, z_rows: np.ndarray):
        """Visible part triangles (skin cut at the forehead like the target) and visible template vertices."""
        a_id, a_exp = (x.detach().double().numpy() for x in self.coefficients(p))
        uv, z, ras = self.mesh.render(a_id, a_exp, p.r.detach(), p.t.detach(), coarse=True)
        parts = self.mesh.visible_part_triangles(uv_rows, z_rows, ras)
        if self._cut is not None:
            tri, area = parts["skin"]
            keep = self._below_cut(uv_rows[tri].mean(1))
            parts["skin"] = (tri[keep], area[keep])
        n = self.n_template
        iu = np.clip(np.round(uv_rows[:n, 0]).astype(int), 0, CROP - 1)
        iv = np.clip(np.round(uv_rows[:n, 1]).astype(int), 0, CROP - 1)
        vis = z_rows[:n] <= ras.depth[iv, iu] * 1.002
        return parts, vis

    def _cut_forehead(self, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Dynamic forehead cut (3DDFA-V3 supplement): skin above a line half the eye→brow distance over the
        brows is dropped from the target, and later from the prediction, so hairlines do not matter."""
        self._cut = None
        cen = {k: np.argwhere(masks[k])[:, ::-1].mean(0) for k in ("left_eye", "right_eye", "left_eyebrow",
                                                                    "right_eyebrow") if masks.get(k) is not None
               and masks[k].any()}
        if len(cen) < 4:
            return masks
        eye_mid = (cen["left_eye"] + cen["right_eye"]) / 2
        up = (cen["left_eyebrow"] + cen["right_eyebrow"]) / 2 - eye_mid
        dist = np.linalg.norm(up)
        if dist < 1:
            return masks
        up /= dist
        brows = np.argwhere(masks["left_eyebrow"] | masks["right_eyebrow"])[:, ::-1]
        self._cut = (eye_mid, up, ((brows - eye_mid) @ up).max() + 0.5 * dist)
        yy, xx = np.mgrid[:CROP, :CROP]
        return {**masks, "skin": masks["skin"] & self._below_cut(np.stack([xx, yy], -1))}

    def _below_cut(self, uv: np.ndarray) -> np.ndarray:
        eye_mid, up, top = self._cut
        return (uv - eye_mid) @ up <= top

    def _photometric(self, p: FitParams, vc: torch.Tensor, uv: torch.Tensor, vis: np.ndarray,
                     img: torch.Tensor) -> torch.Tensor:
        """Mean ‖I(π(v)) − albedo·SH(n)‖₂ over visible face vertices that land on the photo's face region."""
        idx = self.photo_idx[vis[self.photo_idx]]
        if self._face_mask is not None and len(idx):
            q = np.clip(np.round(uv[idx].detach().numpy()).astype(int), 0, CROP - 1)
            idx = idx[self._face_mask[q[:, 1], q[:, 0]]]
        if len(idx) == 0:
            return vc.new_zeros(())
        it = torch.as_tensor(idx)
        grid = (uv[it] / (CROP - 1) * 2 - 1)[None, None]
        observed = torch.nn.functional.grid_sample(img, grid, align_corners=True)[0, :, 0].T
        normals = -vertex_normals(vc[:self.n_template], self.faces)[it]  # towards the camera: lit faces respond
        pred = shade(self.albedo(p)[it], normals, p.sh)
        return (observed - pred).norm(dim=1).mean()
