"""One argparse front for `blender -b -c face <subcommand>` and `python -m face_addon <subcommand>`.

Subcommands are small functions taking the parsed namespace and returning an exit code. A capability adds
its own with a module exposing `add_subcommands(subparsers)`, listed in `PLUGIN_MODULES` (imported lazily, so
`face info` never pays for torch).

Exit codes: 0 done, 1 the work failed (one line: a `UserError`'s message, a file-system error, or "internal
error" with the path of a full report), 2 a usage error (argparse, or an option/output path refused before the
work: `UsageError`), 130 interrupted (Ctrl-C). No traceback unless FACE_ADDON_DEBUG=1.
"""
from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.errors import UsageError, UserError, debug_enabled, internal_error_message, one_line, os_error_message
from .args import OneLineParser, check_output_folder, int_range


def _cmd_info(args: argparse.Namespace) -> int:
    from ..blender.status import info_lines

    print("\n".join(info_lines(with_torch=True)))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from ..core.geometry.mesh_report import inspect_mesh
    from ..core.mesh_files import load_mesh

    failed = 0
    for path in args.inputs:  # one bad file among several: say so and check the others (exit 1 at the end)
        try:
            lines = inspect_mesh(load_mesh(path)).lines()
        except UserError as exc:
            print(f"face check: error: {one_line(str(exc))}", file=sys.stderr)
            failed += 1
            continue
        print(f"{path}:")
        for line in lines:
            print(f"  {line}")
    return 1 if failed else 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    check_output_folder("--out", args.out)
    run_demo(Path(args.out), samples=args.samples, resolution=args.res)
    return 0


#: command modules (relative to this package) that add subcommands through add_subcommands(subparsers)
PLUGIN_MODULES: tuple[str, ...] = (".synth", ".edit", ".landmarks", ".photo", ".skin", ".register", ".train")


def _build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="face", description="face_addon command line")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="versions, compute device, capability readiness")
    p.set_defaults(func=_cmd_info)
    p = sub.add_parser("check", help="health report of mesh files (units, loose parts, holes...)")
    p.add_argument("inputs", nargs="+", help=".obj/.ply/.stl/.off/.glb files")
    p.set_defaults(func=_cmd_check)
    p = sub.add_parser("demo", help="run every available capability on the embedded default head")
    p.add_argument("--out", default="face_demo", help="output folder for demo.blend and demo.png")
    p.add_argument("--samples", type=int_range(1, 4096), default=16, help="Cycles samples per view (1-4096)")
    p.add_argument("--res", type=int_range(64, 4096), default=384, help="render resolution (square) per view "
                                                                       "(64-4096)")
    p.set_defaults(func=_cmd_demo)
    for name in PLUGIN_MODULES:
        importlib.import_module(name, __package__).add_subcommands(sub)
    return parser


@contextmanager
def _python_ctrl_c() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt while a command runs: Blender installs its own C-level SIGINT handler
    (which only flags a render break), so without this a headless command could not be interrupted. Python's
    handler is (re)installed for the command; the previous Python-level handler is restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def main(argv: list[str]) -> int:
    """Parse and run; every failure becomes one line on stderr and an exit code (see the module doc)."""
    with _python_ctrl_c():
        return _main(argv)


def _main(argv: list[str]) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help (0) and on usage errors (2); Blender must get a code
        return int(exc.code or 0)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"face {args.command}: interrupted; unfinished outputs were discarded", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the user gets one line, whatever happened
        if debug_enabled():
            raise
        code = 2 if isinstance(exc, UsageError) else 1
        if isinstance(exc, UserError):
            message = one_line(str(exc))
        elif isinstance(exc, OSError):  # read-only folder, full disk, missing file: the user's to fix
            message = os_error_message(exc)
        else:
            message = internal_error_message(exc, "face " + " ".join(argv))
        print(f"face {args.command}: error: {message}", file=sys.stderr)
        return code


def blender_cli_entry(argv: list[str]) -> int:
    """Callback for bpy.utils.register_cli_command (the add-on is already registered by Blender)."""
    return main(list(argv))


def module_entry(argv: list[str]) -> int:
    """`python -m face_addon`: register on the bpy module first, since no add-on system loaded us."""
    from .. import register, unregister

    try:
        register()
    except ImportError as exc:  # no bpy module in this Python: one line, not a traceback
        print(f"face: error: {one_line(str(exc))} (install the bpy module, or run `blender -b -c face ...`)",
              file=sys.stderr)
        return 1
    try:
        return main(argv)
    finally:
        unregister()
