"""`face segment IN.obj|ply|... --out OUT.ply [--json OUT.json]`: skin segmentation of a scan file.

Pure core code (no bpy), so it behaves the same under `blender -b -c face` and `python -m face_addon`.
"""
from __future__ import annotations

import argparse


def _cmd_segment(args: argparse.Namespace) -> int:
    import sys

    from ..core.mesh import MeshError
    from ..core.mesh_files import load_mesh
    from ..core.pipelines.segment_skin import segment_skin
    from ..core.skin_export import write_skin_json, write_skin_ply

    if not str(args.out).lower().endswith(".ply"):
        raise MeshError(f"--out must be a .ply file (it carries the skin probability per vertex), got {args.out}")
    mesh = load_mesh(args.input)
    faces = mesh.faces if mesh.n_faces else None
    result = segment_skin(mesh.vertices, faces, None if args.no_colors else mesh.colors, weights=args.weights,
                          max_vertices=args.max_vertices, threshold=args.threshold)
    write_skin_ply(args.out, mesh.vertices, faces, result.probability)
    t = result.timings
    if args.json:
        write_skin_json(args.json, {
            "source": str(args.input), "output": str(args.out), "n_vertices": mesh.n_vertices,
            "skin_vertices": int(result.skin.sum()), "skin_fraction": round(result.skin_fraction, 6),
            "threshold": args.threshold, "model": result.variant, "features": list(result.features),
            "network_vertices": result.n_network_vertices, "unit_scale_to_m": result.unit_scale,
            "timings_s": {k: round(v, 4) for k, v in t.items()}, "warnings": result.warnings})
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"{100 * result.skin_fraction:.1f} % of {mesh.n_vertices} {'points' if mesh.is_point_cloud else 'vertices'} "
          f"are skin ({result.variant}) in {t['total_s']:.1f} s (reduce {t['decimate_s']:.1f}, operators "
          f"{t['operators_s']:.1f}, features {t['features_s']:.1f}, network {t['network_s']:.1f}) -> {args.out}")
    return 0


def add_subcommands(subparsers) -> None:
    p = subparsers.add_parser("segment", help="skin segmentation of a head scan (Pixels2Points, 3D features)")
    p.add_argument("input", help="scan mesh or point cloud (.obj/.ply/.stl/.off/.glb), any unit and pose")
    p.add_argument("--out", required=True, help="output .ply: the scan with colour + 'quality' = skin probability")
    p.add_argument("--json", help="optional summary .json (skin fraction, model, timings, warnings)")
    p.add_argument("--weights", help="skin_*.pt to use instead of the shipped model")
    p.add_argument("--max-vertices", type=int, default=10_000, help="network mesh size (fewer is faster)")
    p.add_argument("--threshold", type=float, default=0.5, help="skin probability from which a vertex is skin")
    p.add_argument("--no-colors", action="store_true", help="ignore vertex colours (geometry-only model)")
    p.set_defaults(func=_cmd_segment)
