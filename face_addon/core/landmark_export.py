"""Landmark files: JSON (ours), CSV and MeshLab PickPoints (.pp). Plain text, no bpy.

JSON: {"format": "face_addon.landmarks", "version": 1, "units": "m", "source": ..., "landmarks": [
       {"index": 30, "name": "nose_tip", "position": [x, y, z], "confidence": 0.93}, ...]}
CSV:  index,name,x,y,z,confidence (header line first)
.pp:  MeshLab's PickedPoints XML (File ▸ Import picked points); names are "LM_30_nose_tip".
"""
from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from .atomic_write import write_text_atomic
from .errors import MeshError
from .ibug68 import NAMES, empty_names

FORMATS = ("json", "csv", "pp")


def _check(points: np.ndarray, confidence: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(points, np.float64).reshape(-1, 3)
    if len(p) != len(NAMES):
        raise ValueError(f"expected {len(NAMES)} landmarks, got {len(p)}")
    c = np.full(len(p), np.nan) if confidence is None else np.asarray(confidence, np.float64).ravel()
    return p, c


def landmarks_to_dict(points, confidence=None, source: str = "", units: str = "m", extra: dict | None = None) -> dict:
    p, c = _check(points, confidence)
    items = [{"index": i, "name": NAMES[i], "position": [float(x) for x in p[i]],
              **({} if np.isnan(c[i]) else {"confidence": float(c[i])})} for i in range(len(p))]
    return {"format": "face_addon.landmarks", "version": 1, "units": units, "source": source,
            **(extra or {}), "landmarks": items}


def write_landmarks(path: Path | str, points, confidence=None, source: str = "", units: str = "m",
                    extra: dict | None = None) -> Path:
    """Write landmarks as .json, .csv or .pp, chosen by the file extension."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    p, c = _check(points, confidence)
    if fmt == "json":
        write_text_atomic(path, json.dumps(landmarks_to_dict(p, c, source, units, extra), indent=1) + "\n")
    elif fmt == "csv":
        lines = ["index,name,x,y,z,confidence"]
        lines += [f"{i},{NAMES[i]},{p[i, 0]:.9g},{p[i, 1]:.9g},{p[i, 2]:.9g},{'' if np.isnan(c[i]) else f'{c[i]:.4f}'}"
                  for i in range(len(p))]
        write_text_atomic(path, "\n".join(lines) + "\n")
    elif fmt == "pp":
        names = empty_names()
        rows = "\n".join(f' <point x="{p[i, 0]:.9g}" y="{p[i, 1]:.9g}" z="{p[i, 2]:.9g}" active="1" name={quoteattr(names[i])}/>'
                         for i in range(len(p)))
        write_text_atomic(path, "<!DOCTYPE PickedPoints>\n<PickedPoints>\n <DocumentData>\n"
                        f"  <DataFileName name={quoteattr(source)}/>\n  <templateName name=\"iBUG68\"/>\n"
                        f" </DocumentData>\n{rows}\n</PickedPoints>\n")
    else:
        raise MeshError(f"{path}: unknown landmark format '{path.suffix}': use one of "
                        + ", ".join("." + f for f in FORMATS))
    return path


def read_landmarks(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """(points (68, 3), confidence (68,) NaN where absent) from a file written by `write_landmarks` (or edited
    by hand); MeshError with the file name for anything else (missing, malformed, not 68 finite points)."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise MeshError(f"{path}: unknown landmark format '{path.suffix}'; use one of "
                        + ", ".join("." + f for f in FORMATS))
    if not path.is_file():
        raise MeshError(f"{path}: no such landmark file")
    try:
        pts, conf = _READERS[fmt](path)
    except Exception as exc:  # noqa: BLE001 - json/xml/unicode/shape errors are all the same user problem
        raise MeshError(f"{path}: not a landmark file written by `face landmarks` ({type(exc).__name__}: "
                        f"{exc})") from None
    if pts.shape != (len(NAMES), 3) or conf.shape != (len(NAMES),):
        raise MeshError(f"{path}: {len(pts)} landmarks, expected the {len(NAMES)} iBUG landmarks")
    if not np.isfinite(pts).all():
        raise MeshError(f"{path}: landmark positions contain NaN or infinite values")
    return pts, conf


def _read_json(path: Path) -> tuple[np.ndarray, np.ndarray]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("landmarks"), list):
        raise ValueError('expected an object with a "landmarks" list')
    items = sorted(doc["landmarks"], key=lambda x: int(x["index"]))
    if [int(x["index"]) for x in items] != list(range(len(items))):
        raise ValueError("landmark indices must be 0, 1, 2, ... without gaps or repeats")
    pts = np.array([[float(c) for c in x["position"]] for x in items], np.float64).reshape(-1, 3)
    conf = np.array([float(x.get("confidence", np.nan)) for x in items], np.float64)
    return pts, conf


def _read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    rows = [r.split(",") for r in path.read_text(encoding="utf-8").strip().splitlines()[1:]]
    pts = np.array([[float(v) for v in r[2:5]] for r in rows], np.float64).reshape(-1, 3)
    conf = np.array([float(r[5]) if len(r) > 5 and r[5].strip() else np.nan for r in rows], np.float64)
    return pts, conf


def _read_pp(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import xml.etree.ElementTree as ET

    pts = np.array([[float(e.get(a)) for a in "xyz"] for e in ET.parse(path).getroot().iter("point")],
                   np.float64).reshape(-1, 3)
    return pts, np.full(len(pts), np.nan)


_READERS = {"json": _read_json, "csv": _read_csv, "pp": _read_pp}
