"""`face edit IN.obj --set nose_height=1.5 ... --out OUT.obj`: NEO-3DF controller edit of a mesh file.

Pure core code (no bpy), so it behaves the same under `blender -b -c face` and `python -m face_addon`.
"""
from __future__ import annotations

import argparse

from ..core.mesh import MeshError


def _parse_sets(items: list[str]) -> dict[str, float]:
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            raise MeshError(f"--set {item!r}: expected NAME=SIGMA, e.g. nose_height=1.5") from None
        if not sep:
            raise MeshError(f"--set {item!r}: expected NAME=SIGMA, e.g. nose_height=1.5")
    return values


def _cmd_edit(args: argparse.Namespace) -> int:
    from ..core.mesh import Mesh
    from ..core.mesh_files import load_mesh, save_mesh
    from ..core.pipelines.edit_face import controllers, edit_face

    if args.list:
        for c in controllers():
            print(f"{c.name:24s} {c.segment:10s} {c.label}")
        return 0
    if not args.input or not args.out:
        raise MeshError("give an input mesh and --out (or --list to see the controllers)")
    mesh = load_mesh(args.input)
    result = edit_face(mesh.vertices, mesh.faces, _parse_sets(args.set))
    save_mesh(Mesh(result.vertices, mesh.faces, name=mesh.name), args.out)
    print(f"edited {len(result.values)} controller(s) in {result.timings['edit_s']:.2f} s -> {args.out}")
    return 0


def add_subcommands(subparsers) -> None:
    p = subparsers.add_parser("edit", help="part-based face edit (NEO-3DF) of a FaceKit-topology mesh")
    p.add_argument("input", nargs="?", help="mesh with FaceKit topology (.obj/.ply...), e.g. a reconstruction")
    p.add_argument("--set", action="append", default=[], metavar="NAME=SIGMA",
                   help="controller value in standard deviations (-3..3); repeat for several")
    p.add_argument("--out", help="output mesh file")
    p.add_argument("--list", action="store_true", help="list the controllers and exit")
    p.set_defaults(func=_cmd_edit)
