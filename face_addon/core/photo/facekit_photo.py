"""FaceKit as the photo-fitting model: the 3DDFA-V3 parts, per-triangle part classes, prior scales for the
regulariser, REALY-style evaluation regions and the MediaPipe→FaceKit landmark embedding."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

from ..dataset import CLASS_IDS
from ..facekit import FaceKit, load_facekit
from ..models import available, resolve

#: the 3DDFA-V3 part set P, in CLASS_IDS order
PARTS = ("skin", "left_eye", "right_eye", "left_eyebrow", "right_eyebrow", "nose", "up_lip", "down_lip")
#: REALY evaluation regions
REGIONS = ("nose", "mouth", "forehead", "cheek")
#: the 468 points' places on FaceKit, measured per face mesh model (`train/photo_embedding.py --mesh-model`): the
#: attention model draws lips and lids elsewhere than the plain mesh, so its points sit elsewhere on the face
EMBEDDING_FILES = {"mesh": "mediapipe_facekit.npz", "attention": "mediapipe_facekit_attention.npz"}
T = TypeVar("T")


@dataclass
class PhotoFaceKit:
    """FaceKit plus what photo fitting needs (all template-topology indices)."""

    fk: FaceKit
    part_vertices: dict[str, np.ndarray]
    id_mean: np.ndarray
    id_std: np.ndarray
    exp_mean: np.ndarray
    exp_std: np.ndarray
    regions: dict[str, np.ndarray]
    embedding: dict[str, np.ndarray] = field(default_factory=dict)  # mediapipe index -> (triangle, barycentric)
    mesh_model: str = "mesh"  # the face mesh whose points the embedding places (`EMBEDDING_FILES`)

    def embedded_points(self, vertices):
        """(468, 3) points of the MediaPipe mesh on FaceKit vertices (numpy or torch (.., n, 3))."""
        tri = self.fk.faces[self.embedding["triangle"]]
        w = self.embedding["bary"]
        if isinstance(vertices, np.ndarray):
            return (vertices[..., tri, :] * w[:, :, None]).sum(-2)
        import torch

        wt = torch.as_tensor(w, dtype=vertices.dtype, device=vertices.device)
        return (vertices[..., torch.as_tensor(tri), :] * wt[:, :, None]).sum(-2)


def _regions(fk: FaceKit) -> dict[str, np.ndarray]:
    """REALY's nose / mouth / forehead (eyes and brows up) / cheek split of the facial-skin (spa) region."""
    v = fk.template
    spa = np.zeros(len(v), bool)
    spa[fk.spa] = True
    nose = np.zeros(len(v), bool)
    nose[fk.parts["nose"]] = True
    lips = np.concatenate([fk.parts["up_lip"], fk.parts["down_lip"]])
    from scipy.spatial import cKDTree

    d_lip, _ = cKDTree(v[lips]).query(v)
    mouth = spa & ~nose & (d_lip < 0.012)
    eyes = np.concatenate([fk.parts["left_eye"], fk.parts["right_eye"]])
    forehead = spa & ~nose & ~mouth & (v[:, 2] > v[eyes, 2].min() - 0.005)
    cheek = spa & ~nose & ~mouth & ~forehead
    return {"nose": np.flatnonzero(spa & nose), "mouth": np.flatnonzero(mouth),
            "forehead": np.flatnonzero(forehead), "cheek": np.flatnonzero(cheek)}


@lru_cache(maxsize=2)
def load_photo_facekit(models_dir: Path | None = None, mesh_model: str = "mesh") -> PhotoFaceKit:
    """FaceKit for fitting the points of the face mesh `mesh_model` (its embedding; none when the file is absent)."""
    if mesh_model not in EMBEDDING_FILES:
        raise ValueError(f"no MediaPipe embedding for face mesh model {mesh_model!r}: one of {tuple(EMBEDDING_FILES)}")
    fk = load_facekit()
    rng = np.random.default_rng(0)
    a_id, a_exp = fk.sample_prior(rng, 20000)
    embedding = {}
    name = EMBEDDING_FILES[mesh_model]
    if available(name, models_dir):  # the model folder's file, else the shipped one (core.models)
        with np.load(resolve(name, models_dir)) as z:
            embedding = {k: z[k] for k in z.files}
    return PhotoFaceKit(
        fk=fk, part_vertices={p: np.asarray(fk.parts[p]) for p in PARTS},
        id_mean=a_id.mean(0), id_std=np.maximum(a_id.std(0), 1e-3),
        exp_mean=a_exp.mean(0), exp_std=np.maximum(a_exp.std(0), 1e-3),
        regions=_regions(fk), embedding=embedding, mesh_model=mesh_model)


def per_model(build: Callable[[PhotoFaceKit], T]) -> Callable[[PhotoFaceKit], T]:
    """Cache `build(model)` per model object (PhotoFaceKit is an unhashable dataclass; there is one per process
    in practice, `load_photo_facekit`'s)."""
    cache: dict[int, tuple[PhotoFaceKit, T]] = {}

    def cached(model: PhotoFaceKit) -> T:
        if id(model) not in cache:
            cache[id(model)] = (model, build(model))
        return cache[id(model)][1]

    cached.__doc__ = build.__doc__
    return cached


def part_class_ids() -> dict[str, int]:
    return {p: CLASS_IDS[p] for p in PARTS}
