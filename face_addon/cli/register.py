"""`face register SCAN --out HEAD.ply (--skin SKIN.npy|SEG.ply | --segment) [--landmarks LM.json] [--json S.json]`:
fit FaceKit to the skin of a scan file. Pure core code (no bpy), the same under `blender -b -c face` and
`python -m face_addon`.

The skin comes from `face segment`'s output PLY (its per-vertex `quality` = skin probability, same vertex order
as the scan), from a .npy with one bool or probability per scan vertex, or, with --segment, from running the
3D skin model here. Landmarks come from a `face landmarks` file (.json/.csv/.pp in the scan's units), else the
landmark model runs. The scan's unit is the face frame's: from the landmarks .json when it records one (the
same unit `face landmarks` printed), else found on the scan (core/pipelines/register_head.py, Units).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .args import check_inputs, check_outputs, int_range
from .progress_display import add_quiet_option, stage_progress
from .summary import print_warnings, write_summary

MAX_ITERATIONS = 200  # the fit converges in ~15; more only costs time


def _read_skin_values(path: Path):
    import numpy as np

    if path.suffix.lower() == ".npy":
        return np.load(path, allow_pickle=False)  # never unpickle: a pickled .npy is refused
    import trimesh

    raw = trimesh.load(str(path), process=False).metadata.get("_ply_raw", {})
    data = raw.get("vertex", {}).get("data")
    if data is None or "quality" not in (data.dtype.names or ()):
        raise ValueError("no per-vertex 'quality' (skin probability); write it with `face segment`")
    return data["quality"]


def read_skin(path: Path, n_vertices: int):
    """(n,) skin mask or probability in [0, 1] from a .npy or a `face segment` PLY (MeshError when unreadable,
    mismatched or out of range; a missing file is refused earlier by check_inputs)."""
    import numpy as np

    from ..core.mesh import MeshError

    if path.suffix.lower() not in (".npy", ".ply"):
        raise MeshError(f"{path}: --skin takes a .npy (one value per vertex) or the .ply of `face segment`")
    try:
        raw = np.asarray(_read_skin_values(path))
        skin = raw.astype(np.float64) if raw.dtype.kind in "biuf" else None
    except Exception as exc:  # noqa: BLE001 - pickled/text/corrupt files are all the same user problem
        raise MeshError(f"{path}: not a skin file ({type(exc).__name__}: {exc})") from None
    if skin is None:
        raise MeshError(f"{path}: holds {raw.dtype} values, not numbers")
    if skin.shape != (n_vertices,):
        raise MeshError(f"{path}: {skin.size} skin values for a scan with {n_vertices} vertices")
    if not np.isfinite(skin).all() or skin.min() < 0 or skin.max() > 1:
        raise MeshError(f"{path}: skin values must be finite and in 0..1 (a mask or a probability)")
    return skin


def landmark_file_unit(path: Path) -> float | None:
    """The face frame's unit (metres per scan unit) recorded in a `face landmarks` .json (`orientation`), so the
    registration uses the very unit the landmarks were found in; None for .csv/.pp, no frame or anything odd
    (the registration then finds the frame itself)."""
    import json
    import math

    if path.suffix.lower() != ".json":
        return None
    try:
        unit = json.loads(path.read_text(encoding="utf-8")).get("orientation", {}).get("unit_scale_to_m")
    except (OSError, ValueError, AttributeError):  # unreadable or not the expected shape: read_landmarks says why
        return None
    return float(unit) if isinstance(unit, (int, float)) and math.isfinite(unit) and unit > 0 else None


def _cmd_register(args: argparse.Namespace) -> int:
    check_inputs((args.input, "file"), (args.skin, "file"), (args.landmarks, "landmark file"))  # before torch
    from ..core.atomic_write import atomic_outputs
    from ..core.dataset import write_ply
    from ..core.landmark_export import read_landmarks
    from ..core.mesh_files import load_mesh
    from ..core.pipelines.register_head import ITERATIONS, default_facekit, register_head

    check_outputs([args.input, args.skin, args.landmarks], [("--out", args.out, (".ply",)),
                                                            ("--json", args.json, (".json",))])
    mesh = load_mesh(args.input)
    faces = mesh.faces if mesh.n_faces else None
    skin = None if args.segment else read_skin(Path(args.skin), mesh.n_vertices)
    landmarks = read_landmarks(args.landmarks)[0] if args.landmarks else None
    frame_unit = landmark_file_unit(Path(args.landmarks)) if args.landmarks else None
    with stage_progress(args) as progress:
        reg = register_head(mesh.vertices, faces, skin, landmarks=landmarks, colors=mesh.colors,
                            iterations=args.iterations or ITERATIONS, nonrigid=args.nonrigid, progress=progress,
                            frame_unit=frame_unit)
    summary = None
    if args.json:
        fk = default_facekit()
        summary = {
            "source": str(args.input), "output": str(args.out),
            "units": "input", "unit_scale_to_m": reg.unit_scale, "input_unit": reg.unit_name,
            "unit_source": reg.unit_source, "scale": reg.scale,
            "rotation": reg.rotation.tolist(), "translation": reg.translation.tolist(),
            "alpha_id": dict(zip(fk.id_names, reg.alpha_id.tolist())),
            "alpha_exp": dict(zip(fk.exp_names, reg.alpha_exp.tolist())),
            "residual_mm": reg.residual_mm, "inlier_fraction": reg.inlier_fraction,
            "n_skin_points": reg.n_skin_points, "nonrigid": bool(args.nonrigid),
            "timings_s": {k: round(v, 4) for k, v in reg.timings.items()}, "warnings": reg.warnings}
    with atomic_outputs() as outs:  # the head and its summary appear together or not at all
        write_ply(outs.path(args.out), reg.vertices, reg.faces)
        if summary is not None:
            write_summary(outs.path(args.json), "registration", summary)
    print_warnings(reg.warnings)
    print(f"registered FaceKit to {reg.n_skin_points} skin points of {args.input} (units {reg.unit_name}, from the "
          f"{reg.unit_source}): residual {reg.residual_mm:.2f} mm, {100 * reg.inlier_fraction:.0f} % matched, "
          f"{reg.timings['total_s']:.1f} s -> {args.out}")
    return 0


def add_subcommands(subparsers) -> None:
    p = subparsers.add_parser("register", help="fit the FaceKit head to the skin of a scan (Pixels2Points)")
    p.add_argument("input", help="scan mesh or point cloud (.obj/.ply/.stl/.off/.glb), any unit and pose")
    p.add_argument("--out", required=True, help="output .ply: the registered head (FaceKit topology, scan units)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--skin", help="per-vertex skin: the .ply written by `face segment`, or a .npy (bool or "
                                    "probability per scan vertex)")
    src.add_argument("--segment", action="store_true", help="segment the skin here (3D skin model)")
    p.add_argument("--landmarks", help="landmarks of the scan (.json/.csv/.pp from `face landmarks`); default: "
                                       "run the landmark model")
    p.add_argument("--json", help="optional summary .json (coefficients, similarity, residual, timings)")
    p.add_argument("--iterations", type=int_range(1, MAX_ITERATIONS),
                   help=f"fitting iterations (1-{MAX_ITERATIONS}; default: the pipeline's, 15)")
    p.add_argument("--nonrigid", action="store_true", help="add per-vertex detail the model cannot express")
    add_quiet_option(p)
    p.set_defaults(func=_cmd_register)
