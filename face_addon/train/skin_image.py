"""Train Segment Skin's image encoder (per-pixel classes on the scan renders), checkpointed and resumable.

    face train skin_image --data out/skin_views --out out/skin_image --minutes 20
    face train skin_image --out /tmp/si --smoke           # CI preset, < 10 s
    face train skin_image --ship out/skin_image          # → face_addon/models/skin_image.pt
    face train skin_image --data ... --backbone dinov2 --dinov2-checkpoint dinov2_vits14.pth
    (`python -m face_addon.train.skin_image` takes the same options without Blender)

Data: the train-split scans rendered by `synth.skin_views` (13 views each, 160 px, class-id images), re-read at
every checkpoint (scans rendered meanwhile join). Loss:
per-pixel cross-entropy over the 16 dataset classes (core.dataset.CLASS_NAMES). Augmentation: horizontal flip
(left/right eye and eyebrow classes swapped), brightness, per-channel gain and gamma, 112 px random crops. Adam, lr 2e-3 dropping
÷10 for the last 20 % of --minutes, batch 16 views. A DINOv2 backbone stays frozen (only the 1×1 neck and
classifier train, as the paper keeps DINOv2 frozen) and its weights are not stored in our file: the file
records the checkpoint's path instead.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..core.dataset import CLASS_IDS, CLASS_NAMES, split_of
from .budget import Budget
from .checkpoints import copy_for_shipping, resume_or_start, run_ship, save_checkpoint
from .model_card import About, Row, build_card, run_record, write_card
from .options import add_common, data_folders, out_folder, standalone

WEIGHTS_KIND = "skin_image_encoder"
WEIGHTS_VERSIONS = (1,)
FLIP_CLASSES = np.arange(len(CLASS_NAMES))
for _a, _b in (("left_eye", "right_eye"), ("left_eyebrow", "right_eyebrow")):
    FLIP_CLASSES[CLASS_IDS[_a]], FLIP_CLASSES[CLASS_IDS[_b]] = CLASS_IDS[_b], CLASS_IDS[_a]


@dataclass
class Settings:
    views: str | None = None      # the rendered views folder (synth.skin_views)
    backbone: str = "unet"
    dinov2_checkpoint: str | None = None
    width: int = 16
    feature_channels: int = 16
    batch: int = 16
    crop: int | None = 112
    lr: float = 2e-3
    max_minutes: float = 20.0
    max_steps: int | None = None
    checkpoint_s: float = 120.0
    seed: int = 0
    threads: int = 1


def load_train_views(folder: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """All train-split views: images uint8 (N, H, W, 3), labels uint8 (N, H, W), and the seeds used."""
    from ..core.view_cache import load_views

    images, labels, seeds = [], [], []
    for path in sorted(folder.glob("*.npz")):
        if not path.stem.isdigit() or split_of(int(path.stem)) != "train":
            continue
        im, lab, _ = load_views(path)
        images.append(im)
        labels.append(lab)
        seeds.append(path.stem)
    if not images:
        raise FileNotFoundError(f"no train-split views in {folder} (render them with face_addon.synth.skin_views)")
    return np.concatenate(images), np.concatenate(labels), seeds


def augment(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, crop: int | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Float images (B, 3, crop, crop) in [0, 1] and int64 labels (B, crop, crop): one random crop per batch
    (the network is fully convolutional; crops cost less per step), flipped and colour-jittered per view."""
    h, w = images.shape[1:3]
    if crop is not None and crop < min(h, w):
        y0, x0 = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
        images, labels = images[:, y0:y0 + crop, x0:x0 + crop], labels[:, y0:y0 + crop, x0:x0 + crop]
    x = images.astype(np.float32) / 255.0
    y = labels.astype(np.int64)
    flip = rng.random(len(x)) < 0.5
    x[flip] = x[flip, :, ::-1]
    y[flip] = FLIP_CLASSES[y[flip, :, ::-1]]
    gain = rng.uniform(0.7, 1.3, (len(x), 1, 1, 1)) * rng.uniform(0.9, 1.1, (len(x), 1, 1, 3))
    gamma = rng.uniform(0.8, 1.25, (len(x), 1, 1, 1))
    x = np.clip(np.clip(x, 1e-4, 1) ** gamma * gain, 0, 1)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32), y


