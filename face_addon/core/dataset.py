"""The synthetic dataset format (DESIGN §5), read with numpy only: no bpy, so training reads shards as they arrive.

Layout of a dataset root::

    index.json            {"format": 1, "samples": [seed, ...]} - complete samples (a convenience; the folders
                          are the truth: a folder named by 7 digits is complete, temp folders start with '.')
    failures.jsonl        one JSON line per failed sample (seed, error) - written by the generator
    0000042/              one sample, named by its seed
      meta.json           generator version, seed, FaceKit coefficients, asset choices, timings
      scan.ply            simulated scan: float32 xyz, uchar rgb per vertex, int32 triangles (binary PLY)
      head.ply            clean FaceKit head, template topology (4,350 vertices), same axes as the scan
      labels.npz          distance (n,) float32 m, skin (n,) bool, class_id (n,) uint8,
                          landmarks (68, 3) float32 (snapped to the scan), landmarks_true (68, 3) float32,
                          landmark_snap (68,) float32 m
      cameras.json        per view: K 3x3, world_to_camera 4x4 (OpenCV: +x right, +y down, +z forward), w, h
      views/VV.png        RGB render of view VV (full profile)
      views/VV_parts.png  8-bit class id image (see CLASS_NAMES; 0 = background)

Units are metres, axes are Blender's (+Z up, -Y forward; the head's origin lies between the ears).
Splits never overlap: they are seed ranges (`SPLITS`).
"""
from __future__ import annotations

import json
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic_write import write_bytes_atomic, write_text_atomic
from .errors import UserError

FORMAT_VERSION = 1
SKIN_DISTANCE_M = 0.0015  # Pixels2Points §2.3: scan vertices within 1.5 mm of the true head are skin

#: class ids of `labels.npz:class_id` and `views/VV_parts.png`. 1-8 are the 3DDFA-V3 parts of FaceKit
#: (`skin` = face skin); `head` is the rest of the head's skin (scalp, ears, neck).
CLASS_NAMES: tuple[str, ...] = (
    "background", "skin", "left_eye", "right_eye", "left_eyebrow", "right_eyebrow", "nose", "up_lip", "down_lip",
    "head", "eyeball", "mouth_interior", "hair", "facial_hair", "cloth", "accessory",
)
CLASS_IDS = {name: i for i, name in enumerate(CLASS_NAMES)}
#: classes that are part of the true head surface (the skin-distance reference)
HEAD_CLASSES = tuple(range(1, 10))
#: display colours for previews (sRGB bytes), one per class
CLASS_COLORS = np.array([
    (0, 0, 0), (230, 180, 150), (40, 90, 220), (40, 160, 220), (120, 60, 20), (160, 90, 30), (240, 120, 40),
    (220, 40, 60), (170, 20, 60), (200, 150, 120), (250, 250, 250), (120, 0, 120), (90, 60, 30), (60, 40, 10),
    (40, 140, 60), (230, 220, 40)], np.uint8)

def head_face_classes(n_vertices: int, faces: np.ndarray, parts: dict[str, np.ndarray]) -> np.ndarray:
    """Per-face class of the FaceKit head: the part (3DDFA-V3 names) of the face's vertices by majority,
    'head' outside the face parts. Smaller parts win over 'skin' where both apply."""
    vert_cls = np.full(n_vertices, CLASS_IDS["head"], np.int64)
    for name in sorted(parts, key=lambda k: -len(parts[k])):  # largest first, so small parts overwrite
        vert_cls[parts[name]] = CLASS_IDS[name]
    fc = vert_cls[faces]
    # majority of three; ties -> the first vertex's label
    maj = np.where(fc[:, 1] == fc[:, 2], fc[:, 1], fc[:, 0])
    return maj.astype(np.uint8)


SPLITS = {"train": (0, 1_000_000), "test": (1_000_000, 2_000_000)}  # [lo, hi) seed ranges
SAMPLE_DIGITS = 7


def split_of(seed: int) -> str:
    """'train' or 'test' for a seed (ValueError outside every split)."""
    for name, (lo, hi) in SPLITS.items():
        if lo <= seed < hi:
            return name
    raise ValueError(f"seed {seed} is in no split {SPLITS}")


def sample_dir(root: Path | str, seed: int) -> Path:
    return Path(root) / f"{seed:0{SAMPLE_DIGITS}d}"


