"""Segment Skin's image branch: per-pixel features of the views, lifted onto the scan (Pixels2Points §2.1).

    views = SkinViews(images, cameras)            # renders of the scan (blender/scan_views.py) or the user's photos
    enc = load_image_encoder(IMAGE_WEIGHTS)
    feats, skin2d = encode_views(enc, views)      # (V, F, H, W) features, (V, H, W) 2D skin probability
    mu, var, skin, seen = lift_rigs(vertices, faces, feats, skin2d, views)

`skin2d` is the encoder's own per-pixel skin decision (sum of the probabilities of the head-surface classes);
projected onto the scan and fused over the views it is the 2D-only baseline of the paper's Table 1.

Rendered views come from the 13-view rig turned four ways (`skin_rig`, RIG_TURNS: twice by a few degrees, once to
look at the back of the head), each rig lifted on its own and the lifts averaged: with one rig, the ~1.3° by which
the face frame of a turned copy differs moved 1.3 % of Lee Perry-Smith's vertices across the threshold
(docs/skin.md, round 7).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..capabilities import MODELS_DIR
from ..dataset import HEAD_CLASSES
from ..geometry.multiview import ViewCamera, lift_features, scan_rig
from ..mesh import Mesh, guess_unit_scale
from ..weights import cached_per_file_version, load_weights

IMAGE_WEIGHTS = MODELS_DIR / "skin_image.pt"
IMAGE_WEIGHTS_KIND = "skin_image_encoder"
IMAGE_WEIGHTS_VERSIONS = (1,)


#: side of the renders the encoder learned on (px): larger photos are shrunk to it (the U-Net's receptive field
#: is about a face's width at this size)
VIEW_SIZE = 160
#: the renders' flat background (sRGB 63/255 = linear 0.05): what the encoder learned as "not the subject"
TRAINING_BACKGROUND = 63 / 255
#: colour distance (sRGB, 0-1 per channel) within which a photo pixel belongs to the backdrop; chosen on the
#: London photos of even-numbered people (docs/skin.md)
BACKDROP_TOLERANCE = 0.2
#: weight of a colour's departure from the backdrop's hue (the part of the difference off the grey axis) against its
#: change in brightness: a light neck or chest is about as bright as a light-grey studio wall but tinted, so with
#: plain RGB distance (weight 1) the fill ran from the wall into 1002 pixels of London's head surface (at 160 px,
#: all 102 photos); at 3, 64 (docs/skin.md, round 9)
BACKDROP_HUE_WEIGHT = 3.0
#: (yaw, pitch) degrees by which the 13-view rig is turned about the scan's box centre for the rendered views; the
#: lifted features of the rigs are averaged. (±8°, ±4°): inside the encoder's training jitter (yaw ±20°, pitch ±10°,
#: synth/skin_views.py) and several times the face frame's spread between turned copies (1.3°); on LPS's upright /
#: baked / two turned copies the largest skin-fraction difference went 0.013 -> 0.004-0.007. (180°, 0°): the capture
#: rig looks at the face, so the back of a full head is seen only at grazing angles, darkened, where the encoder
#: reads LPS's bald crown as non-skin; from behind it is skin (LPS head and face 0.811 -> 0.854, synthetic subset
#: 0.9224 -> 0.9226: the synthetic backs are hair, seen as hair)
RIG_TURNS = ((0.0, 0.0), (8.0, 4.0), (-8.0, -4.0), (180.0, 0.0))
#: the per-pixel classes are averaged with those of the mirrored view (test-time augmentation; the decider runs
#: twice, the lifted features once): London skin IoU on the even-numbered people, shipped round-10 decider,
#: 0.8970 -> 0.8989 (docs/skin.md, round 11)
MIRROR_AVERAGE = True
#: the rendered rig frames at least a box of this size (metres): the encoder learned faces on renders of heads with
#: shoulders (the synthetic scans' largest side is 0.43-0.51 m), and a face crop framed to fill the picture shows
#: the face 2-3 times larger than it ever saw (fran: eyes, nose and cheeks read as non-skin)
MIN_VIEW_EXTENT_M = 0.40


def shrink(image: np.ndarray, size: int) -> np.ndarray:
    """(h', w', 3) area-averaged copy of an (h, w, 3) image with its longer side `size` (unchanged if smaller)."""
    import torch
    from torch.nn import functional as F

    h, w = image.shape[:2]
    scale = size / max(h, w)
    if scale >= 1:
        return image
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
    out = F.interpolate(x, size=(max(1, round(h * scale)), max(1, round(w * scale))), mode="area")
    return out[0].numpy().transpose(1, 2, 0)


def backdrop_distance(image: np.ndarray, colour: np.ndarray, hue_weight: float = BACKDROP_HUE_WEIGHT) -> np.ndarray:
    """(h, w) distance of each pixel from the backdrop `colour`: the RGB difference split into its brightness part
    (along the grey axis) and its hue part (across it), the hue part weighted `hue_weight` (1: plain RGB
    distance). Shading moves a wall's pixels along the grey axis; skin differs from a grey wall across it."""
    d = image - colour
    grey = d.mean(axis=2, keepdims=True)
    return np.sqrt(3 * grey[..., 0] ** 2 + hue_weight ** 2 * ((d - grey) ** 2).sum(axis=2))


