"""Train the NEO-3DF editing model on neutral FaceKit faces (no bpy), then calibrate and export it.

    face train editing --out out/neo3df --resume          # full run (CPU, ~1 h on 2 cores)
    face train editing --out out/neo3df --finalize        # calibrate controllers + export only
    face train editing --out /tmp/neo3df --smoke          # CI preset, < 30 s
    (`python -m face_addon.train.editing` takes the same options without Blender)

Loss per segment VAE (paper Eq. 1): λ_recon·Σ_v‖v − v'‖² + λ_KL·KL + λ_smooth·‖L_cot(S' − S)‖², millimetres,
λ = (1, 0.01, 1); the offset regressor (z_rest -> (0, Δy, Δz) per part) is trained alongside on the detached
rest latent with a squared error. Deviation from the paper, for CPU time: batch 256 and Adam 1e-3 with a cosine
decay instead of batch 16 at a constant 1e-4. A checkpoint is written every epoch; --resume continues from it;
--minutes stops after the epoch that uses the budget up. No --data: the faces are drawn from FaceKit's prior.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..core.editing.data import TEST_COUNT, TEST_SEED, TRAIN_COUNT, TRAIN_SEED, FaceSampler, identity_pool
from ..core.editing.layout import SEGMENT_NAMES, build_layout
from ..core.editing.model import Neo3DF
from ..core.facekit import load_facekit
from ..core.geometry.laplacian import cotangent_laplacian, submesh_faces
from ..core.nets.part_vae import SKIP_LR_FACTOR, kl_divergence
from .budget import Budget
from .checkpoints import load_checkpoint, save_checkpoint
from .model_card import write_card
from .options import add_common, count, out_folder, standalone


@dataclass
class Settings:
    pool: int = TRAIN_COUNT
    epochs: int = 2
    batch: int = 256
    lr: float = 1e-3
    lr_min: float = 1e-5
    hidden: tuple[int, int] = (96, 64)
    w_recon: float = 1.0
    w_kl: float = 0.01
    w_smooth: float = 1.0
    w_offset: float = 1.0
    test_count: int = TEST_COUNT
    threads: int = 2
    max_minutes: float = 600.0


def _log(msg: str) -> None:
    print(msg, flush=True)


SMOKE = Settings(pool=512, epochs=1, batch=128, hidden=(32, 16), test_count=16)


def _sparse(mat) -> torch.Tensor:
    coo = mat.tocoo()
    return torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data, coo.shape, dtype=torch.float32,
                                   check_invariants=True).coalesce()


def segment_laplacians(model: Neo3DF) -> dict[str, torch.Tensor]:
    """Cotangent Laplacian of each segment's sub-mesh on the mean face (fixed during training)."""
    mean = model.mean_face.numpy()
    out = {}
    for k, idx in model.layout.segments.items():
        faces, _ = submesh_faces(model.faces, idx)
        out[k] = _sparse(cotangent_laplacian(mean[idx], faces))
    return out


