"""Train the Segment Skin network (Pixels2Points) on synthetic scans (no bpy), checkpointed and resumable.

    face train skin --out out/skin_p2p --data DATA --features sigma30,hks,color,img_mu,img_var --cache out/skin_cache \
        --views out/skin_views --image-encoder out/skin_image/skin_image.pt
    face train skin --out out/skin_p2p_novis --data DATA --features ...,img_mu,img_var --lifting all --name ...
    nice -n 15 face train skin --out out/skin_3d --data DATA --features sigma30,hks,color --minutes 45
    nice -n 15 face train skin --out out/skin_geom --data DATA --features sigma30,hks --minutes 45
    nice -n 15 face train skin --out out/skin_mlp --data DATA --features sigma30,hks,color --arch mlp
    face train skin --out /tmp/skin --smoke          # CI preset: FaceKit heads, < 20 s
    face train skin --ship out/skin_3d               # → face_addon/models/skin_3d.pt + .json
    (`face` is `python -m face_addon` or `blender -b -c face`; `python -m face_addon.train.skin` takes the same
    options without Blender)

Data: the train-split folders given with --data (required), re-scanned every epoch (samples that arrive while
training are used), cached and lifted by train/skin_data.py. Caching new scans takes at most half of the wall
time, so training starts at once and the data grows as it goes.

Loss: cross-entropy per reduced vertex against the soft label (fraction of its scan vertices that are skin),
weighted by how many scan vertices it represents: the sum approximates the per-scan-vertex cross-entropy, so
the objective matches the metric (IoU over scan vertices). Not class-balanced: skin is 10-40 % of a scan, not
rare, and up-weighting it trades hair/cloth vertices wrongly kept as skin (what spoils a registration) for
skin vertices missed.

Augmentation: scale ×U(0.9, 1.1) (applied to the cached operators exactly: λ/s², M·s², Φ/s, ∇/s), colour
gain/tint/gamma jitter. No rotation: every input feature and DiffusionNet itself are invariant to rotation
(the gradient features do not depend on the tangent frames), so a rotated copy is the same example.

Settings: DiffusionNet's segmentation defaults (4 blocks, dropout 0.5, Adam lr 1e-3, k = 128 eigenpairs) except the
width, 64 instead of 128: a step costs 4× less on the CPU, which buys more passes over the data in a fixed time
budget (0.45 MB of weights). The learning rate drops ÷10 for the last 20 % of --minutes; one scan per step.
Inputs are standardised with the mean/std of the first cached scans (stored in the weights).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..core.pipelines import segment_skin as ss
from .budget import Budget
from .checkpoints import copy_for_shipping, load_checkpoint, run_ship, save_checkpoint, seed_ranges
from .model_card import About, Row, build_card, picked, run_record, seed_text, write_card
from .options import add_common, count, data_folders, out_folder, standalone
from .skin_data import LIFTINGS, Lifting, ScanPool, cache_arrays, feature_stats, jitter_color, raw_features, scaled

VARIANT_NAMES = {("diffusion_net", True): "skin_3d", ("diffusion_net", False): "skin_geom",
                 ("mlp", True): "skin_mlp", ("mlp", False): "skin_mlp_geom"}
RAW_FEATURES = ("sigma30", "hks", "color", "img_mu", "img_var")


@dataclass
class Settings:
    data: tuple[str, ...] = ()
    features: tuple[str, ...] = ("sigma30", "hks", "color")
    arch: str = "diffusion_net"   # diffusion_net | mlp (ablation: no communication between vertices)
    width: int = 64
    n_blocks: int = 4
    dropout: float = 0.5
    lr: float = 1e-3
    max_vertices: int = ss.MAX_VERTICES
    k_eig: int = ss.K_EIG
    epochs: int = 1000
    max_minutes: float = 45.0
    checkpoint_s: float = 180.0
    min_samples: int = 4
    stats_samples: int = 24       # cached scans the input standardisation is computed from
    scale_jitter: float = 0.1
    color_jitter: bool = True
    seed: int = 0
    threads: int = 1
    views: tuple[str, ...] = ()             # rendered views per scan (synth.skin_views, synth.skin_reallike)
    image_encoder: str | None = None        # the encoder whose features are lifted (train.skin_image)
    lifting: str = "visibility"             # visibility-aware weights, or "all" views a vertex projects into
    run_name: str | None = None
    init: str | None = None                 # fine-tune: start from these weights and their input standardisation
    extra: dict = field(default_factory=dict)

    @property
    def uses_images(self) -> bool:
        return bool(set(self.features) & set(ss.IMAGE_FEATURES))

    @property
    def name(self) -> str:
        if self.run_name:
            return self.run_name
        if self.uses_images:
            return "skin_p2p"
        return VARIANT_NAMES[(self.arch, "color" in self.features)]


# ------------------------------------------------------------------------------------------------ training

def make_network(s: Settings):
    in_ch = {"sigma30": 1, "hks": ss.N_HKS, "color": 3, "img_mu": s.extra.get("image_channels", 0),
             "img_var": s.extra.get("image_channels", 0)}
    arch = {"type": s.arch, "in_channels": sum(in_ch[n] for n in s.features), "out_channels": 2,
            "width": s.width, "dropout": s.dropout}
    arch.update({"n_blocks": s.n_blocks} if s.arch == "diffusion_net" else {"n_layers": s.n_blocks})
    return ss.build_network(arch), arch


def export(net, arch: dict, s: Settings, stats: dict, info: dict, path: Path) -> Path:
    from ..core.weights import save_weights

    if not len(stats["mean"]) == len(stats["std"]) == arch["in_channels"]:
        raise ValueError(f"input statistics for {len(stats['mean'])} columns, the network takes {arch['in_channels']}")
    meta = {"name": s.name, "arch": arch, "features": list(s.features), "feature_mean": stats["mean"],
            "feature_std": stats["std"],
            "k_eig": s.k_eig, "train_max_vertices": s.max_vertices, "n_hks": ss.N_HKS,
            "sigma_reference_spacing_m": ss.SIGMA_REFERENCE_SPACING_M,
            "settings": {k: v for k, v in asdict(s).items() if k != "extra"}, "training": info}
    if s.uses_images:
        meta.update(image_encoder=Path(s.image_encoder).name, lifting=s.lifting)
    meta = json.loads(json.dumps(meta))  # plain types only (weights_only loading)
    return save_weights(path, ss.WEIGHTS_KIND, 1, net.state_dict(), meta)


def initial_weights(net, arch: dict, s: Settings) -> dict[str, list[float]]:
    """Load `s.init` into `net` (fine-tuning, e.g. the shipped skin_p2p on real-like scans) and return its input
    standardisation, which the network's first layer was trained with. UsageError when the file's inputs or
    architecture differ from the run's."""
    from ..core.errors import UsageError
    from ..core.weights import load_weights

    state, meta = load_weights(s.init, ss.WEIGHTS_KIND, ss.WEIGHTS_VERSIONS)
    if tuple(meta["features"]) != tuple(s.features) or meta["arch"] != arch:
        raise UsageError(f"--init {s.init} takes {meta['features']} into {meta['arch']}, this run {list(s.features)} into {arch}")
    net.load_state_dict(state)
    return {"mean": list(meta["feature_mean"]), "std": list(meta["feature_std"])}


