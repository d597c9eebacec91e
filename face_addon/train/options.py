"""The command line every trainer shares, so `face train <model> ...` and `python -m face_addon.train.<model> ...`
read the same options, written once.

Shared options: `--out DIR` (the run folder), `--data DIR` (required where the trainer reads data; no trainer
has a default data path: a shipped module cannot know where a user keeps a dataset), `--minutes M` (the one
time unit of every budget), `--max-steps N`, `--resume`, `--threads N`, `--smoke` (a CI preset on generated
data, where the trainer has one), `--ray ADDRESS --workers K` (data-parallel on Ray, where the trainer supports
it) and `--ship RUN_DIR` (copy a run's weights into face_addon/models with their card).

A trainer module exposes `add_arguments(parser)` (calls `add_common` and adds its own options) and
`run(args) -> int`; its `main(argv)` is `standalone(...)`. Option problems found after parsing raise
`UsageError` (the `face` CLI prints one line and exits 2; the module entry hands it to argparse, same result).
"""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from ..core.errors import UsageError


def minutes(text: str) -> float:
    """argparse type of --minutes: a finite number of minutes > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of minutes above 0")
    return value


def count(text: str) -> int:
    """argparse type of step and worker counts: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is below the minimum 1")
    return value


def add_common(parser: argparse.ArgumentParser, *, data: str | None, default_minutes: float | None,
               threads: int | None = 1, many_data: bool = False, smoke: str | None = None, ray: bool = False,
               max_steps: bool = True, ship: bool = True) -> None:
    """Add the shared options. `data`: what --data holds (None: the trainer reads no data); `default_minutes`:
    the time budget (None: the trainer has no budget, it runs to completion); `smoke`: what --smoke does (None:
    no CI preset); `ray`: --ray/--workers; `max_steps`: --max-steps (with a budget); `ship`: --ship RUN_DIR; `threads`: the
    default of --threads (None: the trainer runs no torch)."""
    parser.add_argument("--out", help="run folder (checkpoint.pt, weights, progress)")
    if data is not None:
        parser.add_argument("--data", nargs="+" if many_data else None, metavar="DIR",
                            help=f"{data} (required{'' if smoke is None else ' unless --smoke'})")
    if default_minutes is not None:
        parser.add_argument("--minutes", type=minutes, default=default_minutes,
                            help=f"time budget in minutes, counted over resumes (default {default_minutes:g})")
        if max_steps:
            parser.add_argument("--max-steps", type=count, help="stop at this step (to compare runs at equal steps)")
        parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    if threads is not None:
        parser.add_argument("--threads", type=count, default=threads, help=f"torch threads (default {threads})")
    if smoke is not None:
        parser.add_argument("--smoke", action="store_true", help=f"CI preset: {smoke}")
    if ray:
        parser.add_argument("--ray", metavar="ADDRESS", help="data-parallel on the Ray cluster at ADDRESS (host:port "
                            "or auto); --out on storage every node sees (docs/scale.md)")
        parser.add_argument("--workers", type=count, default=2, help="--ray: training processes (one CPU each)")
    if ship:
        parser.add_argument("--ship", metavar="RUN_DIR", help="copy RUN_DIR's weights into face_addon/models with "
                            "their model card, instead of training")


def out_folder(args: argparse.Namespace) -> Path:
    """--out, which every run needs."""
    if not args.out:
        raise UsageError("--out DIR is required (the run folder)")
    return Path(args.out)


def data_folders(args: argparse.Namespace, what: str) -> list[Path]:
    """The existing --data folder(s); UsageError when --data is missing (and not --smoke) or names no folder."""
    given = args.data if isinstance(args.data, list) else [args.data] if args.data else []
    if not given:
        alt = " (or --smoke for generated data)" if hasattr(args, "smoke") else ""
        raise UsageError(f"--data DIR is required: {what}{alt}")
    missing = [d for d in given if not Path(d).is_dir()]
    if missing:
        raise UsageError(f"--data {missing[0]}: no such folder")
    return [Path(d) for d in given]


def standalone(doc: str | None, add_arguments: Callable[[argparse.ArgumentParser], None],
               run: Callable[[argparse.Namespace], int], argv: list[str] | None) -> int:
    """`python -m face_addon.train.<model>`: the same options as `face train <model>`, without Blender."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except UsageError as exc:
        parser.error(str(exc))  # one line, exit 2
