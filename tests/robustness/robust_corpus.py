"""The hostile-input corpus of the robustness suite, built at run time in a temp folder (nothing committed).

Every file is small: a 642-vertex sphere stands in for a scan, the FaceKit template for a face; the bad files
are the kinds a sweep of real user mistakes turned up (empty, garbage, truncated, NaN, out-of-range indices,
absurd units, malformed side files, pickled arrays, corrupt weights, a user's own index.json).
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

SPHERE_RADIUS_M = 0.1


def _sphere(subdivisions: int = 3) -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    m = trimesh.creation.icosphere(subdivisions=subdivisions, radius=SPHERE_RADIUS_M)
    return np.asarray(m.vertices), np.asarray(m.faces)


def _write_obj(path: Path, v: np.ndarray, f: np.ndarray) -> None:
    lines = [f"v {x!r} {y!r} {z!r}" for x, y, z in v] + [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in f]
    path.write_text("\n".join(lines) + "\n")


def _landmarks_json(points: np.ndarray) -> dict:
    return {"format": "face_addon.landmarks", "version": 1, "units": "input",
            "landmarks": [{"index": i, "name": f"p{i}", "position": [float(c) for c in p]} for i, p in enumerate(points)]}


def build_corpus(root: Path) -> Path:
    """Write the corpus into `root` (created) and return it. Names are what the cases refer to."""
    from face_addon.core.dataset import write_ply
    from face_addon.core.facekit import load_facekit

    root.mkdir(parents=True, exist_ok=True)
    v, f = _sphere()
    write_ply(root / "sphere.ply", v, f)
    _write_obj(root / "sphere.obj", v, f)
    write_ply(root / "cloud.ply", v, np.zeros((0, 3)))
    write_ply(root / "tiny_um.ply", v * 2.35e-6, f)        # 0.47 µm across: no unit makes it a head
    write_ply(root / "huge_km.ply", v * 2.365e6, f)        # 473 km across
    fk = load_facekit()
    _write_obj(root / "head.obj", fk.template, fk.faces)
    _write_obj(root / "head_mm.obj", fk.template * 1000.0, fk.faces)
    (root / "empty.obj").write_bytes(b"")
    (root / "garbage.ply").write_bytes(np.random.default_rng(0).bytes(4096))
    full = (root / "sphere.ply").read_bytes()
    (root / "truncated.ply").write_bytes(full[: len(full) // 2])
    _write_obj(root / "nan.obj", np.vstack([v[:-1], [[np.nan, 0, 0]]]), f)
    (root / "badindex.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 99\n")
    (root / "mesh.xyz").write_text("0 0 0\n1 0 0\n")
    (root / "a folder.obj").mkdir()
    (root / "not_a_folder").write_text("a file where a folder is expected\n")
    # landmark side files
    lm = v[:68] * 1.0
    (root / "lm_ok.json").write_text(json.dumps(_landmarks_json(lm)))
    (root / "lm_mm.json").write_text(json.dumps(_landmarks_json(lm * 1000.0 + 5000.0)))
    (root / "lm_list.json").write_text(json.dumps([[0, 0, 0]] * 68))
    (root / "lm_noindex.json").write_text(json.dumps({"landmarks": [{"position": [0, 0, 0]}] * 68}))
    (root / "lm_empty.json").write_bytes(b"")
    (root / "lm_short.json").write_text(json.dumps(_landmarks_json(lm[:10])))
    (root / "lm_nan.json").write_text(json.dumps(_landmarks_json(lm)).replace(repr(float(lm[3, 0])), "NaN", 1))
    (root / "lm_bad.csv").write_text("index,name,x,y,z,confidence\n0,a,one,two,three,\n")
    (root / "lm_bad.pp").write_text("<PickedPoints><point x='1' y='2'")
    (root / "lm_latin1.json").write_bytes("{\"landmarks\": \"\xe9\"}".encode("latin-1"))
    # skin side files
    n = len(v)
    np.save(root / "skin_ok.npy", np.ones(n, bool))
    np.save(root / "skin_short.npy", np.ones(n - 1, bool))
    np.save(root / "skin_nan.npy", np.full(n, np.nan))
    np.save(root / "skin_range.npy", np.full(n, 7.0))
    np.save(root / "skin_pickle.npy", np.array([{"evil": 1}] * 3, dtype=object), allow_pickle=True)
    np.save(root / "skin_strings.npy", np.array(["a"] * n))
    (root / "skin_text.npy").write_text("1\n" * n)
    # photos and weights
    (root / "garbage.png").write_bytes(np.random.default_rng(1).bytes(2048))
    (root / "empty.jpg").write_bytes(b"")
    (root / "corrupt.pt").write_bytes(pickle.dumps({"state_dict": "not tensors"}) + b"\x00" * 64)
    # a user's own folder with an index.json synth must not replace
    user = root / "user_folder"
    user.mkdir()
    (user / "index.json").write_text('{"my": "own index"}\n')
    return root
