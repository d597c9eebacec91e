"""`face edit IN.obj --set nose_height=1.5 ... --out OUT.obj`: NEO-3DF controller edit of a mesh file.

Pure core code (no bpy), so it behaves the same under `blender -b -c face` and `python -m face_addon`.
Values are checked when parsed (finite, inside the documented σ range), controller names and the output path
before the mesh is read.
"""
from __future__ import annotations

import argparse
import difflib

from ..core.errors import UsageError
from ..core.pipelines.edit_face import SIGMA_RANGE
from .args import MESH_OUTPUT_SUFFIXES, check_outputs


def sigma_assignment(text: str) -> tuple[str, float]:
    """argparse type of --set: NAME=SIGMA with a finite SIGMA inside SIGMA_RANGE."""
    from ..core.mesh import MeshError
    from ..core.pipelines.edit_face import check_sigma

    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not sep or not name.strip() or number is None:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=SIGMA, e.g. nose_height=1.5")
    try:
        return name.strip(), check_sigma(name.strip(), number)
    except MeshError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _check_names(names: list[str], known: list[str]) -> None:
    """UsageError (exit 2, before the mesh is read) for a controller name that is not one of `known`, with the
    closest known name: a typo is a bad option value, not a failed edit."""
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]}?" if close else "face edit --list shows them"
            raise UsageError(f"--set {name}: unknown controller; {hint}")


def _cmd_edit(args: argparse.Namespace) -> int:
    from ..core.atomic_write import atomic_path
    from ..core.mesh import Mesh
    from ..core.mesh_files import load_mesh, save_mesh
    from ..core.pipelines.edit_face import controllers, edit_face

    if args.list:
        for c in controllers():
            print(f"{c.name:24s} {c.segment:10s} {c.label}")
        return 0
    if not args.input or not args.out:
        raise UsageError("give an input mesh and --out (or --list to see the controllers)")
    check_outputs([args.input], [("--out", args.out, MESH_OUTPUT_SUFFIXES)])
    _check_names([name for name, _ in args.set], [c.name for c in controllers()])
    mesh = load_mesh(args.input)
    result = edit_face(mesh.vertices, mesh.faces, dict(args.set))
    with atomic_path(args.out) as tmp:
        save_mesh(Mesh(result.vertices, mesh.faces, name=mesh.name), tmp)
    print(f"edited {len(result.values)} controller(s) in {result.timings['edit_s']:.2f} s -> {args.out}")
    return 0


def add_subcommands(subparsers) -> None:
    lo, hi = SIGMA_RANGE
    p = subparsers.add_parser("edit", help="part-based face edit (NEO-3DF) of a FaceKit-topology mesh")
    p.add_argument("input", nargs="?", help="mesh with FaceKit topology (.obj/.ply...), any unit (m, cm, mm)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=SIGMA", type=sigma_assignment,
                   help=f"controller value in standard deviations ({lo:g}..{hi:g}); repeat for several")
    p.add_argument("--out", help="output mesh file (" + ", ".join(MESH_OUTPUT_SUFFIXES) + ")")
    p.add_argument("--list", action="store_true", help="list the controllers and exit")
    p.set_defaults(func=_cmd_edit)
