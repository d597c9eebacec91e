"""`face register SCAN --out HEAD.ply (--skin SKIN.npy|SEG.ply | --segment) [--landmarks LM.json] [--json S.json]`:
fit FaceKit to the skin of a scan file. Pure core code (no bpy), the same under `blender -b -c face` and
`python -m face_addon`.

The skin comes from `face segment`'s output PLY (its per-vertex `quality` = skin probability, same vertex order
as the scan), from a .npy with one bool or probability per scan vertex, or, with --segment, from running the
3D skin model here. Landmarks come from a `face landmarks` file (.json/.csv/.pp in the scan's units), else the
landmark model runs.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def read_skin(path: Path, n_vertices: int):
    """(n,) skin mask or probability from a .npy or a `face segment` PLY (MeshError when unreadable/mismatched)."""
    import numpy as np

    from ..core.mesh import MeshError

    if not path.is_file():
        raise MeshError(f"{path}: no such file")
    if path.suffix.lower() == ".npy":
        skin = np.load(path, allow_pickle=False)
    elif path.suffix.lower() == ".ply":
        import trimesh

        raw = trimesh.load(str(path), process=False).metadata.get("_ply_raw", {})
        data = raw.get("vertex", {}).get("data")
        if data is None or "quality" not in data.dtype.names:
            raise MeshError(f"{path}: no per-vertex 'quality' (skin probability); write it with `face segment`")
        skin = np.asarray(data["quality"], np.float64)
    else:
        raise MeshError(f"{path}: --skin takes a .npy (one value per vertex) or the .ply of `face segment`")
    if skin.shape != (n_vertices,):
        raise MeshError(f"{path}: {skin.size} skin values for a scan with {n_vertices} vertices")
    return skin


def _cmd_register(args: argparse.Namespace) -> int:
    import json
    import sys

    from ..core.dataset import write_ply
    from ..core.landmark_export import read_landmarks
    from ..core.mesh import MeshError
    from ..core.mesh_files import load_mesh
    from ..core.pipelines.register_head import ITERATIONS, default_facekit, register_head

    if not str(args.out).lower().endswith(".ply"):
        raise MeshError(f"--out must be a .ply file (the registered head), got {args.out}")
    mesh = load_mesh(args.input)
    faces = mesh.faces if mesh.n_faces else None
    skin = None if args.segment else read_skin(Path(args.skin), mesh.n_vertices)
    landmarks = read_landmarks(args.landmarks)[0] if args.landmarks else None
    reg = register_head(mesh.vertices, faces, skin, landmarks=landmarks, colors=mesh.colors,
                        iterations=args.iterations or ITERATIONS, nonrigid=args.nonrigid)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_ply(args.out, reg.vertices, reg.faces)
    if args.json:
        fk = default_facekit()
        summary = {
            "format": "face_addon.registration", "version": 1, "source": str(args.input), "output": str(args.out),
            "units": "input", "unit_scale_to_m": reg.unit_scale, "scale": reg.scale,
            "rotation": reg.rotation.tolist(), "translation": reg.translation.tolist(),
            "alpha_id": dict(zip(fk.id_names, reg.alpha_id.tolist())),
            "alpha_exp": dict(zip(fk.exp_names, reg.alpha_exp.tolist())),
            "residual_mm": reg.residual_mm, "inlier_fraction": reg.inlier_fraction,
            "n_skin_points": reg.n_skin_points, "nonrigid": bool(args.nonrigid),
            "timings_s": {k: round(v, 4) for k, v in reg.timings.items()}, "warnings": reg.warnings}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(summary, indent=1) + "\n")
    for w in reg.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"registered FaceKit to {reg.n_skin_points} skin points of {args.input}: residual {reg.residual_mm:.2f} mm, "
          f"{100 * reg.inlier_fraction:.0f} % matched, {reg.timings['total_s']:.1f} s -> {args.out}")
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
    p.add_argument("--iterations", type=int, help="fitting iterations (default 15)")
    p.add_argument("--nonrigid", action="store_true", help="add per-vertex detail the model cannot express")
    p.set_defaults(func=_cmd_register)