def make_model(s: Settings):
    from ..core.nets.image_encoder import ImageSegmenter, UNet, build_backbone

    if s.backbone == "dinov2":
        if not s.dinov2_checkpoint:
            raise ValueError("--backbone dinov2 needs --dinov2-checkpoint FILE")
        backbone = build_backbone({"type": "dinov2", "checkpoint": s.dinov2_checkpoint})
        for p in backbone.parameters():
            p.requires_grad_(False)
    else:
        backbone = UNet(width=s.width, out_channels=s.feature_channels)
    return ImageSegmenter(backbone, len(CLASS_NAMES), s.feature_channels)


def trainable_state(model, s: Settings) -> dict:
    """The state dict to store: without a frozen DINOv2 (the user has that file)."""
    sd = model.state_dict()
    return {k: v for k, v in sd.items() if s.backbone != "dinov2" or not k.startswith("backbone.")}


def export(model, s: Settings, info: dict, path: Path) -> Path:
    from ..core.nets.image_encoder import backbone_spec
    from ..core.weights import save_weights

    meta = {"name": "skin_image", "backbone": backbone_spec(model.backbone, s.dinov2_checkpoint),
            "n_classes": model.n_classes, "class_names": list(CLASS_NAMES),
            "feature_channels": model.feature_channels, "settings": asdict(s), "training": info}
    if getattr(model, "decider", None) is not None:   # skin_image_real's pair: lifted features + fine-tuned logits
        d = model.decider
        meta["decider"] = {"backbone": backbone_spec(d.backbone), "n_classes": d.n_classes,
                           "feature_channels": d.feature_channels}
    return save_weights(path, WEIGHTS_KIND, 1, trainable_state(model, s), json.loads(json.dumps(meta)))


