"""The train-split samples of the `--data` folders, listed anew at every epoch so that samples a running
`face synth` adds while training join the data (landmark and skin trainers)."""
from __future__ import annotations

from pathlib import Path

from ..core.dataset import complete_seeds, split_of


def train_seeds(roots: list[Path]) -> list[tuple[Path, int]]:
    """(folder, seed) of every complete train-split sample (seeds below the test range) in `roots`."""
    return [(r, seed) for r in roots for seed in complete_seeds(r) if split_of(seed) == "train"]