def complete_seeds(root: Path | str) -> list[int]:
    """Seeds of complete samples, from the folder names (temp folders are hidden and not counted)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(int(p.name) for p in root.iterdir()
                  if p.is_dir() and len(p.name) == SAMPLE_DIGITS and p.name.isdigit())


def read_index(root: Path | str) -> list[int]:
    """Seeds listed in index.json ([] when there is none yet)."""
    path = Path(root) / "index.json"
    if not path.is_file():
        return []
    return [int(s) for s in json.loads(path.read_text())["samples"]]


def check_own_index(root: Path | str) -> None:
    """UserError when `root` holds an index.json this format did not write (a user's own file is never
    replaced); nothing when there is none or it is ours."""
    path = Path(root) / "index.json"
    if not path.exists():
        return
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        ours = isinstance(doc, dict) and doc.get("format") == FORMAT_VERSION and isinstance(doc.get("samples"), list)
    except (OSError, ValueError):
        ours = False
    if not ours:
        raise UserError(f"{path} was not written by face synth and would be replaced: choose another folder, or "
                        "move that file")


def write_index(root: Path | str) -> list[int]:
    """Rewrite index.json from the complete folders, atomically (safe with several shard processes); refuses
    to replace an index.json it did not write."""
    root = Path(root)
    check_own_index(root)
    seeds = complete_seeds(root)
    write_text_atomic(root / "index.json", json.dumps({"format": FORMAT_VERSION, "samples": seeds}) + "\n")
    return seeds


# ------------------------------------------------------------------------------------------------ PLY (binary)

def write_ply(path: Path | str, vertices: np.ndarray, faces: np.ndarray | None, colors: np.ndarray | None = None,
              scalars: dict[str, np.ndarray] | None = None, comment: str = "face_addon synth") -> Path:
    """Binary little-endian PLY (the add-on's one PLY writer): float32 xyz, optional uchar rgb (sRGB bytes or
    floats in [0, 1]), optional float32 per-vertex `scalars` by name (e.g. MeshLab's `quality`), int32 triangles
    (None: a point cloud). Written atomically; returns the path."""
    v = np.asarray(vertices, np.float32).reshape(-1, 3)
    f = np.zeros((0, 3), np.int32) if faces is None else np.asarray(faces, np.int32).reshape(-1, 3)
    scalars = {k: np.asarray(s, np.float32).ravel() for k, s in (scalars or {}).items()}
    for name, s in scalars.items():
        if len(s) != len(v):
            raise ValueError(f"{len(s)} values of '{name}' for {len(v)} vertices")
    fields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    if colors is not None:
        c = np.asarray(colors)
        if c.dtype != np.uint8:
            c = (np.clip(c, 0, 1) * 255).round().astype(np.uint8)
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    fields += [(name, "<f4") for name in scalars]
    vert = np.empty(len(v), fields)
    vert["x"], vert["y"], vert["z"] = v.T
    if colors is not None:
        vert["red"], vert["green"], vert["blue"] = c[:, :3].T
    for name, s in scalars.items():
        vert[name] = s
    face = np.empty(len(f), [("n", "u1"), ("i", "<i4", (3,))])
    face["n"], face["i"] = 3, f
    props = "".join(f"property {'float' if t == '<f4' else 'uchar'} {n}\n" for n, t in fields)
    header = (f"ply\nformat binary_little_endian 1.0\ncomment {comment}\nelement vertex {len(v)}\n{props}"
              f"element face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n")
    return write_bytes_atomic(path, header.encode("ascii") + vert.tobytes() + face.tobytes())


def read_ply(path: Path | str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Read a PLY written by `write_ply` -> (vertices float32 (n,3), faces int64 (m,3), colors uint8 (n,3)|None)."""
    data = Path(path).read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    header = data[:end].decode("ascii").splitlines()
    if "format binary_little_endian 1.0" not in header:
        raise ValueError(f"{path}: not a binary little-endian PLY written by face_addon")
    n_v = n_f = 0
    fields: list[tuple[str, str]] = []
    element = None
    for line in header:
        parts = line.split()
        if parts[:1] == ["element"]:
            element = parts[1]
            if element == "vertex":
                n_v = int(parts[2])
            elif element == "face":
                n_f = int(parts[2])
        elif parts[:1] == ["property"] and element == "vertex":
            fields.append((parts[2], {"float": "<f4", "uchar": "u1"}[parts[1]]))
    vert = np.frombuffer(data, fields, n_v, end)
    face = np.frombuffer(data, [("n", "u1"), ("i", "<i4", (3,))], n_f, end + vert.nbytes)
    if n_f and (face["n"] != 3).any():
        raise ValueError(f"{path}: only triangle PLYs are supported")
    v = np.stack([vert["x"], vert["y"], vert["z"]], 1).astype(np.float32)
    names = {n for n, _ in fields}
    c = np.stack([vert["red"], vert["green"], vert["blue"]], 1) if {"red", "green", "blue"} <= names else None
    return v, face["i"].astype(np.int64), c


# ------------------------------------------------------------------------------------------------ PNG (8-bit)

def write_png(path: Path | str, image: np.ndarray) -> None:
    """8-bit grayscale (h, w) or RGB/RGBA (h, w, 3|4) PNG (numpy + zlib only). Rows use the 'Up' filter
    (difference to the row above), which roughly halves the size of renders."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ValueError("write_png takes uint8 images")
    h, w = img.shape[:2]
    channels = 1 if img.ndim == 2 else img.shape[2]
    color_type = {1: 0, 3: 2, 4: 6}[channels]
    rows = img.reshape(h, w * channels)
    up = rows - np.concatenate([np.zeros((1, w * channels), np.uint8), rows[:-1]])  # uint8 wraps mod 256
    raw = np.concatenate([np.full((h, 1), 2, np.uint8), up], axis=1).tobytes()

    def chunk(tag: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
    write_bytes_atomic(path, png)


def read_png(path: Path | str) -> np.ndarray:
    """Read an 8-bit gray/RGB/RGBA PNG -> uint8 (h, w) or (h, w, c), with Pillow (Blender's PNGs use Paeth row
    filters, which a numpy-only decoder has to undo pixel by pixel: ~0.5 s for a 256² render)."""
    from PIL import Image

    with Image.open(path) as im:
        if im.format != "PNG":
            raise ValueError(f"{path}: not a PNG")
        if im.mode not in ("L", "LA", "RGB", "RGBA"):
            raise ValueError(f"{path}: only 8-bit gray/RGB(A) PNGs are supported, not mode {im.mode}")
        return np.asarray(im).copy()


# ------------------------------------------------------------------------------------------------ samples

@dataclass
class Sample:
    """One loaded sample; arrays as documented in the module docstring."""

    seed: int
    path: Path
    meta: dict
    scan_vertices: np.ndarray
    scan_faces: np.ndarray
    scan_colors: np.ndarray | None
    distance: np.ndarray
    skin: np.ndarray
    class_id: np.ndarray
    landmarks: np.ndarray
    landmarks_true: np.ndarray
    landmark_snap: np.ndarray
    head_vertices: np.ndarray | None = None
    head_faces: np.ndarray | None = None
    cameras: list[dict] | None = None

    def view(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(rgb uint8 (h, w, 3), class ids uint8 (h, w)) of one rig view (full-profile samples only)."""
        views = self.path / "views"
        return read_png(views / f"{index:02d}.png")[..., :3], read_png(views / f"{index:02d}_parts.png")

    @property
    def n_views(self) -> int:
        return len(self.cameras or [])


def load_sample(root: Path | str, seed: int, *, head: bool = True, cameras: bool = True) -> Sample:
    """Load a complete sample (FileNotFoundError when it is not there yet)."""
    path = sample_dir(root, seed)
    meta = json.loads((path / "meta.json").read_text())
    v, f, c = read_ply(path / "scan.ply")
    with np.load(path / "labels.npz", allow_pickle=False) as z:
        lab = {k: z[k] for k in z.files}
    hv = hf = None
    if head:
        hv, hf, _ = read_ply(path / "head.ply")
    cams = None
    cam_path = path / "cameras.json"
    if cameras and cam_path.is_file():
        cams = json.loads(cam_path.read_text())["views"]
    return Sample(seed=seed, path=path, meta=meta, scan_vertices=v, scan_faces=f, scan_colors=c,
                  distance=lab["distance"], skin=lab["skin"], class_id=lab["class_id"], landmarks=lab["landmarks"],
                  landmarks_true=lab["landmarks_true"], landmark_snap=lab["landmark_snap"], head_vertices=hv,
                  head_faces=hf, cameras=cams)


def iter_samples(root: Path | str, *, split: str | None = None, follow: bool = False, poll_s: float = 10.0,
                 timeout_s: float | None = None, **load_kwargs) -> Iterator[Sample]:
    """Yield samples in seed order; with `follow=True` keep polling for samples that arrive later (shards still
    being generated) until `timeout_s` passes without a new one. `split` filters by seed range."""
    seen: set[int] = set()
    last_new = time.monotonic()
    while True:
        new = [s for s in complete_seeds(root) if s not in seen and (split is None or split_of(s) == split)]
        for seed in new:
            seen.add(seed)
            yield load_sample(root, seed, **load_kwargs)
        if new:
            last_new = time.monotonic()
        if not follow or (timeout_s is not None and time.monotonic() - last_new > timeout_s):
            return
        time.sleep(poll_s)
