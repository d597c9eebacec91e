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
        path.write_text(json.dumps(landmarks_to_dict(p, c, source, units, extra), indent=1) + "\n")
    elif fmt == "csv":
        lines = ["index,name,x,y,z,confidence"]
        lines += [f"{i},{NAMES[i]},{p[i, 0]:.9g},{p[i, 1]:.9g},{p[i, 2]:.9g},{'' if np.isnan(c[i]) else f'{c[i]:.4f}'}"
                  for i in range(len(p))]
        path.write_text("\n".join(lines) + "\n")
    elif fmt == "pp":
        names = empty_names()
        rows = "\n".join(f' <point x="{p[i, 0]:.9g}" y="{p[i, 1]:.9g}" z="{p[i, 2]:.9g}" active="1" name={quoteattr(names[i])}/>'
                         for i in range(len(p)))
        path.write_text("<!DOCTYPE PickedPoints>\n<PickedPoints>\n <DocumentData>\n"
                        f"  <DataFileName name={quoteattr(source)}/>\n  <templateName name=\"iBUG68\"/>\n"
                        f" </DocumentData>\n{rows}\n</PickedPoints>\n")
    else:
        raise ValueError(f"unknown landmark format '{path.suffix}': use one of {', '.join('.' + f for f in FORMATS)}")
    return path


def read_landmarks(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """(points (68, 3), confidence (68,) NaN where absent) from a file written by `write_landmarks`."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt == "json":
        d = json.loads(path.read_text())["landmarks"]
        pts = np.array([x["position"] for x in sorted(d, key=lambda x: x["index"])])
        conf = np.array([x.get("confidence", np.nan) for x in sorted(d, key=lambda x: x["index"])])
        return pts, conf
    if fmt == "csv":
        rows = [r.split(",") for r in path.read_text().strip().splitlines()[1:]]
        pts = np.array([[float(v) for v in r[2:5]] for r in rows])
        conf = np.array([float(r[5]) if r[5] else np.nan for r in rows])
        return pts, conf
    if fmt == "pp":
        import xml.etree.ElementTree as ET

        pts = np.array([[float(e.get(a)) for a in "xyz"] for e in ET.parse(path).getroot().iter("point")])
        return pts, np.full(len(pts), np.nan)
    raise ValueError(f"unknown landmark format '{path.suffix}'")
