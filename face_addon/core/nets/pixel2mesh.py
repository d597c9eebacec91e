"""Pixel2Mesh for faces (seeds/002): a hemisphere deformed by graph convolutions fed with image features.

Coordinates live in the *crop space* of `core.photo.crop_space`: X, Y are the crop's normalised pixel
coordinates (grid_sample's convention, −1..1 across the 224² crop) and Z is depth in the same units, so
perceptual feature pooling is an exact lookup of each vertex's projection (the paper changed P2M's pooling
for its parallel-projection data; ours is the perspective projection of the photo, divided out in the space).

Network (Fig. 1 of the paper): 2D encoder (the photo regressor's residual CNN, feature maps at strides
4/8/16/32/64) -> 4 mesh deformation blocks (G-ResNet: graph conv in, `n_res` residual pairs, graph conv out
to xyz; input = pooled features + current xyz (+ the previous block's hidden features)) with graph unpooling
(a new vertex on every edge, each triangle split in 4) between them: 141 -> 547 -> 2157 -> 8569 vertices.
Adaptive unpooling (Fig. 2) learns where on each edge its new vertex goes (a per-edge position in (0, 1),
sigmoid-parameterised, starting at the midpoint); plain unpooling keeps the midpoint.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

HEMISPHERE_RINGS = 10
HEMISPHERE_SEGMENTS = 14  # 1 pole + 10 rings x 14 = 141 vertices, as in the paper
HEMISPHERE_RADIUS = 0.7  # crop units: a face filling most of the detector crop
HEMISPHERE_DEPTH = 0.35  # crop units: the rim behind, the pole in front of the face's mean depth (Z = 0)
FEATURE_STRIDES = (4, 8, 16, 32, 64)


def hemisphere(rings: int = HEMISPHERE_RINGS, segments: int = HEMISPHERE_SEGMENTS,
               radius: float = HEMISPHERE_RADIUS) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (1 + rings·segments, 3), faces) of a hemisphere bulging towards the camera (−Z), pole first.
    Rings are evenly spaced in polar angle up to 90°; the open rim lies in the plane Z = HEMISPHERE_DEPTH."""
    verts = [(0.0, 0.0, HEMISPHERE_DEPTH - radius)]
    for i in range(1, rings + 1):
        theta = 0.5 * np.pi * i / rings
        for j in range(segments):
            phi = 2 * np.pi * j / segments
            verts.append((radius * np.sin(theta) * np.cos(phi), radius * np.sin(theta) * np.sin(phi),
                          HEMISPHERE_DEPTH - radius * np.cos(theta)))
    faces = []

    def ring(i: int, j: int) -> int:
        return 1 + (i - 1) * segments + j % segments

    for j in range(segments):
        faces.append((0, ring(1, j + 1), ring(1, j)))
    for i in range(1, rings):
        for j in range(segments):
            a, b, c, d = ring(i, j), ring(i, j + 1), ring(i + 1, j), ring(i + 1, j + 1)
            faces += [(a, b, d), (a, d, c)]
    return np.asarray(verts, np.float32), np.asarray(faces, np.int64)


def unique_edges(faces: np.ndarray) -> np.ndarray:
    """(E, 2) sorted vertex pairs of a triangle mesh, each edge once."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return np.unique(np.sort(e, 1), axis=0)


def subdivide(faces: np.ndarray, n_vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """Graph unpooling's topology: (edges (E, 2) whose new vertex gets index n_vertices + e, new faces (4F, 3))."""
    edges = unique_edges(faces)
    key = {(int(a), int(b)): n_vertices + k for k, (a, b) in enumerate(edges)}

    def mid(a: int, b: int) -> int:
        return key[(a, b) if a < b else (b, a)]

    out = []
    for a, b, c in faces.tolist():
        ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
        out += [(a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca)]
    return edges, np.asarray(out, np.int64)


@dataclass(frozen=True)
class MeshLevel:
    """One resolution of the deforming mesh: faces, unique edges and the row-normalised adjacency."""

    faces: np.ndarray
    edges: np.ndarray
    n_vertices: int

    def adjacency(self) -> torch.Tensor:
        e = torch.as_tensor(self.edges)
        ij = torch.cat([e, e.flip(1)]).T
        deg = torch.bincount(ij[0], minlength=self.n_vertices).float()
        return torch.sparse_coo_tensor(ij, 1.0 / deg[ij[0]], (self.n_vertices, self.n_vertices),
                                       check_invariants=False).coalesce()


def mesh_levels(n_levels: int = 4) -> tuple[np.ndarray, list[MeshLevel], list[np.ndarray]]:
    """(hemisphere vertices, the n_levels mesh levels, the unpooling edges between consecutive levels)."""
    verts, faces = hemisphere()
    levels, unpool = [MeshLevel(faces, unique_edges(faces), len(verts))], []
    for _ in range(n_levels - 1):
        lv = levels[-1]
        edges, faces = subdivide(lv.faces, lv.n_vertices)
        unpool.append(edges)
        levels.append(MeshLevel(faces, unique_edges(faces), lv.n_vertices + len(edges)))
    return verts, levels, unpool


