"""`face synth verify DIR`: every complete sample loads and its labels are sane. No bpy."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.dataset import CLASS_NAMES, complete_seeds, load_sample, read_index

SKIN_FRACTION_BAND = (0.05, 0.85)   # of scan vertices; a head scan is never almost all or no skin
LANDMARK_SNAP_MAX_M = 0.005         # median landmark-to-scan distance


@dataclass
class Report:
    n: int = 0
    problems: list[str] = field(default_factory=list)
    skin_fractions: list[float] = field(default_factory=list)
    snap_medians: list[float] = field(default_factory=list)
    unindexed: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [f"{self.n} complete samples, {len(self.problems)} problems"]
        if self.skin_fractions:
            sf = np.array(self.skin_fractions)
            out.append(f"skin fraction: mean {sf.mean():.3f}, min {sf.min():.3f}, max {sf.max():.3f}")
            sm = np.array(self.snap_medians) * 1000
            out.append(f"landmark snap distance (median per sample): mean {sm.mean():.2f} mm, max {sm.max():.2f} mm")
        if self.unindexed:
            out.append(f"{self.unindexed} complete samples missing from index.json (run generate again to refresh)")
        return out + [f"  {p}" for p in self.problems]


def check_sample(root: Path, seed: int) -> tuple[list[str], float, float]:
    """(problems, skin fraction, median landmark snap distance) of one sample."""
    s = load_sample(root, seed)
    n = len(s.scan_vertices)
    bad = []
    for name in ("distance", "skin", "class_id"):
        if len(getattr(s, name)) != n:
            bad.append(f"{seed}: {name} has {len(getattr(s, name))} entries for {n} scan vertices")
    if not np.isfinite(s.scan_vertices).all() or not np.isfinite(s.distance).all():
        bad.append(f"{seed}: NaN/inf in scan or distances")
    if len(s.scan_faces) and (s.scan_faces.max() >= n):
        bad.append(f"{seed}: face index out of range")
    if not np.array_equal(s.skin, s.distance < 0.0015):
        bad.append(f"{seed}: skin label != distance < 1.5 mm")
    if s.class_id.max(initial=0) >= len(CLASS_NAMES):
        bad.append(f"{seed}: class id out of range")
    if s.landmarks.shape != (68, 3):
        bad.append(f"{seed}: landmarks shape {s.landmarks.shape}")
    frac = float(s.skin.mean()) if n else 0.0
    if not SKIN_FRACTION_BAND[0] <= frac <= SKIN_FRACTION_BAND[1]:
        bad.append(f"{seed}: skin fraction {frac:.3f} outside {SKIN_FRACTION_BAND}")
    snap = float(np.median(s.landmark_snap))
    if snap > LANDMARK_SNAP_MAX_M:
        bad.append(f"{seed}: median landmark snap {snap * 1000:.1f} mm > {LANDMARK_SNAP_MAX_M * 1000} mm")
    if s.meta.get("profile") == "full":
        for i in range(len(s.cameras or [])):
            for suffix in ("", "_parts"):
                if not (s.path / "views" / f"{i:02d}{suffix}.png").is_file():
                    bad.append(f"{seed}: views/{i:02d}{suffix}.png missing")
    return bad, frac, snap


def verify_dataset(root: Path) -> Report:
    rep = Report()
    seeds = complete_seeds(root)
    rep.unindexed = len(set(seeds) - set(read_index(root)))
    for seed in seeds:
        rep.n += 1
        try:
            bad, frac, snap = check_sample(root, seed)
        except Exception as exc:  # a broken file is a finding, not a crash
            rep.problems.append(f"{seed}: cannot load ({type(exc).__name__}: {exc})")
            continue
        rep.problems += bad
        rep.skin_fractions.append(frac)
        rep.snap_medians.append(snap)
    return rep
