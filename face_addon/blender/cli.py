"""One argparse front for `blender -b -c face <subcommand>` and `python -m face_addon <subcommand>`.

Subcommands are small functions taking the parsed namespace and returning an exit code. A capability adds
its own with a module exposing `add_subcommands(subparsers)`, listed in `PLUGIN_MODULES` (imported lazily, so
`face info` never pays for torch). User errors print one line to stderr and exit 1, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from ..core.mesh import MeshError
from .operator_base import FaceAddonError


def _cmd_info(args: argparse.Namespace) -> int:
    from .status import info_lines

    print("\n".join(info_lines(with_torch=True)))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from ..core.geometry.mesh_report import inspect_mesh
    from ..core.mesh_files import load_mesh

    for path in args.inputs:
        print(f"{path}:")
        for line in inspect_mesh(load_mesh(path)).lines():
            print(f"  {line}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(Path(args.out), samples=args.samples, resolution=args.res)
    return 0


#: modules (relative to the face_addon package) that add subcommands through add_subcommands(subparsers)
PLUGIN_MODULES: tuple[str, ...] = (".synth.cli", ".blender.cli_edit", ".blender.cli_landmarks", ".blender.cli_photo",
                                 ".blender.cli_skin", ".blender.cli_register")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="face", description="face_addon command line")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="versions, compute device, capability readiness")
    p.set_defaults(func=_cmd_info)
    p = sub.add_parser("check", help="health report of mesh files (units, loose parts, holes...)")
    p.add_argument("inputs", nargs="+", help=".obj/.ply/.stl/.off/.glb files")
    p.set_defaults(func=_cmd_check)
    p = sub.add_parser("demo", help="run every available capability on the embedded default head")
    p.add_argument("--out", default="face_demo", help="output folder for demo.blend and demo.png")
    p.add_argument("--samples", type=int, default=16, help="Cycles samples per view")
    p.add_argument("--res", type=int, default=384, help="render resolution (square) per view")
    p.set_defaults(func=_cmd_demo)
    for name in PLUGIN_MODULES:
        importlib.import_module(name, __package__.rsplit(".", 1)[0]).add_subcommands(sub)
    return parser


def main(argv: list[str]) -> int:
    """Parse and run; user-facing errors become a one-line message and exit code 1."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on errors; Blender must get a code instead
        return int(exc.code or 0)
    try:
        return args.func(args)
    except (MeshError, FaceAddonError, FileNotFoundError) as exc:
        print(f"face {args.command}: error: {exc}", file=sys.stderr)
        return 1


def blender_cli_entry(argv: list[str]) -> int:
    """Callback for bpy.utils.register_cli_command (the add-on is already registered by Blender)."""
    return main(list(argv))


def module_entry(argv: list[str]) -> int:
    """`python -m face_addon`: register on the bpy module first, since no add-on system loaded us."""
    from .. import register, unregister

    register()
    try:
        return main(argv)
    finally:
        unregister()