class GraphConv(nn.Module):
    """y = x W_self + mean_{neighbours}(x) W_neigh + b (P2M's graph convolution with a normalised adjacency)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.self_w = nn.Linear(cin, cout)
        self.neigh_w = nn.Linear(cin, cout, bias=False)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        neigh = torch.sparse.mm(adj, x.transpose(0, 1).reshape(n, b * c)).reshape(n, b, c).transpose(0, 1)
        return self.self_w(x) + self.neigh_w(neigh)


class GResNet(nn.Module):
    """One deformation block: conv in, n_res residual pairs, conv out to 3 offsets; returns (xyz, hidden)."""

    def __init__(self, cin: int, hidden: int, n_res: int) -> None:
        super().__init__()
        self.conv_in = GraphConv(cin, hidden)
        self.res = nn.ModuleList(nn.ModuleList([GraphConv(hidden, hidden), GraphConv(hidden, hidden)])
                                 for _ in range(n_res))
        self.conv_out = GraphConv(hidden, 3)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.relu(self.conv_in(x, adj))
        for c1, c2 in self.res:
            h = 0.5 * (h + torch.relu(c2(torch.relu(c1(h, adj)), adj)))
        return self.conv_out(h, adj), h


class Unpool(nn.Module):
    """Graph unpooling: one new vertex per edge at a + t·(b − a); t = 0.5 (plain) or learned per edge (adaptive)."""

    def __init__(self, edges: np.ndarray, adaptive: bool) -> None:
        super().__init__()
        self.register_buffer("edges", torch.as_tensor(edges))
        self.logit = nn.Parameter(torch.zeros(len(edges))) if adaptive else None

    def position(self) -> torch.Tensor:
        if self.logit is None:
            return torch.full((len(self.edges),), 0.5)
        return torch.sigmoid(self.logit)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.position()[None, :, None]
        a, b = x[:, self.edges[:, 0]], x[:, self.edges[:, 1]]
        return torch.cat([x, a + t * (b - a)], 1)


class Encoder(nn.Module):
    """The photo regressor's residual CNN (same layer names, so its trained weights load): feature maps at
    strides 4..64 of a (B, 3, 224, 224) sRGB crop in [0, 1]."""

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 192, 256)) -> None:
        super().__init__()
        from .photo_regressor import _Block

        self.widths = widths
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 5, 2, 2, bias=False), nn.BatchNorm2d(widths[0]),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.blocks = nn.Sequential(*[_Block(a, b, 2) for a, b in zip(widths[:-1], widths[1:])])
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        f = [self.stem((x - self.mean) / self.std)]
        for block in self.blocks:
            f.append(block(f[-1]))
        return f


def pool_features(maps: list[torch.Tensor], xyz: torch.Tensor) -> torch.Tensor:
    """Perceptual feature pooling: bilinear samples of every map at each vertex's projection (X, Y) -> (B, n, ΣC).
    Outside the crop the features are zero."""
    grid = xyz[:, :, None, :2]
    return torch.cat([nn.functional.grid_sample(m, grid, mode="bilinear", padding_mode="zeros",
                                                align_corners=False)[..., 0].transpose(1, 2) for m in maps], 2)


class Pixel2MeshFace(nn.Module):
    """(B, 3, 224, 224) crop -> list of 4 vertex tensors (B, n_k, 3) in crop space, coarse to fine
    (`outputs["stages"]`) and the pre-deformation positions of each block (`outputs["before"]`, for the
    Laplacian and move losses)."""

    def __init__(self, hidden: int = 192, n_res: int = 6, adaptive_unpool: bool = True) -> None:
        super().__init__()
        verts, levels, unpool = mesh_levels()
        self.levels = levels
        self.hidden, self.n_res, self.adaptive_unpool = hidden, n_res, adaptive_unpool
        self.register_buffer("init_vertices", torch.as_tensor(verts))
        self.encoder = Encoder()
        feat = sum(self.encoder.widths) + 3
        self.blocks = nn.ModuleList([GResNet(feat if k == 0 else feat + hidden, hidden, n_res) for k in range(4)])
        self.unpool = nn.ModuleList([Unpool(e, adaptive_unpool) for e in unpool])
        self._adj = [lv.adjacency() for lv in levels]

    def forward(self, x: torch.Tensor) -> dict[str, list[torch.Tensor]]:
        maps = self.encoder(x)
        xyz = self.init_vertices[None].expand(x.shape[0], -1, -1)
        stages, before, hidden = [], [], None
        for k, block in enumerate(self.blocks):
            feats = torch.cat([pool_features(maps, xyz), xyz], 2)
            if k > 0:
                feats = self.unpool[k - 1](torch.cat([feats, hidden], 2))
                xyz = self.unpool[k - 1](xyz)
            before.append(xyz)
            offset, hidden = block(feats, self._adj[k])
            xyz = xyz + offset
            stages.append(xyz)
        return {"stages": stages, "before": before}
