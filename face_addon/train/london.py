"""The Face Research Lab London Set (DeBruine & Jones 2017, CC BY 4.0, doi:10.6084/m9.figshare.5047666.v5) as
calibration / evaluation data: human landmarks in iBUG numbering and the shipped face mesh run on each photo.

It lives in `../shared/real/photos/london` (see its README) and is never part of the project. The 468 MediaPipe
points of each photo take about a second to compute, so they are cached (`out/london_mediapipe_<set>.npz`, and
`..._<set>_<model>.npz` for a face-mesh model other than the plain one, beside the repository's other
uncommitted outputs); a cache made by another detector version is recomputed when its `detector` stamp differs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO / "out"
SETS = {"neutral": "_03", "smiling": "_08"}


@dataclass(frozen=True)
class LondonLandmarks:
    """Human annotation of the neutral photos in iBUG numbering: `points` (people, 44, 2) pixels at the iBUG
    indices `ibug` (44,), for the people `ids` ('001' ...)."""

    ids: tuple[str, ...]
    ibug: np.ndarray
    points: np.ndarray

    def inter_ocular(self) -> np.ndarray:
        """(people,) outer eye-corner distance (iBUG 36-45) in pixels, the NME normaliser."""
        i36, i45 = (int(np.flatnonzero(self.ibug == k)[0]) for k in (36, 45))
        return np.linalg.norm(self.points[:, i36] - self.points[:, i45], axis=-1)


def london_dir(root: Path) -> Path:
    return Path(root) / "photos" / "london"


def load_landmarks(root: Path) -> LondonLandmarks:
    """The 189-point template of each neutral photo reduced to the 44 iBUG points its published map covers."""
    d = london_dir(root)
    table = json.loads((d / "ibug68_from_FRL189_approx.json").read_text())["map"]
    ibug = np.array(sorted(int(k) for k in table))
    frl = np.array([table[str(k)] for k in ibug])
    marks = json.loads((d / "landmarks_neutral.json").read_text())
    ids = tuple(sorted(name.split("_")[0] for name in marks))
    pts = np.stack([np.asarray(marks[f"{i}_03.jpg"]["frl189_xy"], np.float64)[frl] for i in ids])
    return LondonLandmarks(ids, ibug, pts)


def load_info(root: Path) -> dict[str, dict[str, str]]:
    """id -> {'gender': ..., 'ethnicity': ..., 'age': ...} from london_info.csv."""
    lines = (london_dir(root) / "london_info.csv").read_text().strip().splitlines()
    out = {}
    for line in lines[1:]:
        fid, age, gender, eth = line.split(",")[:4]
        out[fid] = {"age": age, "gender": gender, "ethnicity": eth}
    return out


def photo_path(root: Path, person: str, which: str = "neutral") -> Path:
    return london_dir(root) / which / f"{person}{SETS[which]}.jpg"


def mediapipe_points(root: Path, ids: tuple[str, ...], which: str = "neutral",
                     cache_dir: Path = CACHE_DIR, model: str = "mesh") -> np.ndarray:
    """(people, 468, 3) face-mesh points (photo pixels, relative depth) of the largest face in each photo by the
    face-mesh `model` (`face_mesh.MESH_MODELS`); NaN where no face is found. Cached per set and model."""
    from face_addon.core.photo import PhotoError, image_io
    from face_addon.core.photo.face_mesh import detect_drawn_by

    cache = Path(cache_dir) / f"london_mediapipe_{which}{'' if model == 'mesh' else '_' + model}.npz"
    stamp = _detector_stamp()
    done: dict[str, np.ndarray] = {}
    if cache.is_file():
        with np.load(cache) as z:
            if str(z["detector"]) == stamp:
                done = dict(zip(z["ids"].tolist(), z["points"]))
    missing = [i for i in ids if i not in done]
    for k, person in enumerate(missing):
        try:
            done[person] = detect_drawn_by(image_io.load_photo(photo_path(root, person, which)), model)[0].points
        except PhotoError:
            done[person] = np.full((468, 3), np.nan)
        if (k + 1) % 20 == 0 or k + 1 == len(missing):
            cache.parent.mkdir(parents=True, exist_ok=True)
            keys = sorted(done)
            np.savez(cache, ids=np.array(keys), points=np.stack([done[i] for i in keys]), detector=stamp)
    return np.stack([done[i] for i in ids])


def _detector_stamp() -> str:
    """Hash of the detector / mesh sources: a changed front end invalidates the cache."""
    import hashlib

    from face_addon.core.photo import face_detect, face_mesh

    h = hashlib.sha256()
    for mod in (face_detect, face_mesh):
        h.update(Path(mod.__file__).read_bytes())
    return h.hexdigest()[:16]
