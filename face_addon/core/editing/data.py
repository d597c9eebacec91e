"""Neutral FaceKit faces for training and testing the editing model, by seed, in millimetres.

The paper edits neutral shapes (expressions are added afterwards), so faces are identity-only draws from
FaceKit's documented prior. A face set is (seed, count): `rng = default_rng(seed)`, `count` draws. The
training pool and the held-out test set use disjoint seeds (TRAIN_SEED vs TEST_SEED), never the same draws.
"""
from __future__ import annotations

import numpy as np
import torch

from ..facekit import FaceKit

TRAIN_SEED, TRAIN_COUNT = 0, 100_000
TEST_SEED, TEST_COUNT = 1_000_003, 200


def identity_pool(fk: FaceKit, seed: int, count: int) -> np.ndarray:
    """(count, K_id) identity coefficients, float32 (expressions are zero: neutral faces)."""
    alpha_id, _ = fk.sample_prior(np.random.default_rng(seed), count)
    return alpha_id


class FaceSampler:
    """Evaluates FaceKit identities to vertices in mm with torch (one matmul per batch)."""

    def __init__(self, fk: FaceKit) -> None:
        self.template = torch.as_tensor(fk.template * 1000.0, dtype=torch.float32)
        self.basis = torch.as_tensor(fk.id_basis.reshape(-1, fk.id_basis.shape[-1]) * 1000.0, dtype=torch.float32)

    def __call__(self, alpha_id: np.ndarray | torch.Tensor) -> torch.Tensor:
        a = torch.as_tensor(alpha_id, dtype=torch.float32)
        return self.template + (a @ self.basis.T).reshape(len(a), -1, 3)