def _laplace(lap: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    b, k, _ = x.shape
    return torch.sparse.mm(lap, x.permute(1, 0, 2).reshape(k, -1)).reshape(k, b, 3).permute(1, 0, 2)


def _init_from_data(model: Neo3DF, sampler: FaceSampler, alphas: np.ndarray) -> None:
    """Whitening and PCA skip layers of each VAE from up to 2048 training faces."""
    with torch.no_grad():
        shapes, _ = model.split(sampler(alphas[:2048]))
    for k, s in shapes.items():
        model.vaes[k].init_from_data(s)


def losses(model: Neo3DF, laps: dict[str, torch.Tensor], verts: torch.Tensor, s: Settings) -> dict[str, torch.Tensor]:
    """Per-term mean losses over the batch: recon/kl/smooth summed over segments, and the offset loss."""
    shapes, offs = model.split(verts)
    out = {"recon": 0.0, "kl": 0.0, "smooth": 0.0}
    mu_rest = None
    for k in SEGMENT_NAMES:
        rec, mu, logvar = model.vaes[k](shapes[k])
        diff = rec - shapes[k]
        out["recon"] = out["recon"] + diff.pow(2).sum((1, 2)).mean()
        out["kl"] = out["kl"] + kl_divergence(mu, logvar).mean()
        out["smooth"] = out["smooth"] + _laplace(laps[k], diff).pow(2).sum((1, 2)).mean()
        if k == "rest":
            mu_rest = mu
    out["offset"] = (model.offsets(mu_rest.detach()) - offs).pow(2).sum((1, 2)).mean()
    out["total"] = (s.w_recon * out["recon"] + s.w_kl * out["kl"] + s.w_smooth * out["smooth"]
                    + s.w_offset * out["offset"])
    return out


def build(s: Settings):
    fk = load_facekit()
    alphas = identity_pool(fk, TRAIN_SEED, s.pool)
    sampler = FaceSampler(fk)
    mean_face = sampler(alphas.mean(0, keepdims=True))[0].numpy() / 1000.0
    layout = build_layout(mean_face, fk.faces, fk.segments)
    model = Neo3DF(layout, mean_face, fk.faces, s.hidden)
    _init_from_data(model, sampler, alphas)
    return fk, alphas, sampler, model


def train(out: Path, s: Settings, resume: bool, log=_log) -> Neo3DF:
    torch.set_num_threads(s.threads)
    out.mkdir(parents=True, exist_ok=True)
    fk, alphas, sampler, model = build(s)
    laps = segment_laplacians(model)
    skip = [p for n, p in model.named_parameters() if "_skip." in n]
    rest = [p for n, p in model.named_parameters() if "_skip." not in n]
    opt = torch.optim.Adam([{"params": rest, "scale": 1.0}, {"params": skip, "scale": SKIP_LR_FACTOR}], lr=s.lr)
    steps_per_epoch = math.ceil(s.pool / s.batch)
    total = s.epochs * steps_per_epoch
    state = {"epoch": 0, "history": "[]", "seconds": 0.0}
    ckpt = out / "checkpoint.pt"
    if resume and ckpt.exists():
        state = load_checkpoint(ckpt, model, opt, None)
        log(f"resumed after epoch {state['epoch']}")
    start, history = int(state["epoch"]), json.loads(state["history"])
    budget = Budget(s.max_minutes, checkpoint_s=0.0, seconds_before=state["seconds"])
    for epoch in range(start, s.epochs):
        model.train()
        perm = np.random.default_rng(1000 + epoch).permutation(s.pool)
        sums: dict[str, float] = {}
        t0 = time.time()
        for b in range(steps_per_epoch):
            step = epoch * steps_per_epoch + b
            for g in opt.param_groups:
                g["lr"] = g["scale"] * (s.lr_min + 0.5 * (s.lr - s.lr_min) * (1 + math.cos(math.pi * step / total)))
            idx = perm[b * s.batch:(b + 1) * s.batch]
            terms = losses(model, laps, sampler(alphas[idx]), s)
            opt.zero_grad()
            terms["total"].backward()
            opt.step()
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            if (b + 1) % 50 == 0:
                log(f"epoch {epoch + 1} step {b + 1}/{steps_per_epoch} {time.time() - t0:.0f} s "
                    f"recon {sums['recon'] / (b + 1):.1f}")
        row = {"epoch": epoch + 1, "seconds": round(time.time() - t0, 1),
               **{k: round(v / steps_per_epoch, 4) for k, v in sums.items()}}
        history.append(row)
        log(json.dumps(row))
        state = {"epoch": epoch + 1, "history": json.dumps(history), "seconds": budget.seconds}
        save_checkpoint(ckpt, model, opt, None, state)
        if budget.out_of_time():
            log(f"time budget of {s.max_minutes:g} min used after epoch {epoch + 1}")
            break
    model.history = history
    model.train_seconds = budget.seconds
    return model.eval()


def load_trained(out: Path, s: Settings) -> Neo3DF:
    """The model of out/checkpoint.pt (for --finalize)."""
    _, _, _, model = build(s)
    blob = torch.load(out / "checkpoint.pt", weights_only=True)
    model.load_state_dict(blob["model"])
    model.history = json.loads(blob["state"]["history"])
    return model.eval()


def finalize(model: Neo3DF, out: Path, s: Settings, command: str, log=_log) -> dict:
    """Calibrate the controllers on the training pool, measure held-out reconstruction, write weights + card."""
    from ..core.editing.controllers import calibrate
    from ..core.editing.evaluate import reconstruction_error_mm

    fk = load_facekit()
    sampler = FaceSampler(fk)
    alphas = identity_pool(fk, TRAIN_SEED, s.pool)
    t0 = time.time()
    calibrate(model, sampler, alphas)
    log(f"controllers calibrated in {time.time() - t0:.1f} s")
    meta = {
        "model": "NEO-3DF part-based face shape model on FaceKit topology",
        "data": f"neutral FaceKit identities from the documented prior: train rng seed {TRAIN_SEED}, {s.pool} faces; "
                f"held-out test rng seed {TEST_SEED}, {s.test_count} faces (disjoint draws)",
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(s).items()},
        "history": getattr(model, "history", []),
        "epochs_completed": len(getattr(model, "history", [])),
        "command": command,
    }
    path = out / "neo3df.pt"
    model.save(path, meta)
    from ..core.editing.model import load_model

    shipped = load_model(path)  # measure what ships (fp16 weights), not the training copy
    test = sampler(identity_pool(fk, TEST_SEED, s.test_count))
    metrics = reconstruction_error_mm(shipped, test)
    meta["metrics_held_out"] = metrics
    meta["metrics_note"] = ("mean per-vertex Euclidean error in mm on the held-out faces: per segment VAE (parts in "
                            "their re-centred frame), 'assembled' = whole face with regressed offsets, 'offset' = "
                            "part placement error")
    shipped.save(path, meta)
    card = {**meta, "weights": "neo3df.pt", "bytes": path.stat().st_size,
            "controllers": {k: v for k, v in shipped.controllers.names.items()}}
    write_card(out, "neo3df.pt", card)
    log(json.dumps(metrics))
    return card


def add_arguments(parser) -> None:
    """`face train editing` options (train/options.py adds the shared ones; no --data: FaceKit's prior)."""
    add_common(parser, data=None, default_minutes=Settings.max_minutes, threads=Settings.threads,
               smoke="512 faces, one epoch, a tiny net (< 30 s)", max_steps=False, ship=False)
    parser.add_argument("--finalize", action="store_true", help="skip training: calibrate + export the checkpoint")
    parser.add_argument("--epochs", type=count)
    parser.add_argument("--pool", type=count, help="training identities drawn from the prior")


def run(args) -> int:
    """Train (or only finalize), calibrate the controllers and export neo3df.pt + neo3df.json."""
    s = replace(SMOKE if args.smoke else Settings(), threads=args.threads, max_minutes=args.minutes)
    if args.epochs:
        s.epochs = args.epochs
    if args.pool:
        s.pool = args.pool
    out = out_folder(args)
    command = "python -m face_addon train editing --out " + str(out) + (" --smoke" if args.smoke else " --resume")
    if args.finalize:
        torch.set_num_threads(s.threads)
        model = load_trained(out, s)
    else:
        model = train(out, s, args.resume)
    finalize(model, out, s, command)
    return 0


def main(argv: list[str] | None = None) -> int:
    return standalone(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
