"""`face landmarks IN.obj|ply|... --out OUT.json|csv|pp [--method views|sgcn|fusion] [--fallback-sgcn]`: 68
landmarks of a mesh or point-cloud file in any orientation and unit (the JSON carries the face frame found,
`orientation`, and the weights and assets that ran, `models`). A mesh on which no face is seen is an error
(exit 1, one line) unless `--fallback-sgcn` or `--method sgcn` asks for 2S-SGCN's answer.

Pure core code (no bpy), so it behaves the same under `blender -b -c face` and `python -m face_addon`.
"""
from __future__ import annotations

import argparse

from ..core.pipelines.detect_landmarks import METHODS
from .args import check_inputs, check_outputs, int_range
from .progress_display import add_quiet_option, stage_progress
from .summary import print_warnings


def _cmd_landmarks(args: argparse.Namespace) -> int:
    check_inputs((args.input, "file"))  # before the imports below (torch: seconds)
    from ..core.landmark_export import FORMATS, write_landmarks
    from ..core.mesh_files import load_mesh
    from ..core.pipelines.detect_landmarks import detect_landmarks, load_landmark_model

    check_outputs([args.input, args.weights], [("--out", args.out, tuple("." + f for f in FORMATS))])
    if args.weights:  # a bad weights file fails at once, not after a face search that may not need it (cached)
        load_landmark_model(args.weights)
    mesh = load_mesh(args.input)
    with stage_progress(args) as progress:
        result = detect_landmarks(mesh.vertices, mesh.faces if mesh.n_faces else None, args.weights,
                                  method=args.method, seed=args.seed, colors=mesh.colors, uv=mesh.uv,
                                  texture=mesh.texture, fallback=args.fallback_sgcn, progress=progress)
    t = result.timings
    write_landmarks(args.out, result.landmarks, result.confidence, source=str(args.input), units="input",
                    extra={"method": result.method, "models": result.models, "orientation": result.orientation,
                           "timings_s": {k: round(v, 4) for k, v in t.items()}, "warnings": result.warnings,
                           "unit_scale_to_m": result.unit_scale})
    print_warnings(result.warnings)
    if result.frame is not None:
        print(result.frame.describe())
    print(f"68 landmarks ({result.method}) of {mesh.n_vertices} {'points' if mesh.is_point_cloud else 'vertices'} "
          f"in {t['total_s']:.2f} s; mean confidence {result.confidence.mean():.2f} -> {args.out}")
    return 0


def add_subcommands(subparsers) -> None:
    p = subparsers.add_parser("landmarks", help="68 facial landmarks of a mesh or point cloud")
    p.add_argument("input", help="mesh or point cloud (.obj/.ply/.stl/.off/.glb), any unit and orientation")
    p.add_argument("--method", choices=METHODS, default="views",
                   help="views: rendered views read by the face mesh model (default); sgcn: 2S-SGCN; fusion: both")
    p.add_argument("--out", required=True, help="output .json, .csv or .pp (MeshLab picked points)")
    p.add_argument("--fallback-sgcn", action="store_true",
                   help="where no face is seen on the mesh, answer with 2S-SGCN (with a warning) instead of failing")
    p.add_argument("--weights", help="landmarks.pt to use instead of the shipped model")
    p.add_argument("--seed", type=int_range(0), default=0, help="seed of the resampling (0 or more)")
    add_quiet_option(p)
    p.set_defaults(func=_cmd_landmarks)
