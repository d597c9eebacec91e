"""`face segment IN.obj|ply|... --out OUT.ply [--json OUT.json]`: skin segmentation of a scan file.

Core code, except the default views, which are Cycles renders (bpy: present under `blender -b -c face` and
`python -m face_addon`).
"""
from __future__ import annotations

import argparse
from collections.abc import Callable

from .args import check_inputs, check_outputs, choice_or_folder, finite_float, int_range
from .progress_display import add_quiet_option, stage_progress
from .summary import print_warnings, write_summary


def _views(option: str, mesh, use_views: bool, weights: str | None, report: Callable[[float, str], None]):
    """SkinViews from --views: 'render' (Cycles renders of the scan; needs bpy; an untextured mesh is rendered and
    read in a neutral skin tone), 'none', or a folder with cameras.json + NN.png photos (the dataset's format:
    OpenCV cameras in the scan's frame and units); None when the model that runs takes no views
    (core.models.skin_model, the rule the operator and the pipeline follow). `report`: the progress reporter."""
    from pathlib import Path

    import numpy as np

    from ..core.dataset import read_png
    from ..core.geometry.multiview import read_cameras_json
    from ..core.mesh import MeshError
    from ..core.models import skin_model
    from ..core.pipelines.skin_image import SkinViews

    if option == "none" or not use_views or not skin_model(True, True, weights=weights).uses_views:
        return None
    if option == "render":
        from ..blender.scan_views import scan_views

        report(0.1, "rendering views")
        return scan_views(mesh)
    report(0.1, "reading the cameras' photos")
    folder = Path(option)
    cams = read_cameras_json(folder / "cameras.json")
    paths = [folder / f"{i:02d}.png" for i in range(len(cams))]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise MeshError(f"{folder}: cameras.json lists {len(cams)} views but {', '.join(missing[:3])} are missing")
    images = [read_png(p)[..., :3] for p in paths]
    if len({im.shape for im in images}) != 1:
        raise MeshError(f"{folder}: the photos must all have the same size")
    return SkinViews(np.stack(images), cams, photos=True)


def _cmd_segment(args: argparse.Namespace) -> int:
    check_inputs((args.input, "file"))  # before the imports below (torch: seconds)
    from ..core.atomic_write import atomic_outputs
    from ..core.mesh_files import load_mesh
    from ..core.pipelines.register_head import UNIT_FROM_FRAME, UNIT_FROM_SIZE
    from ..core.pipelines.segment_skin import segment_skin
    from ..core.pipelines.upright_scan import face_upright_frame
    from ..core.progress import reporter, within
    from ..core.skin_export import write_skin_ply
    from ..core.texture import with_surface_colors

    check_outputs([args.input, args.weights], [("--out", args.out, (".ply",)), ("--json", args.json, (".json",))])
    load_warnings: list[str] = []
    mesh = with_surface_colors(load_mesh(args.input, load_warnings))  # a texture gives the per-vertex colours
    faces = mesh.faces if mesh.n_faces else None
    colors = None if args.no_colors else mesh.colors
    work, frame = mesh, None  # rendered views and the networks see the scan in its face's frame; photos keep theirs
    with stage_progress(args) as progress:  # the operator's spans: face search 0-10 %, views, network 10-100 %
        report = reporter(progress)
        if args.views == "render" and not args.no_colors and faces is not None:
            work, frame, note = face_upright_frame(mesh, within(report, 0.0, 0.1))
            load_warnings += [note] if note else []
        views = _views(args.views, work, not args.no_colors and (colors is not None or faces is not None),
                       args.weights, report)
        result = segment_skin(work.vertices, faces, colors, weights=args.weights, max_vertices=args.max_vertices,
                              threshold=args.threshold, views=views, progress=within(report, 0.1, 1.0))
    t = result.timings
    unit = frame.unit_scale if frame is not None else result.unit_scale  # the upright copy is in metres
    with atomic_outputs() as outs:  # the PLY and its summary appear together or not at all
        write_skin_ply(outs.path(args.out), mesh.vertices, faces, result.probability)
        if args.json:
            write_summary(outs.path(args.json), "skin", {
                "source": str(args.input), "output": str(args.out), "n_vertices": mesh.n_vertices,
                "skin_vertices": int(result.skin.sum()), "skin_fraction": round(result.skin_fraction, 6),
                "threshold": args.threshold, "model": result.variant, "features": list(result.features),
                "network_vertices": result.n_network_vertices, "unit_scale_to_m": unit,
                "unit_source": UNIT_FROM_FRAME if frame is not None else UNIT_FROM_SIZE,
                "orientation": frame.to_dict() if frame is not None else None,
                "timings_s": {k: round(v, 4) for k, v in t.items()}, "warnings": load_warnings + result.warnings})
    print_warnings(load_warnings + result.warnings)
    if frame is not None:
        print(frame.describe())
    print(f"{100 * result.skin_fraction:.1f} % of {mesh.n_vertices} {'points' if mesh.is_point_cloud else 'vertices'} "
          f"are skin ({result.variant}) in {t['total_s']:.1f} s (" + ", ".join(f"{k[:-2]} {v:.1f}" for k, v in t.items()
                                                                   if k != "total_s") + f") -> {args.out}")
    return 0


def _network_vertices(text: str) -> int:
    """argparse type of --max-vertices: at least 1000, and within what this machine's memory allows now."""
    from ..core.errors import UserError
    from ..core.memory_budget import check_network_vertices

    try:
        return check_network_vertices(int_range(1_000)(text))
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_subcommands(subparsers) -> None:
    from ..core.memory_budget import max_network_vertices
    from ..core.pipelines.segment_skin import MAX_VERTICES

    p = subparsers.add_parser("segment", help="skin segmentation of a head scan (Pixels2Points)")
    p.add_argument("input", help="scan mesh or point cloud (.obj/.ply/.stl/.off/.glb/.gltf; UV textures from "
                                 "OBJ+MTL, glTF/GLB and PLY TextureFile are used), any unit and pose")
    p.add_argument("--out", required=True, help="output .ply: the scan with colour + 'quality' = skin probability")
    p.add_argument("--json", help="optional summary .json (skin fraction, model, timings, warnings)")
    p.add_argument("--weights", help="skin_*.pt to use instead of the shipped model")
    cap = max_network_vertices()
    p.add_argument("--max-vertices", type=_network_vertices, default=min(MAX_VERTICES, cap),
                   help=f"network mesh size, 1000-{cap} with the memory available now (fewer is faster)")
    p.add_argument("--threshold", type=finite_float(0.0, 1.0), default=0.5,
                   help="skin probability (0-1) from which a vertex is skin")
    p.add_argument("--no-colors", action="store_true", help="ignore colours and texture, no views (geometry-only model)")
    p.add_argument("--views", default="render", type=choice_or_folder("render", "none"),
                   help="image features from: 'render' (13 Cycles renders of the scan, default), 'none' (3D only), "
                        "or a folder with cameras.json + 00.png, 01.png, ... (calibrated photos)")
    add_quiet_option(p)
    p.set_defaults(func=_cmd_segment)