def backdrop_mask(image: np.ndarray, tolerance: float = BACKDROP_TOLERANCE) -> np.ndarray | None:
    """(h, w) bool: a photo's plain studio backdrop — the median colour of the image border, and every pixel
    within `tolerance` of it (`backdrop_distance`) that is connected to the border —, or None for a cluttered
    background (too little of the border matches)."""
    from scipy import ndimage

    h, w = image.shape[:2]
    b = max(2, min(h, w) // 50)
    border = np.concatenate([image[:b].reshape(-1, 3), image[-b:].reshape(-1, 3), image[:, :b].reshape(-1, 3),
                             image[:, -b:].reshape(-1, 3)])
    colour = np.median(border, axis=0)
    similar = backdrop_distance(image, colour) < tolerance
    labels, _ = ndimage.label(similar)
    edge = np.zeros((h, w), bool)
    edge[:b], edge[-b:], edge[:, :b], edge[:, -b:] = True, True, True, True
    touching = np.unique(labels[edge & similar])
    backdrop = np.isin(labels, touching[touching > 0])
    return backdrop if backdrop[edge].mean() >= 0.5 else None


def neutralise_backdrop(image: np.ndarray, tolerance: float = BACKDROP_TOLERANCE) -> np.ndarray:
    """A photo with its plain studio backdrop (`backdrop_mask`) painted in the renders' background grey. The
    encoder's synthetic training views only have that grey around a subject; a light studio wall read as
    skin-free context cost the renders-only encoder most of its skin IoU on real photos (docs/skin.md).
    Cluttered backgrounds are left alone."""
    backdrop = backdrop_mask(image, tolerance)
    if backdrop is None:
        return image
    out = image.copy()
    out[backdrop] = TRAINING_BACKGROUND
    return out


def turn(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """(3, 3) rotation: pitch about +X, then yaw about +Z (the upright scan's vertical)."""
    y, p = np.deg2rad(yaw_deg), np.deg2rad(pitch_deg)
    rz = np.array([[np.cos(y), -np.sin(y), 0], [np.sin(y), np.cos(y), 0], [0, 0, 1.0]])
    rx = np.array([[1.0, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    return rz @ rx


def turned_rig(vertices: np.ndarray, yaw_deg: float, pitch_deg: float, resolution: int = VIEW_SIZE,
               margin: float = 1.05) -> list[ViewCamera]:
    """`scan_rig` of the scan turned by (yaw, pitch) about its bounding-box centre, as cameras of the unturned
    scan: the rig turned the other way round the scan."""
    v = np.asarray(vertices, np.float64)
    r = turn(yaw_deg, pitch_deg)
    centre = (v.min(0) + v.max(0)) / 2
    cams = scan_rig((v - centre) @ r.T + centre, resolution, margin)
    m = np.eye(4)
    m[:3, :3] = r
    m[:3, 3] = centre - r @ centre  # x ↦ R(x − c) + c
    return [ViewCamera(c.K, c.world_to_camera @ m, c.width, c.height) for c in cams]


def skin_rig(vertices: np.ndarray, margin: float = 1.05) -> list[ViewCamera]:
    """The cameras Segment Skin renders an upright scan from: the 13-view rig at each of RIG_TURNS, in order
    (`SkinViews(..., rigs=len(RIG_TURNS))`), framing at least MIN_VIEW_EXTENT_M (a face crop is seen at the size
    of the training renders' faces; the scan's unit from its size, `guess_unit_scale`)."""
    v = np.asarray(vertices, np.float64)
    side = float(np.ptp(v, axis=0).max())
    floor = MIN_VIEW_EXTENT_M / guess_unit_scale(Mesh(v, np.zeros((0, 3), np.int64)))
    margin *= max(1.0, floor / side) if side > 0 else 1.0
    return [c for yaw, pitch in RIG_TURNS for c in turned_rig(v, yaw, pitch, margin=margin)]


@dataclass
class SkinViews:
    """Images (V, H, W, 3) float sRGB in [0, 1] (or uint8) with their cameras, in the scan's frame and units.
    Images larger than VIEW_SIZE are shrunk to it (cameras follow). `photos=True` (the user's capture photos,
    not our renders) also paints a plain backdrop in the renders' grey (`neutralise_backdrop`). `rigs`: the views
    are that many equal, consecutive groups (whole rigs, `skin_rig`), each lifted on its own (`lift_rigs`)."""

    images: np.ndarray
    cameras: list[ViewCamera]
    photos: bool = False
    rigs: int = 1

    def __post_init__(self) -> None:
        im = np.asarray(self.images)
        if im.ndim != 4 or im.shape[-1] < 3 or len(im) != len(self.cameras) or len(im) == 0:
            raise ValueError(f"views need (V, H, W, 3) images and V cameras; got {im.shape} and "
                             f"{len(self.cameras)} cameras")
        if self.rigs < 1 or len(im) % self.rigs:
            raise ValueError(f"{len(im)} views cannot be split into {self.rigs} rigs of equal size")
        if np.issubdtype(im.dtype, np.integer):
            im = im.astype(np.float32) / 255.0
        if not np.isfinite(im).all():
            raise ValueError("view images contain NaN or infinite values")
        im = np.clip(im[..., :3].astype(np.float32), 0.0, 1.0)
        im = np.stack([shrink(x, VIEW_SIZE) for x in im])
        self.images = np.stack([neutralise_backdrop(x) for x in im]) if self.photos else im
        h, w = self.images.shape[1:3]
        self.cameras = [c if (c.width, c.height) == (w, h) else c.resized(w, h) for c in self.cameras]


def _build(path: str):
    """(ImageSegmenter in eval mode, meta) from an encoder weights file, read once per file version."""
    from ..nets.image_encoder import build_segmenter

    state, meta = load_weights(path, IMAGE_WEIGHTS_KIND, IMAGE_WEIGHTS_VERSIONS)
    net = build_segmenter(meta)
    missing, unexpected = net.load_state_dict(state, strict=False)
    frozen = meta["backbone"]["type"] == "dinov2"
    if unexpected or [k for k in missing if not (frozen and k.startswith("backbone."))]:
        raise ValueError(f"{Path(path).name}: weights do not match the encoder ({missing[:3]} {unexpected[:3]})")
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net, {**meta, "name": Path(path).stem}


load_image_encoder = cached_per_file_version(_build)


def encode_views(encoder, views: SkinViews, chunk: int = 4, mirror: bool | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(features (V, F, H, W) float32, skin probability (V, H, W) float32) of every view, the encoder on the
    configured device (core/device.py); `mirror`: the class probabilities averaged with those of the mirrored
    view (the features, what skin_p2p learned on, are the plain view's; None: MIRROR_AVERAGE)."""
    import torch

    from ..device import place

    net, meta = encoder
    mirror = MIRROR_AVERAGE if mirror is None else mirror
    decider = getattr(net, "decider", None) or net
    head = [i for i in HEAD_CLASSES if i < int(meta["n_classes"])]
    feats, skin = [], []
    device = place(net)
    with torch.inference_mode():
        for i in range(0, len(views.images), chunk):
            x = torch.from_numpy(np.ascontiguousarray(views.images[i:i + chunk].transpose(0, 3, 1, 2))).to(device)
            f, logits = net(x)
            p = torch.softmax(logits, 1)
            if mirror:  # the head classes hold both eyes and brows, so their sum needs no left/right swap
                p = (p + torch.softmax(decider(x.flip(-1))[1], 1).flip(-1)) / 2
            feats.append(f.cpu().numpy().astype(np.float32))
            skin.append(p[:, head].sum(1).cpu().numpy().astype(np.float32))
    return np.concatenate(feats), np.concatenate(skin)


def project_skin_masks(vertices: np.ndarray, faces: np.ndarray | None, skin2d: np.ndarray,
                       cameras: list[ViewCamera]) -> np.ndarray:
    """The 2D-only baseline: per-view skin probabilities projected onto the vertices and averaged over the
    views that see each vertex (0 where none does)."""
    lifted = lift_features(vertices, faces, [m[None] for m in skin2d], cameras, visibility_aware=True)
    return lifted.mean[:, 0].astype(np.float64)


def lifted_image_features(vertices: np.ndarray, faces: np.ndarray | None, features: np.ndarray,
                          cameras: list[ViewCamera], visibility_aware: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(μ̄ (n, F), σ̄² (n, F)) of the view features on the vertices."""
    lifted = lift_features(vertices, faces, list(features), cameras, visibility_aware=visibility_aware)
    return lifted.mean, lifted.var


def lift_rigs(vertices: np.ndarray, faces: np.ndarray | None, features: np.ndarray, skin2d: np.ndarray,
              views: SkinViews, visibility_aware: bool = True
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(μ̄ (n, F), σ̄² (n, F), 2D skin (n,), seen (n,)): the view features and skin maps lifted onto the vertices,
    rig by rig (`views.rigs`), averaged over the rigs that see a vertex (0 where none does); `seen` counts those
    rigs (0: no view saw the vertex, its image inputs carry no evidence). Per rig, not over all views at once:
    σ̄² is then the spread over one rig's directions, as in training (all 39 views at once raised LPS's skin share
    by 0.05, an input shift the network never saw). The 2D skin is always visibility-aware."""
    n = len(vertices)
    mu, var, skin, seen = np.zeros((n, features.shape[1])), np.zeros((n, features.shape[1])), np.zeros(n), np.zeros(n)
    for group in np.array_split(np.arange(len(features)), views.rigs):
        cams = [views.cameras[i] for i in group]
        maps = np.concatenate([features[group], skin2d[group, None]], 1)
        lifted = lift_features(vertices, faces, list(maps), cams, visibility_aware=visibility_aware)
        s = lifted.mean[:, -1] if visibility_aware else project_skin_masks(vertices, faces, skin2d[group], cams)
        hit = lifted.n_views > 0
        mu[hit] += lifted.mean[hit, :-1]
        var[hit] += lifted.var[hit, :-1]
        skin[hit] += s[hit]
        seen += hit
    k = np.maximum(seen, 1)
    return (mu / k[:, None]).astype(np.float32), (var / k[:, None]).astype(np.float32), skin / k, seen
