"""`face train <model> [--data DIR] [--minutes M] [--out DIR] [--resume] [--ray ADDRESS --workers K] [--smoke]`.

One subcommand for every trainer in face_addon/train. Each trainer module declares its options
(`add_arguments`, the shared ones from train/options.py) and runs them (`run`); this command only picks the
module, so `face train landmarks ...` and `python -m face_addon.train.landmarks ...` take the same options.
A trainer is imported only when its command runs: building the `face` parser loads no trainer and no torch.
"""
from __future__ import annotations

import argparse
import importlib

from .args import OneLineParser

#: model name -> what it trains (each is the module face_addon.train.<name>)
TRAINERS: dict[str, str] = {
    "landmarks": "2S-SGCN landmark heatmaps on synthetic scans (--ray supported)",
    "skin": "Segment Skin's DiffusionNet on synthetic scans",
    "skin_image": "Segment Skin's image encoder on rendered scan views",
    "skin_image_real": "fine-tune that encoder for real appearance (London part masks + renders)",
    "photo": "photo regressor + part parser on synthetic portraits",
    "pixel2mesh": "Pixel2Mesh-face on synthetic portraits",
    "editing": "NEO-3DF part VAEs on FaceKit identities (no data needed)",
    "ibug_map": "MediaPipe 468 -> iBUG 68 map on the London set's hand landmarks",
    "photo_embedding": "MediaPipe landmarks on the FaceKit template, from synthetic portraits",
}


def trainer_parser(model: str) -> tuple[argparse.ArgumentParser, object]:
    """The option parser of `face train <model>` and the trainer module it runs."""
    module = importlib.import_module(f"..train.{model}", __package__)
    parser = OneLineParser(prog=f"face train {model}", description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(parser)
    return parser, module


def _cmd_train(args: argparse.Namespace) -> int:
    parser, module = trainer_parser(args.model)
    try:
        options = parser.parse_args(args.options)
    except SystemExit as exc:  # --help (0) or a usage error (2, one line already printed)
        return int(exc.code or 0)
    args.command = f"train {args.model}"  # errors from the run read "face train <model>: error: ..."
    return module.run(options)


def add_subcommands(subparsers) -> None:
    listing = "\n".join(f"  {name:16s}{what}" for name, what in TRAINERS.items())
    p = subparsers.add_parser("train", help="train a model (face train <model> -h for its options)",
                              description=f"{__doc__}\nmodels:\n{listing}",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", choices=tuple(TRAINERS), help="the model to train")
    p.add_argument("options", nargs=argparse.REMAINDER, help="the model's options (face train <model> -h)")
    p.set_defaults(func=_cmd_train)
