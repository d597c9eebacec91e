"""What the extension can do right now, and why not when it can't.

The sidebar and `face info` show this list, so a user learns that e.g. landmark weights are missing instead of
meeting a traceback. Readiness is derived from files on disk, never hard-coded as "ready".
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
MODELS_DIR = PACKAGE_DIR / "models"
ASSETS_DIR = PACKAGE_DIR / "assets"


@dataclass(frozen=True)
class Capability:
    """One user-facing capability and the files it needs."""

    key: str
    label: str
    operator: str
    needs: tuple[str, ...]  # paths relative to the package directory
    implemented: bool
    caveat: str = ""  # shown next to a ready capability whose shipped model is known to be weak

    def status(self, package_dir: Path = PACKAGE_DIR) -> str:
        """'ready', 'not implemented yet', or 'missing: <file>, ...'."""
        if not self.implemented:
            return "not implemented yet"
        missing = [n for n in self.needs if not (package_dir / n).is_file()]
        return "ready" if not missing else "missing: " + ", ".join(missing)

    def ready(self, package_dir: Path = PACKAGE_DIR) -> bool:
        return self.status(package_dir) == "ready"


CAPABILITIES: tuple[Capability, ...] = (
    Capability("inspect", "Check Mesh", "face.check_mesh", (), True),
    Capability("facekit", "Add Face Model", "face.add_face_model", ("assets/facekit.npz",), True),
    Capability("skin", "Segment Skin", "face.segment_skin", ("models/skin_3d.pt", "models/skin_geom.pt"), True,
               caveat="trained on synthetic scans only; best on upright, vertex-coloured scans: see docs/skin.md"),
    Capability("register", "Register Head", "face.register_head", ("assets/facekit.npz", "models/landmarks.pt"),
               True),
    Capability("landmarks", "Detect Landmarks", "face.detect_landmarks",
               ("models/landmarks.pt", "assets/facekit.npz", "assets/mediapipe_face.npz",
                "models/mediapipe_facekit.npz"), True,
               caveat="view-based (MediaPipe face mesh on renders), any orientation; ~6.5 mm on real face scans: "
                      "see docs/landmarks.md"),
    Capability("photo", "Reconstruct from Photo", "face.reconstruct_photo",
               ("assets/facekit.npz", "assets/mediapipe_face.npz"), True,  # without the regressor: fit, warn
               caveat="Preliminary: trained on 335 synthetic subjects; parts align (IoU 0.64), 3D shape is "
                      "close to the mean face; see docs/photo.md"),
    Capability("pixel2mesh", "Reconstruct from Photo: Pixel2Mesh", "face.reconstruct_photo",
               ("assets/mediapipe_face.npz", "models/pixel2mesh_face.pt"), True,
               caveat="Preliminary: trained 3000 steps on 879 synthetic views; see docs/pixel2mesh.md"),
    Capability("edit", "Face Edit", "face.edit_face", ("models/neo3df.pt",), True),
    Capability("synth", "Synthetic Data (CLI)", "", ("assets/facekit.npz",), True),
)


def capability(key: str) -> Capability:
    """Look a capability up by key (KeyError names the known keys)."""
    for cap in CAPABILITIES:
        if cap.key == key:
            return cap
    raise KeyError(f"unknown capability {key!r}; known: {[c.key for c in CAPABILITIES]}")
