"""`face landmarks IN.obj|ply|... --out OUT.json|csv|pp`: 2S-SGCN landmarks of a mesh or point-cloud file.

Pure core code (no bpy), so it behaves the same under `blender -b -c face` and `python -m face_addon`.
"""
from __future__ import annotations

import argparse


def _cmd_landmarks(args: argparse.Namespace) -> int:
    import sys

    from ..core.landmark_export import write_landmarks
    from ..core.mesh_files import load_mesh
    from ..core.pipelines.detect_landmarks import detect_landmarks

    mesh = load_mesh(args.input)
    result = detect_landmarks(mesh.vertices, mesh.faces if mesh.n_faces else None, args.weights, seed=args.seed)
    t = result.timings
    write_landmarks(args.out, result.landmarks, result.confidence, source=str(args.input), units="input",
                    extra={"timings_s": {k: round(v, 4) for k, v in t.items()}, "warnings": result.warnings,
                           "unit_scale_to_m": result.unit_scale})
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"68 landmarks of {mesh.n_vertices} {'points' if mesh.is_point_cloud else 'vertices'} in "
          f"{t['total_s']:.2f} s (resample {t['resample_s']:.2f}, network {t['network_s']:.2f}, stage 2 "
          f"{t['stage2_s']:.2f}); mean confidence {result.confidence.mean():.2f} -> {args.out}")
    return 0


def add_subcommands(subparsers) -> None:
    p = subparsers.add_parser("landmarks", help="68 facial landmarks of a mesh or point cloud (2S-SGCN)")
    p.add_argument("input", help="mesh or point cloud (.obj/.ply/.stl/.off/.glb), any unit, roughly upright (+Z up)")
    p.add_argument("--out", required=True, help="output .json, .csv or .pp (MeshLab picked points)")
    p.add_argument("--weights", help="landmarks.pt to use instead of the shipped model")
    p.add_argument("--seed", type=int, default=0, help="seed of the resampling")
    p.set_defaults(func=_cmd_landmarks)
