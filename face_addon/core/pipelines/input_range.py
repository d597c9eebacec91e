"""The range of a skin network's inputs on its training scans, and how far a scan's vertices lie outside it.

DiffusionNet answers anything for inputs it never saw: on real scans the lifted cross-view variance of the image
features (img_var) lies far outside the synthetic training range, and the network then calls whole faces non-skin
while the image branch alone reads them correctly. The range is measured on the training scans
(`tests/bench/skin_input_range.py`, stored beside the model as `<model>_range.json`): per input column the
LOW_PERCENTILE..HIGH_PERCENTILE percentiles, and per vertex the largest excess beyond them over all columns, in
training standard deviations. The trusted excess is the TRUSTED_PERCENTILE of that excess over the training
vertices, so 99.5 % of training vertices keep the network's decision; beyond it the image branch takes over
linearly within BLEND_STD more standard deviations (like the σ rule in segment_skin).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5
TRUSTED_PERCENTILE = 99.5
#: standard deviations beyond the trusted excess over which the image branch takes over fully
BLEND_STD = 1.0
#: when more than this fraction of a scan's vertices is handed over, the whole scan is (its inputs as a whole are
#: foreign to the network, so its decisions on the rest are not trusted either)
SCAN_HANDOVER_FRACTION = 0.5
RANGE_SUFFIX = "_range.json"


@dataclass(frozen=True)
class InputRange:
    """Per-column training range of a network's raw inputs (the columns of segment_skin.feature_matrix)."""

    features: tuple[str, ...]   # the feature names the columns come from, in order
    columns: tuple[str, ...]    # one name per column ("img_var[3]"), for messages
    low: np.ndarray             # (C,) LOW_PERCENTILE of each column on the training vertices
    high: np.ndarray            # (C,) HIGH_PERCENTILE
    std: np.ndarray             # (C,) training standard deviation (the unit of the excess)
    trusted_excess: float       # TRUSTED_PERCENTILE of the per-vertex excess on the training vertices

    def excess(self, x: np.ndarray) -> np.ndarray:
        """(n, C) how far each input lies outside its column's training range, in training standard deviations."""
        return np.maximum(np.maximum(self.low - x, x - self.high), 0.0) / self.std

    def handover(self, x: np.ndarray) -> tuple[np.ndarray, str | None]:
        """((n,) weight in [0, 1] of the image branch per vertex, a one-line warning or None) for raw inputs x."""
        ex = self.excess(x)
        w = np.clip((ex.max(axis=1) - self.trusted_excess) / BLEND_STD, 0.0, 1.0)
        handed = w > 0.5
        if not handed.any():
            return w, None
        group = self.columns[int(np.argmax((ex[handed] > self.trusted_excess).sum(axis=0)))].split("[")[0]
        if handed.mean() > SCAN_HANDOVER_FRACTION:
            return np.ones_like(w), (f"the network's inputs on {100 * handed.mean():.0f} % of the scan are outside "
                                     f"its training range (mostly {group}): the images decided on the whole scan")
        message = (f"the network's inputs on {100 * handed.mean():.1f} % of the scan are outside its training range "
                   f"(mostly {group}): the images decided there") if handed.mean() >= 0.01 else None
        return w, message

    def to_json(self) -> dict:
        return {"features": list(self.features), "columns": list(self.columns), "low": self.low.tolist(),
                "high": self.high.tolist(), "std": self.std.tolist(), "trusted_excess": self.trusted_excess,
                "percentiles": [LOW_PERCENTILE, HIGH_PERCENTILE], "trusted_percentile": TRUSTED_PERCENTILE}


def column_names(features: tuple[str, ...], widths: list[int]) -> tuple[str, ...]:
    """'sigma30', 'hks[0]', ... for features of the given column widths."""
    return tuple(name if width == 1 else f"{name}[{i}]" for name, width in zip(features, widths) for i in range(width))


def measure_range(x: np.ndarray, features: tuple[str, ...], columns: tuple[str, ...]) -> InputRange:
    """The range of the training inputs x (n, C): percentiles per column, then the trusted per-vertex excess."""
    low, high = np.percentile(x, [LOW_PERCENTILE, HIGH_PERCENTILE], axis=0)
    partial = InputRange(features, columns, low, high, np.maximum(x.std(axis=0), 1e-6), 0.0)
    trusted = float(np.percentile(partial.excess(x).max(axis=1), TRUSTED_PERCENTILE))
    return InputRange(features, columns, low, high, partial.std, trusted)


def range_path(weights_path: Path | str) -> Path:
    """Where a model's input range lives: beside its weights (skin_p2p.pt → skin_p2p_range.json)."""
    path = Path(weights_path)
    return path.with_name(path.stem + RANGE_SUFFIX)


def load_range(weights_path: Path | str, features: tuple[str, ...]) -> InputRange | None:
    """The stored input range of a model, or None when it has none or it was measured for other inputs."""
    path = range_path(weights_path)
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data["features"]) != tuple(features):
        return None
    return InputRange(tuple(data["features"]), tuple(data["columns"]), np.asarray(data["low"], np.float64),
                      np.asarray(data["high"], np.float64), np.asarray(data["std"], np.float64),
                      float(data["trusted_excess"]))
