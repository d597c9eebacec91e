"""Train the photo regressor (the fitting's initialiser) on cached synthetic views, checkpointed, resumable.

    nice -n 10 face train photo --data /work/data/photo/train --cache /work/data/photo/cache/train --out out/photo_reg --resume
    face train photo --ship out/photo_reg          # -> face_addon/models/photo_regressor.pt
    (`python -m face_addon.train.photo` takes the same options without Blender)

Loss per view (model output -> FaceKit vertices in the fixed camera):
  2D: mean squared crop-pixel distance between the projected prediction and the true projection of the
      facial-skin (spa) vertices, / 100;
  3D: mean squared model-space distance (mm²) between predicted and true shapes over the same vertices, / 100;
  coefficients: 0.1 · mean squared difference of the prior-normalised coefficients;
  parser: cross-entropy of the stride-4 part logits against the render's true part labels (eyeballs count as
      the eye of their side, `fit_mesh.photo_truth_labels`), class-balanced (small parts weigh more).
3DDFA-V3 trains a ResNet-50 with Adam at 1e-4 on 600k real images; this is a 2.1 M-parameter CNN from
scratch on a few thousand renders, so Adam starts at 1e-3 with cosine decay, with colour/brightness jitter.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .budget import Budget
from .checkpoints import copy_for_shipping, photometric_jitter, resume_or_start, run_ship, save_checkpoint
from .model_card import About, Row, build_card, picked, run_record, seed_text, write_card
from .options import count, standalone
from .photo_data import add_dataset_options, cache_split, cached_views, run_info

WEIGHTS_KIND = "photo_regressor"
WEIGHTS_FILE = "photo_regressor.pt"


@dataclass
class Settings:
    lr: float = 1e-3
    batch: int = 16
    epochs: int = 30
    threads: int = 2
    seed: int = 0
    max_minutes: float = 600.0


class Records:
    """All cached views in memory as arrays (a few thousand 224² crops fit easily)."""

    def __init__(self, files: list[Path], model) -> None:
        crops, uv, a_id, a_exp, names, parts = [], [], [], [], [], []
        sub = model.fk.spa[::2]
        for f in files:
            with np.load(f) as r:
                crops.append(r["crop"])
                parts.append(parser_target(r["labels"])[2::4, 2::4])
                uv.append(r["uv_true"][sub])
                a_id.append(r["alpha_id"])
                a_exp.append(r["alpha_exp"])
            names.append(f.stem)
        self.crops = np.stack(crops)
        self.parts = np.stack(parts)
        self.uv = np.stack(uv).astype(np.float32)
        self.id_n = ((np.stack(a_id) - model.id_mean) / model.id_std).astype(np.float32)
        self.exp_n = ((np.stack(a_exp) - model.exp_mean) / model.exp_std).astype(np.float32)
        self.sub = sub
        self.names = names

    def __len__(self) -> int:
        return len(self.crops)


def _batch(rec: Records, idx: np.ndarray, rng: np.random.Generator | None):
    import torch

    x = torch.as_tensor(rec.crops[idx]).float().permute(0, 3, 1, 2) / 255.0
    if rng is not None:  # photometric jitter only: geometry targets stay exact
        x = photometric_jitter(x, rng)
        x = x + torch.randn_like(x) * float(rng.uniform(0, 0.02))
    return (x, torch.as_tensor(rec.uv[idx]), torch.as_tensor(rec.id_n[idx]), torch.as_tensor(rec.exp_n[idx]),
            torch.as_tensor(rec.parts[idx]).long())


def parser_target(labels: np.ndarray) -> np.ndarray:
    """Dataset class ids -> parser classes (0 background/other, 1.. = PARTS order)."""
    from ..core.dataset import CLASS_IDS
    from ..core.photo.facekit_photo import PARTS
    from ..core.photo.fit_mesh import photo_truth_labels

    lut = np.zeros(256, np.uint8)
    for k, part in enumerate(PARTS, start=1):
        lut[CLASS_IDS[part]] = k
    return lut[photo_truth_labels(labels)]


def losses(net_out: dict, uv, id_n, exp_n, parts, fitter, sub: np.ndarray, class_weight) -> dict:
    """The three training terms (see module doc) for a batch."""
    import torch

    from ..core.photo.camera import project, to_camera

    p = {"id": fitter.id_mean + net_out["id_n"] * fitter.id_std,
         "exp": fitter.exp_mean + net_out["exp_n"] * fitter.exp_std}
    v = fitter.model.fk.evaluate_torch(p["id"], p["exp"])[:, sub]
    vt = fitter.model.fk.evaluate_torch(fitter.id_mean + id_n * fitter.id_std,
                                        fitter.exp_mean + exp_n * fitter.exp_std)[:, sub]
    uv_pred = project(to_camera(v, net_out["r"], net_out["t"]))
    return {"2d": ((uv_pred - uv) ** 2).sum(-1).mean() / 100.0,
            "3d": ((v - vt) * 1e3).pow(2).sum(-1).mean() / 100.0,
            "coef": 0.1 * (torch.cat([net_out["id_n"] - id_n, net_out["exp_n"] - exp_n], 1) ** 2).mean(),
            "parts": torch.nn.functional.cross_entropy(net_out["parts"], parts, weight=class_weight)}


def train(cache: Path, out: Path, s: Settings, resume: bool = True, max_steps: int | None = None,
          log=print, init: Path | None = None) -> Path:
    """Train until `epochs`/`max_minutes`/`max_steps`; checkpoints to out/checkpoint.pt, exports out/<WEIGHTS_FILE>.
    `init`: start from these weights (a fresh optimiser and schedule), e.g. a run on an earlier, smaller set."""
    import torch

    from ..core.nets.photo_regressor import PhotoRegressor
    from ..core.photo.facekit_photo import load_photo_facekit
    from ..core.photo.fit import Fitter

    torch.set_num_threads(s.threads)
    torch.manual_seed(s.seed)
    out.mkdir(parents=True, exist_ok=True)
    model = load_photo_facekit()
    fitter = Fitter(model)
    files = sorted(Path(cache).glob("*.npz"))
    rec = Records(files, model)
    log(f"{len(rec)} training views from {cache}")
    freq = np.bincount(rec.parts.ravel(), minlength=9) + 1.0
    class_weight = torch.as_tensor(np.clip((freq.sum() / freq) ** 0.5, 1, 30), dtype=torch.float32)
    net = PhotoRegressor(model.fk.n_identity, model.fk.n_expression)
    if init is not None:
        from ..core.weights import load_weights

        net.load_state_dict(load_weights(init, WEIGHTS_KIND, (1,))[0])
        log(f"initialised from {init}")
    opt = torch.optim.Adam(net.parameters(), lr=s.lr)
    steps_per_epoch = max(1, len(rec) // s.batch)
    total = steps_per_epoch * s.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5 * (1 + np.cos(np.pi * min(k / total, 1.0))))
    ckpt, state = resume_or_start(out, {"step": 0, "seconds": 0.0, "losses": []}, net, opt, sched, resume, log)
    rng = np.random.default_rng([s.seed, state["step"]])

    def save() -> None:
        save_checkpoint(ckpt, net, opt, sched, state)
        export(net, s, run_info(state, rec.names, state["step"] / steps_per_epoch), out / WEIGHTS_FILE)

    budget = Budget(s.max_minutes, max_steps, 120.0, state["seconds"])
    net.train()
    while state["step"] < total and not budget.done(state["step"]):
        idx = rng.choice(len(rec), size=min(s.batch, len(rec)), replace=False)
        x, uv, id_n, exp_n, parts = _batch(rec, idx, rng)
        terms = losses(net(x), uv, id_n, exp_n, parts, fitter, rec.sub, class_weight)
        loss = sum(terms.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        state["step"] += 1
        if state["step"] % 20 == 0:
            state["losses"].append({"step": state["step"], **{k: round(float(v.detach()), 4) for k, v in terms.items()}})
            log(f"step {state['step']}/{total} " + " ".join(f"{k} {float(v):.3f}" for k, v in terms.items()))
        state["seconds"] = budget.seconds
        if budget.checkpoint_due():
            save()
    state["seconds"] = budget.seconds
    save()
    return out / WEIGHTS_FILE


def export(net, s: Settings, info: dict, path: Path) -> Path:
    from ..core.weights import save_weights

    meta = json.loads(json.dumps({"n_id": net.n_id, "n_exp": net.n_exp, "settings": asdict(s), "training": info}))
    # float16 storage halves the committed file; load_state_dict casts back into the float32 parameters
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in net.state_dict().items()}
    return save_weights(path, WEIGHTS_KIND, 1, state, meta)


def ship(run_dir: Path, models_dir: Path, bench_json: Path) -> Path:
    """Copy run_dir/photo_regressor.pt into models_dir with its card (photo_regressor.json): data, settings,
    training progress and the held-out benchmark numbers when they exist."""
    meta, bench, size_mb = copy_for_shipping(run_dir, models_dir, WEIGHTS_FILE, WEIGHTS_KIND, bench_json)
    about = About(model="photo regressor + part parser (FaceKit identity/expression/pose/translation; 9-class parser)",
                  paper="Wang et al., 3D Face Reconstruction with the Geometric Guidance of Facial Part Segmentation "
                        "(3DDFA-V3, CVPR 2024; shared/seeds/001): the regressor initialises PRDL fitting",
                  load="face_addon.core.pipelines.reconstruct_photo.load_regressor (torch.load weights_only=True)")
    card = build_card(about, WEIGHTS_FILE, size_mb, {
        "data": "synth --profile photo, train seeds < 1,000,000 (two 256² portrait views per sample), views "
                "cropped by our MediaPipe-derived detector (face_addon.train.photo_data)",
        **run_record(meta),
        "held_out": picked(bench, ("test_n", "part_iou", "vertex_mm", "mask_iou", "time_regressor_s", "time_fit_s",
                                   "commit")),
        "command": "nice -n 5 python -m face_addon train photo --data /work/data/photo/train "
                   "--cache /work/data/photo/cache/train --out out/photo_reg --epochs 60 --threads 1; then "
                   "python -m face_addon train photo --data /work/data/photo/train --cache /work/data/photo/cache/train "
                   "--out out/photo_reg2 --epochs 50 --lr 5e-4 --init out/photo_reg/photo_regressor.pt; "
                   "python -m face_addon train photo --ship out/photo_reg2",
        "phases": ["1: 1140 steps (60 epochs) from scratch, lr 1e-3 cosine, on the first 306 views (seeds 0-167)",
                   "2: 1800 steps (50 epochs) from phase 1, lr 5e-4 cosine, on all 579 views (seeds 0-323)"]})
    tr, iou, mm = meta.get("training", {}), bench.get("part_iou", {}), bench.get("vertex_mm", {})
    write_card(models_dir, WEIGHTS_FILE, card, Row(
        trained_on=f"{tr.get('train_views')} portrait renders (train seeds {seed_text(tr.get('train_seeds'))}), "
                   f"{tr.get('steps')} steps of batch {meta.get('settings', {}).get('batch')}",
        held_out=(f"{bench['test_n']} renders of unseen subjects: regressor Part IoU {iou['regressor']:.3f} / "
                  f"{mm['regressor']:.2f} mm; with PRDL fitting {iou['regressor_prdl']:.3f} / "
                  f"{mm['regressor_prdl']:.2f} mm" if "regressor_prdl" in iou else "not measured")))
    return models_dir / WEIGHTS_FILE


def add_arguments(parser) -> None:
    """`face train photo` options (train/options.py adds the shared ones)."""
    add_dataset_options(parser, Settings.max_minutes, Settings.threads)
    parser.add_argument("--epochs", type=count, default=Settings.epochs)
    parser.add_argument("--init", help="start from these weights (fresh optimiser)")
    parser.add_argument("--lr", type=float, default=Settings.lr)


def run(args) -> int:
    """Cache the dataset's views, then train (or ship) from parsed options."""
    if run_ship(args, ship, "photo"):
        return 0
    out, cache = cached_views(args, cache_split)
    s = Settings(epochs=args.epochs, threads=args.threads, lr=args.lr, max_minutes=args.minutes)
    print(train(cache, out, s, args.resume, args.max_steps, init=Path(args.init) if args.init else None))
    return 0


def main(argv: list[str] | None = None) -> int:
    return standalone(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
