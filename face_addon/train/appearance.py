"""Strong appearance augmentation for Segment Skin's image encoder: what separates real photos and renders of
real scans from our Cycles renders (issue 19).

Our renders have one flat background grey, one camera response and the generator's skin tones; real views have
studio walls and clutter, other white balances, darker skin, blur, JPEG blocks and sensor noise. Each image of a
batch independently gets, with the probabilities below: its head skin darkened and tinted (`tone_shift`: the
renders-only encoder scored 0.67 skin IoU on black faces vs 0.86 on white ones), its background replaced by a
random colour and gradient, a white balance / exposure / gamma change, a Gaussian blur, a JPEG round trip and
Gaussian noise. Geometry (and so every label) is untouched.
"""
from __future__ import annotations

import io

import numpy as np

P_TONE, P_BACKGROUND, P_BLUR, P_JPEG = 0.5, 0.5, 0.3, 0.3


def tone_shift(image: np.ndarray, skin: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) sRGB in [0, 1] with the `skin` pixels darkened ×U(0.3, 1) and tinted towards brown (blue falls
    faster than red, as melanin absorbs it)."""
    d = rng.uniform(0.3, 1.0)
    tint = np.array([1.0, d ** 0.15, d ** 0.3]) * rng.uniform(0.92, 1.08, 3)
    out = image.copy()
    out[skin] = np.clip(image[skin] * d * tint, 0, 1)
    return out


def random_background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """(h, w, 3) a random colour with a random linear gradient and a little texture."""
    base = rng.uniform(0.0, 1.0, 3)
    direction = rng.normal(size=2)
    yy, xx = np.mgrid[:h, :w] / max(h, w) - 0.5
    ramp = (direction[0] * yy + direction[1] * xx)[..., None] * rng.uniform(0, 0.6, 3)
    texture = rng.normal(0, rng.uniform(0, 0.05), (h, w, 1))
    return np.clip(base + ramp + texture, 0, 1)


def camera_response(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """White balance (per-channel gain), exposure and gamma."""
    gain = rng.uniform(0.6, 1.4) * rng.uniform(0.8, 1.2, 3)
    gamma = rng.uniform(0.7, 1.4)
    return np.clip(np.clip(image, 1e-4, 1) ** gamma * gain, 0, 1)


def degrade(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blur, JPEG and noise, each by chance."""
    from PIL import Image
    from scipy.ndimage import gaussian_filter

    out = image
    if rng.random() < P_BLUR:
        s = rng.uniform(0.3, 1.5)
        out = gaussian_filter(out, (s, s, 0))
    if rng.random() < P_JPEG:
        buf = io.BytesIO()
        Image.fromarray((np.clip(out, 0, 1) * 255).astype(np.uint8)).save(buf, "JPEG",
                                                                           quality=int(rng.integers(15, 80)))
        out = np.asarray(Image.open(buf), np.float32) / 255.0
    out = out + rng.normal(0, rng.uniform(0, 0.04), out.shape)
    return np.clip(out, 0, 1).astype(np.float32)


def augment_appearance(image: np.ndarray, skin: np.ndarray, background: np.ndarray | None,
                       rng: np.random.Generator) -> np.ndarray:
    """One (H, W, 3) float image in [0, 1] strongly augmented: `skin` (H, W) bool the head-skin pixels,
    `background` (H, W) bool the pixels that may be replaced (None: none known)."""
    out = np.asarray(image, np.float64)
    if rng.random() < P_TONE:
        out = tone_shift(out, skin, rng)
    if background is not None and rng.random() < P_BACKGROUND:
        out = np.where(background[..., None], random_background(*out.shape[:2], rng), out)
    return degrade(camera_response(out, rng), rng)
