"""Strong appearance augmentation for Segment Skin's image encoder: what separates real photos and renders of
real scans from our Cycles renders (issue 19).

Our renders have one flat background grey, one camera response and the generator's skin tones; real views have
studio walls and clutter, other white balances, darker skin, blur, JPEG blocks and sensor noise. Each image of a
batch independently gets, with the probabilities below: its head skin darkened and tinted (`tone_shift`: the
renders-only encoder scored 0.67 skin IoU on black faces vs 0.86 on white ones), its background replaced by a
random colour and gradient, a white balance / exposure / gamma change, a Gaussian blur, a JPEG round trip and
Gaussian noise. Geometry (and so every label) is untouched.

Hair (`recolour_hair`, where the class image names it): the generator's hair is mostly dark (median luminance 0.15
over the hair pixels of the 48 train scans' renders; light hair in 13 % of the views and light *warm* hair — blonde,
light brown — in 5 %, against 31 % and 17 % of the London photos of even-numbered people), and blonde hair at the
sides and crown is what the fine-tuned encoder still calls skin (docs/skin.md, round 10). So hair pixels get a
blonde / light-brown / red / grey / dark hue with their own shading kept, and sometimes the skin showing through
thin hair.
"""
from __future__ import annotations

import io

import numpy as np

P_TONE, P_BACKGROUND, P_BLUR, P_JPEG = 0.5, 0.5, 0.3, 0.3
P_HAIR, P_THIN_HAIR = 0.5, 0.3
#: hair colours (sRGB, the lit colour of the hair's median pixel) drawn by recolour_hair: platinum / golden / dark
#: blonde, light brown, auburn / red, grey, dark brown
HAIR_COLOURS = np.array([[0.80, 0.72, 0.55], [0.70, 0.56, 0.34], [0.55, 0.44, 0.30], [0.45, 0.33, 0.22],
                         [0.50, 0.26, 0.13], [0.62, 0.60, 0.57], [0.22, 0.15, 0.10]])


def tone_shift(image: np.ndarray, skin: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) sRGB in [0, 1] with the `skin` pixels darkened ×U(0.3, 1) and tinted towards brown (blue falls
    faster than red, as melanin absorbs it)."""
    d = rng.uniform(0.3, 1.0)
    tint = np.array([1.0, d ** 0.15, d ** 0.3]) * rng.uniform(0.92, 1.08, 3)
    out = image.copy()
    out[skin] = np.clip(image[skin] * d * tint, 0, 1)
    return out


def recolour_hair(image: np.ndarray, hair: np.ndarray, skin: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) sRGB in [0, 1] with the `hair` pixels given a random colour near one of HAIR_COLOURS, each pixel's
    brightness relative to the hair's median kept (the strands' shading); with P_THIN_HAIR, a share U(0.1, 0.5) of
    the `skin` pixels' median colour mixed in (skin showing through thin hair)."""
    if not hair.any():
        return image
    px = image[hair]
    lum = px.mean(axis=1, keepdims=True)
    shade = lum / max(float(np.median(lum)), 1e-3)
    colour = HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))] * rng.uniform(0.85, 1.15) * rng.uniform(0.93, 1.07, 3)
    new = colour * shade ** rng.uniform(0.5, 1.0)
    if skin.any() and rng.random() < P_THIN_HAIR:
        a = rng.uniform(0.1, 0.5)
        new = (1 - a) * new + a * np.median(image[skin], axis=0)
    out = image.copy()
    out[hair] = np.clip(new, 0, 1)
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
                       rng: np.random.Generator, hair: np.ndarray | None = None) -> np.ndarray:
    """One (H, W, 3) float image in [0, 1] strongly augmented: `skin` (H, W) bool the head-skin pixels,
    `background` (H, W) bool the pixels that may be replaced, `hair` (H, W) bool the pixels that may be recoloured
    as hair (None: none known)."""
    out = np.asarray(image, np.float64)
    if hair is not None and rng.random() < P_HAIR:
        out = recolour_hair(out, hair, skin, rng)
    if rng.random() < P_TONE:
        out = tone_shift(out, skin, rng)
    if background is not None and rng.random() < P_BACKGROUND:
        out = np.where(background[..., None], random_background(*out.shape[:2], rng), out)
    return degrade(camera_response(out, rng), rng)
