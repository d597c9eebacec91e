"""`face synth ...`: generate (default), verify and preview synthetic datasets.

    face synth --out DIR --count N --seed S [--shard K/N] [--views 13] [--res 512] [--samples N]
               [--profile scan|full] [--target-verts 150000] [--ray ADDRESS|auto [--retries 2]]
    face synth verify DIR        completeness + label sanity; exit 1 when a sample is broken
    face synth preview DIR [--png FILE] [--n 16]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .args import check_output_folder, check_outputs, finite_float, int_range
from ..blender.operator_base import FaceAddonError
from ..core.dataset import SAMPLE_DIGITS
from ..core.errors import UsageError
from ..synth.cameras import RIG


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--shard takes K/N (e.g. 0/4), not {text!r}") from exc
    if not 0 <= k < n:
        raise argparse.ArgumentTypeError(f"--shard K/N needs 0 <= K < N, got {text}")
    return k, n


def _cmd(args: argparse.Namespace) -> int:
    if args.action == "verify":
        from ..synth.verify import verify_dataset

        report = verify_dataset(Path(_dir(args)))
        for line in report.lines():
            print(line)
        return 0 if report.ok else 1
    if args.action == "preview":
        from ..synth.preview import contact_sheet

        root = Path(_dir(args))
        out = Path(args.png) if args.png else root / "preview.png"
        check_outputs([], [("--png", out, (".png",))])
        print(f"wrote {contact_sheet(root, out, n=args.n)}")
        return 0
    if args.out is None:
        raise UsageError("face synth needs --out DIR")
    check_output_folder("--out", args.out)
    if args.seed + args.count > 10 ** SAMPLE_DIGITS:
        raise UsageError(f"--seed + --count must stay below {10 ** SAMPLE_DIGITS} (seeds are {SAMPLE_DIGITS}-digit "
                         "folder names)")
    from ..synth.generate import SynthConfig, run_shard

    cfg = SynthConfig(profile=args.profile, views=args.views, resolution=args.res, samples=args.samples,
                      target_vertices=args.target_verts, closed_eyes=args.closed_eyes)
    if args.ray:
        from ..synth.ray_synth import run_ray

        result = run_ray(Path(args.out), args.seed, args.count, cfg, args.ray, args.retries, args.shard)
    else:
        result = run_shard(Path(args.out), args.seed, args.count, cfg, args.shard)
    print(f"synth: {result['done']} made, {len(result['failed'])} failed"
          + (f", {result['s_per_sample']:.1f} s/sample" if result["s_per_sample"] else ""))
    if result["failed"]:  # the work did not (all) happen: never exit 0
        raise FaceAddonError(f"{len(result['failed'])} of {result['done'] + len(result['failed'])} samples failed "
                             f"(seeds {', '.join(map(str, result['failed'][:5]))}); see "
                             f"{Path(args.out) / 'failures.jsonl'}")
    return 0


def _dir(args: argparse.Namespace) -> str:
    d = args.path or args.out
    if d is None:
        raise FaceAddonError(f"face synth {args.action} needs a dataset folder")
    if not Path(d).is_dir():
        raise FileNotFoundError(f"{d}: no such dataset folder")
    return d


def add_subcommands(subparsers) -> None:
    p = subparsers.add_parser("synth", help="synthetic head scans, renders and labels (Cycles, headless)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", nargs="?", default="generate", choices=("generate", "verify", "preview"))
    p.add_argument("path", nargs="?", help="dataset folder (verify/preview)")
    p.add_argument("--out", help="dataset folder to write (generate)")
    p.add_argument("--count", type=int_range(1, 10_000_000), default=10, help="number of samples: seeds S .. S+count-1")
    p.add_argument("--seed", type=int_range(0, 10 ** SAMPLE_DIGITS - 1), default=0,
                   help="first seed S (train: 0-999999, test: 1000000+)")
    p.add_argument("--shard", type=_shard, default=(0, 1), help="K/N: make only samples i with i %% N == K")
    p.add_argument("--views", type=int_range(1, len(RIG)), default=len(RIG), help=f"rig views to use (1-{len(RIG)})")
    p.add_argument("--res", type=int_range(64, 4096), default=512, help="render resolution (square, 64-4096)")
    p.add_argument("--samples", type=int_range(1, 4096), default=None,
                   help="Cycles samples per RGB view (1-4096; default: full 4, denoised with OpenImageDenoise; "
                        "photo 16)")
    p.add_argument("--profile", choices=("scan", "full", "photo"), default="full",
                   help="scan: geometry + labels only (seconds); full: also renders and baked colours; "
                        "photo: --views random portrait renders, no scan")
    p.add_argument("--target-verts", type=int_range(1_000, 5_000_000), default=150_000,
                   help="approximate scan vertex count (1000-5000000)")
    p.add_argument("--closed-eyes", type=finite_float(0.0, 1.0), default=0.0, metavar="P",
                   help="probability that a subject's eyes are shut (default 0; real scans often have them shut)")
    p.add_argument("--ray", metavar="ADDRESS", help="run the samples as tasks on the Ray cluster at ADDRESS "
                   "(host:port, or auto); --out must be a folder every node sees (docs/scale.md)")
    p.add_argument("--retries", type=int_range(0, 10), default=2,
                   help="--ray: re-runs of a sample whose worker died (0-10; a sample that raises is not retried)")
    p.add_argument("--png", help="preview: output PNG (default DIR/preview.png)")
    p.add_argument("--n", type=int_range(1, 1000), default=16, help="preview: number of samples (1-1000)")
    p.set_defaults(func=_cmd)