def soft_cross_entropy(logits, target, weight):
    """Σ_i w_i · CE(softmax(logits_i), (1 − t_i, t_i)) / Σ_i w_i."""
    import torch

    logp = torch.log_softmax(logits, dim=1)
    ce = -(target * logp[:, 1] + (1 - target) * logp[:, 0])
    return (weight * ce).sum() / weight.sum().clamp(min=1e-12)


def train(out: Path, s: Settings, resume: bool = True, max_steps: int | None = None, log=print,
          cache: Path | None = None, sample_source=None) -> Path:
    """Train until `epochs`/`max_minutes`/`max_steps`; checkpoints to out/checkpoint.pt, exports out/<name>.pt.

    `sample_source` (tests/smoke): a callable returning cached npz paths instead of the data folders
    (train/skin_data.ScanPool reads, caches and lifts the scans)."""
    import torch

    from ..core.nets.diffusion_net import DiffusionOperators

    torch.set_num_threads(s.threads)
    torch.manual_seed(s.seed)
    out.mkdir(parents=True, exist_ok=True)
    cache = cache or out / "cache"
    t_start = time.time()
    lifting = None
    if s.uses_images:
        lifting = Lifting(s.image_encoder, s.views, cache, s.lifting)
        s.extra["image_channels"] = lifting.channels
    net, arch = make_network(s)
    init_stats = initial_weights(net, arch, s) if s.init else None
    opt = torch.optim.Adam(net.parameters(), lr=s.lr)
    state = {"step": 0, "epoch": 0, "seconds": 0.0, "seeds": [], "losses": [], "stats": None}
    ckpt = out / "checkpoint.pt"
    rng = np.random.default_rng(s.seed)
    if resume and ckpt.exists():
        state = load_checkpoint(ckpt, net, opt, None)
        rng = np.random.default_rng([s.seed, state["step"]])
        log(f"resumed at step {state['step']} (epoch {state['epoch']})")
    pool = ScanPool([Path(r) for r in s.data], cache, s.max_vertices, s.k_eig, rng, log, lifting,
                    None if sample_source is None else sample_source())
    files = pool.wait_for(s.min_samples)
    if state["stats"] is None:
        state["stats"] = init_stats or feature_stats(files[:s.stats_samples], s.features, pool.features)
    mean, std = (np.asarray(state["stats"][k], np.float32) for k in ("mean", "std"))

    def info() -> dict:
        seeds = sorted(int(x) for x in state["seeds"] if x.isdigit())
        return {"steps": state["step"], "epochs": state["epoch"], "train_seconds": round(state["seconds"], 1),
                "n_train_samples": len(state["seeds"]), "train_seeds": seed_ranges(seeds),
                "last_loss": state["losses"][-1] if state["losses"] else None}

    def save() -> None:
        save_checkpoint(ckpt, net, opt, None, state)
        export(net, arch, s, state["stats"], info(), out / f"{s.name}.pt")
        (out / "progress.json").write_text(json.dumps({**info(), "losses": state["losses"][-200:]}, indent=1))

    budget = Budget(s.max_minutes, max_steps, s.checkpoint_s, state["seconds"])
    net.train()
    while state["epoch"] < s.epochs:
        files = pool.files(allowance_s=0.5 * (time.time() - t_start) + 30) if state["epoch"] else files
        state["seeds"] = sorted(set(state["seeds"]) | {f.stem for f in files})
        running, correct = [], []
        for i in rng.permutation(len(files)):
            d, ops = pool.example(files[i])
            scale = rng.uniform(1 - s.scale_jitter, 1 + s.scale_jitter)
            if "color" in s.features and s.color_jitter:
                d["color"] = jitter_color(d["color"].astype(np.float64), rng)
            x = torch.from_numpy((raw_features(d, s.features) - mean) / std)
            dops = DiffusionOperators.from_operators(scaled(ops, scale))
            target = torch.from_numpy(d["skin"].astype(np.float32))
            weight = torch.from_numpy(d["weight"].astype(np.float32))
            for group in opt.param_groups:
                group["lr"] = s.lr * (0.1 if budget.fraction > 0.8 else 1.0)
            logits = net(x, dops)
            loss = soft_cross_entropy(logits, target, weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            state["step"] += 1
            running.append(float(loss.detach()))
            pred = logits.detach().argmax(1).numpy() == 1
            correct.append(float((weight.numpy() * (pred == (d["skin"] >= 0.5))).sum() / weight.numpy().sum()))
            state["seconds"] = budget.seconds
            done = budget.done(state["step"])
            if budget.checkpoint_due() or done:
                state["losses"].append(round(float(np.mean(running[-20:])), 5))
                save()
                log(f"step {state['step']} epoch {state['epoch']} loss {np.mean(running[-20:]):.4f} "
                    f"acc {np.mean(correct[-20:]):.3f} ({len(files)} scans, {state['seconds'] / 60:.1f} min, "
                    f"caching {pool.caching_s / 60:.1f} min)")
            if done:
                return out / f"{s.name}.pt"
        state["epoch"] += 1
    save()
    return out / f"{s.name}.pt"


# ------------------------------------------------------------------------------------------------ smoke / ship

def smoke_samples(cache: Path, s: Settings, n: int = 4) -> list[Path]:
    """FaceKit heads (random identities/expressions) as tiny cached scans: skin = the face parts, skin-toned
    with noise; the rest of the head a random other colour. No dataset needed."""
    from ..core.facekit import load_facekit

    fk = load_facekit()
    rng = np.random.default_rng(0)
    a_id, a_exp = fk.sample_prior(rng, n=n)
    verts = fk.evaluate(a_id, a_exp)
    skin = np.zeros(fk.n_vertices, bool)
    for idx in fk.parts.values():
        skin[idx] = True
    files = []
    for i in range(n):
        color = np.where(skin[:, None], [0.6, 0.4, 0.3], rng.uniform(0, 1, 3)) + rng.normal(0, 0.03, (len(skin), 3))
        arrays = cache_arrays(verts[i], fk.faces, np.clip(color, 0, 1), skin, s.max_vertices, s.k_eig, cache / "ops")
        path = cache / f"smoke{i}.npz"
        np.savez(path, **arrays)
        files.append(path)
    return files


def smoke_settings(**kw) -> Settings:
    return Settings(width=16, n_blocks=2, max_vertices=1500, k_eig=32, min_samples=1, stats_samples=4,
                    checkpoint_s=1e9, **kw)


def ship(run_dir: Path, models_dir: Path, bench_json: Path) -> Path:
    """Copy the run's weights into models_dir and write the model card <name>.json beside them."""
    from ..core.weights import load_weights

    name = next(p.stem for p in sorted(run_dir.glob("skin*.pt")))
    meta, bench, size_mb = copy_for_shipping(run_dir, models_dir, f"{name}.pt", ss.WEIGHTS_KIND, bench_json)
    load_weights(models_dir / f"{name}.pt", ss.WEIGHTS_KIND, ss.WEIGHTS_VERSIONS)
    entry = {"skin_p2p": "ours", "skin_3d": "3d_baseline", "skin_geom": "geometry_only", "skin_mlp": "mlp"}.get(name)
    images = bool(set(meta["features"]) & set(ss.IMAGE_FEATURES))
    st, tr = meta["settings"], meta["training"]
    about = About(model=(f"Pixels2Points skin segmenter: lifted image features ({meta.get('image_encoder')}, "
                         f"{meta.get('lifting')} weights) + {meta['features']}, {meta['arch']['type']}" if images else
                         f"Pixels2Points 3D-only skin segmenter ({meta['arch']['type']}, features {meta['features']})"),
                  paper="Chen et al.: Pixels2Points, Eurographics 2025 (shared/seeds/000), Tab. 1 "
                        + ("'Ours' row (DINOv2 replaced by our encoder, see skin_image.json)" if images else "'3D' rows"),
                  load="face_addon.core.pipelines.segment_skin.load_skin_model (torch.load weights_only=True)")
    miou, d_mm = ((bench.get(k) or {}).get(entry) if entry else None for k in ("miou", "d_surface_mm"))
    card = build_card(about, f"{name}.pt", size_mb, {
        "architecture": meta["arch"], "features": meta["features"],
        "inference": {"max_vertices": ss.MAX_VERTICES, "k_eig": meta["k_eig"],
                      "sigma_reference_spacing_m": meta["sigma_reference_spacing_m"],
                      **({"image_encoder": meta["image_encoder"], "lifting": meta["lifting"],
                          "views": "13 Cycles renders (160 px) of the scan, core.geometry.multiview.scan_rig, or "
                                   "the user's calibrated photos"} if images else {})},
        **run_record(meta),
        "data": {"source": "face synth --profile scan --target-verts 30000 (FaceKit subjects with hair, beards, "
                           "clothes, accessories; voxel-remeshed, noisy, holes), train split seeds only"
                           + ("; views: face_addon.synth.skin_views --jitter (random rig pose per scan)" if images else "")
                           + (f"; fine-tuned from {Path(st['init']).name} on {', '.join(st['data'])} (real-like "
                              "variants: face_addon.synth.skin_reallike, views as Segment Skin renders them)"
                              if st.get("init") else ""),
                 "label": "skin = scan vertex within 1.5 mm of the true head surface (labels.npz:skin)",
                 "augmentation": "scale x U(0.9, 1.1) on the operators; colour gain/tint/gamma jitter"},
        "metrics": picked(bench, ("test_n", "test_set", "miou_definition", "d_surface_definition")),
        "miou": miou, "d_surface_mm": d_mm,
        "reproduce": [f"nice -n 15 python -m face_addon train skin --out {run_dir} --data "
                      f"{' '.join(st['data'])} --features {','.join(meta['features'])} --arch {meta['arch']['type']} "
                      f"--minutes {st['max_minutes']} --cache out/skin_cache --resume"
                      + (f" --lifting {meta['lifting']} --views {' '.join(st['views'])} "
                         f"--image-encoder {st['image_encoder']}" if images else "")
                      + (f" --init {st['init']} --lr {st['lr']:g}" if st.get("init") else ""),
                      f"python -m face_addon train skin --ship {run_dir}",
                      "nice -n 15 python tests/bench/bench_skin.py"]})
    write_card(models_dir, f"{name}.pt", card, Row(
        trained_on=f"{tr.get('n_train_samples')} synthetic scans (train seeds {seed_text(tr.get('train_seeds'))}), "
                   f"{tr['steps']} steps of one scan, {st['max_minutes']:g} min",
        held_out=(f"{bench['test_n']} scans: mIoU {miou:.3f}, d_surface {d_mm:.2f} mm" if miou is not None and
                  d_mm is not None else "not measured")))
    return models_dir / f"{name}.pt"


def add_arguments(parser) -> None:
    """`face train skin` options (train/options.py adds the shared ones)."""
    add_common(parser, data="synthetic scan dataset folder(s) (`face synth --profile scan`; the train split is used)",
               many_data=True, default_minutes=Settings.max_minutes, smoke="FaceKit heads, a tiny net, 3 steps (< 20 s)")
    parser.add_argument("--cache", help="cached scans, shareable between runs (default: OUT/cache)")
    parser.add_argument("--features", default="sigma30,hks,color",
                        help="comma list out of sigma30,hks,color,img_mu,img_var (img_*: lifted view features)")
    parser.add_argument("--views", nargs="+", metavar="DIR",
                        help="img_* features: rendered views per scan (synth.skin_views, synth.skin_reallike)")
    parser.add_argument("--image-encoder", help="img_* features: the encoder whose features are lifted "
                        "(face train skin_image)")
    parser.add_argument("--lifting", choices=LIFTINGS, default="visibility",
                        help="per-view weights: visibility-aware, or every view a vertex projects into (ablation)")
    parser.add_argument("--name", help="weights file stem (default: from the features)")
    parser.add_argument("--init", help="fine-tune: start from this skin_*.pt (same features and network) and keep "
                        "its input standardisation")
    parser.add_argument("--lr", type=float, default=Settings.lr, help="Adam learning rate (÷10 for the last 20 %%)")
    parser.add_argument("--arch", choices=("diffusion_net", "mlp"), default="diffusion_net")
    parser.add_argument("--max-vertices", type=count, default=Settings.max_vertices,
                        help="reduced mesh size for training")


def run(args) -> int:
    """Train (or ship) from parsed options; prints the weights' path."""
    from ..core.errors import UsageError

    if run_ship(args, ship, "skin"):
        return 0
    out = out_folder(args)
    features = tuple(f for f in args.features.split(",") if f)
    if not features or set(features) - set(RAW_FEATURES):
        raise UsageError(f"--features must be a comma list out of {','.join(RAW_FEATURES)}")
    if args.smoke:
        s = smoke_settings(features=features, arch=args.arch, threads=args.threads, max_minutes=args.minutes,
                           init=args.init, lr=args.lr)
        cache = out / "cache"
        (cache / "ops").mkdir(parents=True, exist_ok=True)
        files = smoke_samples(cache, s)
        path = train(out, s, resume=args.resume, max_steps=args.max_steps or 3, cache=cache,
                     sample_source=lambda: files)
    else:
        data = data_folders(args, "the synthetic scan dataset folder(s) to train on")
        s = Settings(data=tuple(str(d) for d in data), features=features, arch=args.arch,
                     max_vertices=args.max_vertices, max_minutes=args.minutes, threads=args.threads,
                     views=tuple(args.views or ()), image_encoder=args.image_encoder, lifting=args.lifting,
                     run_name=args.name, init=args.init, lr=args.lr)
        if s.uses_images and not (args.views and args.image_encoder):
            raise UsageError("img_* features need --views DIR and --image-encoder FILE")
        path = train(out, s, resume=args.resume, cache=Path(args.cache) if args.cache else None,
                     max_steps=args.max_steps)
    print(f"weights: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return standalone(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
