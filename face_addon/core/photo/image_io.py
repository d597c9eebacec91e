"""Reading a user's photo into the one array layout the photo pipeline uses: (H, W, 3) float32 sRGB in [0, 1].

What a camera or an editor hands us varies, and each case has one documented answer:
- EXIF orientation is applied (phones store portraits as rotated landscapes plus a tag);
- an embedded ICC profile (Display P3, Adobe RGB) is converted to sRGB with Pillow's LittleCMS;
- grayscale and palette images become three equal / looked-up channels; CMYK is converted by Pillow;
- 16-bit grayscale ("I;16", "I") is scaled by 1/65535, float ("F") is clipped to [0, 1];
- transparency is composited over white: the colour under alpha 0 is arbitrary (often black), and a cut-out
  portrait on white is what a person sees in most viewers;
- more than MAX_PIXELS pixels (checked from the header, before decoding: decompression bombs), unreadable,
  truncated or non-image files raise PhotoError with the reason in one line a user can act on, without the
  file's name (the Reconstruct operator and `face reconstruct` put it in front) and without the decoder's own
  wording.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from . import PhotoError

MAX_PIXELS = 100_000_000


def load_photo(path: str | Path) -> np.ndarray:
    """(H, W, 3) float32 sRGB in [0, 1], upright as the photo is meant to be seen."""
    path = Path(path)
    if not path.is_file():
        raise PhotoError(f"photo not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # MAX_PIXELS is our limit
            with Image.open(path) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise PhotoError(f"the photo is {w}×{h} = {w * h / 1e6:.0f} MP; photos above "
                                     f"{MAX_PIXELS / 1e6:.0f} MP are refused (scale it down first)")
                img.load()
                return _to_array(ImageOps.exif_transpose(img))
    except PhotoError:
        raise
    except Image.DecompressionBombError as ex:  # Pillow's own guard, at Image.open, for twice its 89 MP limit
        raise PhotoError(f"the photo has more than {MAX_PIXELS / 1e6:.0f} MP and is refused (scale it down "
                         "first)") from ex
    except UnidentifiedImageError as ex:
        raise PhotoError("not an image file (use a .jpg, .png, .bmp, .tif or .webp photo)") from ex
    except (OSError, SyntaxError, ValueError) as ex:  # truncated or corrupt data
        raise PhotoError("the image could not be decoded: the file looks damaged or truncated") from ex


def _to_array(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        gray = np.asarray(img, np.float32) / 65535.0
        return np.repeat(np.clip(gray, 0, 1)[..., None], 3, axis=2)
    if img.mode == "F":
        return np.repeat(np.clip(np.asarray(img, np.float32), 0, 1)[..., None], 3, axis=2)
    has_alpha = img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info
    img = _to_srgb(img.convert("RGBA" if has_alpha else "RGB"))
    arr = np.asarray(img, np.float32) / 255.0
    if has_alpha:
        alpha = arr[..., 3:]
        arr = arr[..., :3] * alpha + (1.0 - alpha)
    return np.ascontiguousarray(arr[..., :3])


def _to_srgb(img: Image.Image) -> Image.Image:
    """Convert pixels tagged with an ICC profile to sRGB; an unreadable profile is ignored (taken as sRGB)."""
    icc = img.info.get("icc_profile")
    if not icc:
        return img
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(img, src, ImageCms.createProfile("sRGB"), outputMode=img.mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return img