def train(out: Path, s: Settings, resume: bool = True, log=print, data=None) -> Path:
    """Train until max_minutes/max_steps; checkpoints out/checkpoint.pt, exports out/skin_image.pt.
    `data` (tests/smoke): (images, labels, seeds) instead of the views folder."""
    import torch
    from torch.nn import functional as F

    torch.set_num_threads(s.threads)
    torch.manual_seed(s.seed)
    out.mkdir(parents=True, exist_ok=True)
    images, labels, seeds = data if data is not None else load_train_views(Path(s.views))
    model = make_model(s)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=s.lr)
    # strict=False: a frozen backbone is not stored
    ckpt, state = resume_or_start(out, {"step": 0, "seconds": 0.0, "losses": [], "accuracy": []}, model, opt, None,
                                  resume, log, strict=False)
    rng = np.random.default_rng([s.seed, state["step"]])
    budget = Budget(s.max_minutes, s.max_steps, s.checkpoint_s, state["seconds"])
    run_loss, run_acc = [], []

    def info() -> dict:
        return {"steps": state["step"], "train_seconds": round(state["seconds"], 1), "n_train_scans": len(seeds),
                "n_train_views": int(len(images)), "train_seeds": f"{seeds[0]}..{seeds[-1]}" if seeds else "",
                "last_loss": state["losses"][-1] if state["losses"] else None,
                "last_pixel_accuracy": state["accuracy"][-1] if state["accuracy"] else None}

    def save() -> None:
        save_checkpoint(ckpt, model, opt, None, state, model_state=trainable_state(model, s))
        export(model, s, info(), out / "skin_image.pt")
        (out / "progress.json").write_text(json.dumps(info(), indent=1))

    model.train()
    if s.backbone == "dinov2":
        model.backbone.eval()
    while not budget.done(state["step"]):
        idx = rng.choice(len(images), min(s.batch, len(images)), replace=False)
        x, y = augment(images[idx], labels[idx], rng, s.crop)
        for g in opt.param_groups:
            g["lr"] = s.lr * (0.1 if budget.fraction > 0.8 else 1.0)
        _, logits = model(torch.from_numpy(x))
        target = torch.from_numpy(y)
        loss = F.cross_entropy(logits, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        state["step"] += 1
        state["seconds"] = budget.seconds
        run_loss.append(float(loss.detach()))
        run_acc.append(float((logits.detach().argmax(1) == target).float().mean()))
        if budget.checkpoint_due():
            if data is None:  # scans rendered while training joins the data
                images, labels, seeds = load_train_views(Path(s.views))
            state["losses"].append(round(float(np.mean(run_loss[-50:])), 5))
            state["accuracy"].append(round(float(np.mean(run_acc[-50:])), 5))
            save()
            log(f"step {state['step']} loss {state['losses'][-1]:.4f} pixel acc {state['accuracy'][-1]:.3f} "
                f"({state['seconds'] / 60:.1f} min)")
    if run_loss:
        state["losses"].append(round(float(np.mean(run_loss[-50:])), 5))
        state["accuracy"].append(round(float(np.mean(run_acc[-50:])), 5))
    save()
    return out / "skin_image.pt"


def smoke_data(n: int = 8, size: int = 48) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Random images whose class is a colour blob: enough to check that the loss can fall."""
    rng = np.random.default_rng(0)
    labels = np.zeros((n, size, size), np.uint8)
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        cx, cy, r = rng.uniform(12, size - 12, 2).tolist() + [rng.uniform(6, 12)]
        labels[i][(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = CLASS_IDS["skin"]
    palette = np.array([[40, 40, 40], [200, 150, 120]], np.uint8)
    images = palette[(labels > 0).astype(int)] + rng.integers(0, 20, (n, size, size, 3)).astype(np.uint8)
    return images, labels, [f"smoke{i}" for i in range(n)]


def ship(run_dir: Path, models_dir: Path, bench_json: Path) -> Path:
    """Copy the run's encoder to models_dir/skin_image.pt with a model card skin_image.json."""
    from ..core.weights import load_weights

    meta, bench_d, size_mb = copy_for_shipping(run_dir, models_dir, "skin_image.pt", WEIGHTS_KIND, bench_json)
    load_weights(models_dir / "skin_image.pt", WEIGHTS_KIND, WEIGHTS_VERSIONS)
    about = About(model="Segment Skin image encoder (U-Net, per-pixel classes) — stands in for the paper's frozen "
                        "DINOv2",
                  paper="Chen et al.: Pixels2Points, Eurographics 2025 (shared/seeds/000), §2.1 image features",
                  load="face_addon.core.pipelines.skin_image.load_image_encoder (torch.load weights_only=True)")
    miou = (bench_d.get("miou") or {}).get("2d_baseline")
    card = build_card(about, "skin_image.pt", size_mb, {
        "backbone": meta["backbone"], "classes": meta["class_names"], "feature_channels": meta["feature_channels"],
        **run_record(meta),
        "data": {"source": "13 Cycles views (160 px) per train-split scan of `face synth --profile scan "
                           "--target-verts 30000`, rendered by face_addon.synth.skin_views --jitter",
                 "label": "class of the visible scan surface per pixel (labels.npz:class_id through the camera)"},
        "metrics": {"miou_2d_baseline": miou, "test_n": bench_d.get("test_n")},
        "reproduce": ["python -m face_addon.synth.skin_views --data /work/data/synth/train_lm --out out/skin_views "
                      "--jitter",
                      f"python -m face_addon train skin_image --data out/skin_views --out {run_dir} --minutes "
                      f"{meta['settings']['max_minutes']}",
                      f"python -m face_addon train skin_image --ship {run_dir}"]})
    tr = meta["training"]
    write_card(models_dir, "skin_image.pt", card, Row(
        trained_on=f"{tr.get('n_train_views')} renders (160 px) of {tr.get('n_train_scans')} synthetic scans, "
                   f"{tr['steps']} batches of {meta['settings'].get('batch')} crops",
        held_out=(f"as the 2D baseline (its skin masks projected): mIoU {miou:.3f} on {bench_d.get('test_n')} scans"
                  if miou is not None else "not measured")))
    return models_dir / "skin_image.pt"


def add_arguments(parser) -> None:
    """`face train skin_image` options (train/options.py adds the shared ones)."""
    add_common(parser, data="rendered views of train-split scans (`python -m face_addon.synth.skin_views`)",
               default_minutes=Settings.max_minutes, smoke="random colour blobs, 5 steps (< 10 s)")
    parser.add_argument("--backbone", choices=("unet", "dinov2"), default="unet")
    parser.add_argument("--dinov2-checkpoint", help="--backbone dinov2: the DINOv2 weights file (kept frozen)")


def run(args) -> int:
    """Train (or ship) from parsed options; prints the weights' path."""
    if run_ship(args, ship, "skin"):
        return 0
    out = out_folder(args)
    if args.smoke:
        s = Settings(width=4, feature_channels=4, batch=4, crop=32, max_steps=args.max_steps or 5, checkpoint_s=1e9,
                     max_minutes=args.minutes)
        print(train(out, s, resume=args.resume, data=smoke_data()))
        return 0
    views = data_folders(args, "the rendered views folder")[0]
    s = Settings(views=str(views), backbone=args.backbone, dinov2_checkpoint=args.dinov2_checkpoint,
                 max_minutes=args.minutes, max_steps=args.max_steps, threads=args.threads)
    print(train(out, s, resume=args.resume))
    return 0


def main(argv: list[str] | None = None) -> int:
    return standalone(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
