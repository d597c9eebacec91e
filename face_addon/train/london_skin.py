"""The London part masks as training targets for Segment Skin's image encoder (issue 19): one half of the people.

The Face Research Lab London Set (DeBruine & Jones 2017, CC BY 4.0, doi:10.6084/m9.figshare.5047666.v5) lives in
`../shared/real/photos/london` and is never part of the project. Its masks (`partmasks/NNN_03_parts.png`,
polygon-filled from the human FRL-189 template) do not use our 16 classes: label 0 is background, hair *and*
clothes together, the face-skin label holds what we split into skin and head, the neck stops 3 cm under the jaw.
So each mask label becomes a *set* of our classes (`ALLOWED`), and the encoder is trained to put its probability
mass inside the set (`set_cross_entropy`): the mask says "head surface" or "not head surface" without forcing a
class our renders would name differently, and the 16 classes keep their meaning. Below the lowest neck row label
0 is ignored (the masks call the lower neck background, we call it skin), as in the benchmark.

Only even-numbered people are loaded for training (`TRAIN_PARITY`); the odd ones are the held-out benchmark.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.color import srgb_to_linear
from ..core.dataset import CLASS_IDS, CLASS_NAMES

#: people whose number has this parity are training data; the others are held out (tests/bench/real_skin.py)
TRAIN_PARITY = 0
#: mask value for pixels that carry no target (all classes allowed, so the loss there is 0)
IGNORE = 255
#: side (px) the photos are cached at; training crops and shrinks from there
CACHE_SIZE = 240
#: CIELAB distances (whole colour, hue and chroma a*b* alone) from the photo's median face-skin colour beyond either
#: of which an ignored crown pixel is supervised as "not head surface" (`crown_hair_targets`): the 95th percentiles
#: of the face-skin pixels' own distances, pooled over the even ids (docs/skin.md round 12). Hue alone does not part
#: light brown or blonde hair from pale skin, the whole colour not black hair from dark skin
CROWN_HAIR_LAB, CROWN_HAIR_AB = 23.0, 8.0

_HEAD_SKIN = ("skin", "head")
_NOT_HEAD = ("background", "hair", "facial_hair", "cloth", "accessory")
_MASK_CLASSES = {
    0: _NOT_HEAD,
    1: _HEAD_SKIN,                                  # face skin up to the hairline
    2: ("left_eyebrow", "right_eyebrow"), 3: ("left_eyebrow", "right_eyebrow"),
    4: ("left_eye", "right_eye", "eyeball"), 5: ("left_eye", "right_eye", "eyeball"),
    6: ("nose", "skin"),
    7: ("up_lip", "down_lip", "mouth_interior"),
    8: _HEAD_SKIN, 9: _HEAD_SKIN,                   # ears
    10: _HEAD_SKIN,                                 # neck
}


def allowed_table() -> np.ndarray:
    """(256, n_classes) bool: the classes each mask value allows; unknown values and IGNORE allow every class."""
    table = np.ones((256, len(CLASS_NAMES)), bool)
    for label, names in _MASK_CLASSES.items():
        table[label] = False
        table[label, [CLASS_IDS[n] for n in names]] = True
    return table


ALLOWED = allowed_table()


def set_cross_entropy(logits, allowed):
    """Mean over pixels of −log Σ_{c ∈ allowed} p_c: (B, C, H, W) logits, (B, H, W, C) or (B, C, H, W) bool mask.
    Zero where every class is allowed."""
    import torch

    if allowed.shape[1] != logits.shape[1]:
        allowed = allowed.permute(0, 3, 1, 2)
    inside = torch.logsumexp(logits.masked_fill(~allowed, -1e4), dim=1)
    return (torch.logsumexp(logits, dim=1) - inside).mean()


def lower_neck(labels: np.ndarray) -> np.ndarray:
    """(H, W) bool: the rows under the neck label's lowest row (where label 0 is ignored, `mask_targets`)."""
    below = np.zeros(labels.shape, bool)
    rows = np.nonzero((labels == 10).any(1))[0]
    if len(rows):
        below[rows.max() + 1:] = True
    return below


def mask_targets(labels: np.ndarray, crown: bool = True) -> np.ndarray:
    """(H, W) uint8 London mask → mask values with label 0 under the lowest neck row set to IGNORE, and (`crown`)
    label 0 above the face-skin label's top row, between the face's and ears' outermost columns, too: the masks
    stop at the hairline, so the top of every head — hair or a shaved scalp — is "not head surface" there; trained
    on that, round 3's encoder called Lee Perry-Smith's stubbled crown hair (docs/skin.md). Our renders label the
    crown (hair or scalp) correctly, so London says nothing there."""
    out = labels.astype(np.uint8).copy()
    out[lower_neck(labels) & (labels == 0)] = IGNORE
    face_rows = np.nonzero((labels == 1).any(1))[0]
    cols = np.nonzero(np.isin(labels, (1, 8, 9)).any(0))[0]
    if crown and len(face_rows):
        above = np.zeros_like(out, bool)
        above[:face_rows.min(), cols.min():cols.max() + 1] = True
        out[above & (labels == 0)] = IGNORE
    return out


def cielab(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 sRGB → (H, W, 3) CIELAB L*, a*, b* (D65), where distances follow seen colour difference."""
    lin = srgb_to_linear(image).astype(np.float64)
    xyz = lin @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def crown_hair_targets(image: np.ndarray, labels: np.ndarray, targets: np.ndarray,
                       threshold: tuple[float, float] = (CROWN_HAIR_LAB, CROWN_HAIR_AB)) -> np.ndarray:
    """`mask_targets(labels)` with the ignored crown pixels (label 0 there) whose CIELAB colour lies farther than
    `threshold` (whole colour, a*b*) from the median colour of the photo's own face skin (label 1) given back
    label 0, "not head surface": hair of any colour but the skin's (blonde included, which the ignored crown never
    taught, issue 19) is supervised; skin-coloured crown pixels — shaved scalps — stay ignored."""
    face = labels == 1
    if not face.any():
        return targets
    lab = cielab(image)
    d = lab - np.median(lab[face], axis=0)
    far = (np.linalg.norm(d, axis=-1) > threshold[0]) | (np.linalg.norm(d[..., 1:], axis=-1) > threshold[1])
    out = targets.copy()
    out[(targets == IGNORE) & (labels == 0) & far & ~lower_neck(labels)] = 0
    return out


def load_london_masks(root: Path, parity: int = TRAIN_PARITY, size: int = CACHE_SIZE, crown: bool = True,
                      crown_hair: bool = False) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(images uint8 (N, size, size, 3), mask values uint8 (N, size, size) from `mask_targets(…, crown)` — and
    `crown_hair_targets` with `crown_hair` —, ids) of the neutral photos of the people whose number has `parity`.
    FileNotFoundError when the set is absent."""
    from PIL import Image

    base = Path(root) / "photos" / "london"
    paths = sorted((base / "partmasks").glob("*_parts.png"))
    if not paths:
        raise FileNotFoundError(f"no London part masks under {base} (see shared/real/README.md)")
    images, masks, ids = [], [], []
    for path in paths:
        pid = int(path.name[:3])
        if pid % 2 != parity:
            continue
        photo = Image.open(base / "neutral" / f"{pid:03d}_03.jpg").convert("RGB")
        images.append(np.asarray(photo.resize((size, size), Image.BOX)))
        labels = np.asarray(Image.open(path).resize((size, size), Image.NEAREST))
        targets = mask_targets(labels, crown)
        masks.append(crown_hair_targets(images[-1], labels, targets) if crown_hair else targets)
        ids.append(f"{pid:03d}")
    return np.stack(images), np.stack(masks), ids


def group_balanced_weights(root: Path, ids: list[str], power: float = 0.5) -> np.ndarray:
    """(N,) sampling probabilities of the photos `ids`: ∝ 1 / n_group**power over the set's ethnicity labels
    (`london_info.csv`, face_eth), so the few darker-skinned people of the training half (7 black, 7 west Asian,
    3 east Asian of 52) are drawn more often than their share — the held-out gap was on dark skin (docs/skin.md).
    power 0 = uniform; 0.5 rather than 1 so three east Asian photos are not each seen eleven times as often."""
    import csv

    if power == 0:
        return np.full(len(ids), 1.0 / len(ids))
    with open(Path(root) / "photos" / "london" / "london_info.csv", newline="") as f:
        group = {row["face_id"]: row["face_eth"] for row in csv.DictReader(f)}
    labels = [group.get(i, "") for i in ids]
    counts = {g: labels.count(g) for g in labels}
    w = np.array([counts[g] ** -power for g in labels])
    return w / w.sum()
