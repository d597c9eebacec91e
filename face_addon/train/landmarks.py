"""Train the 2S-SGCN landmark heatmap regressor on synthetic scans (no bpy), checkpointed and resumable.

    nice -n 10 python -m face_addon train landmarks --out out/lm_sgcn --data DATA --resume      # full run, follows data
    nice -n 10 python -m face_addon train landmarks --out out/lm_gcn --data DATA --arch gcn --resume  # ablation "GCN"
    python -m face_addon train landmarks --out /tmp/lm --smoke                     # CI preset, < 30 s
    python -m face_addon train landmarks --out /shared/lm --data /shared/synth --ray auto --workers 8
    (`python -m face_addon.train.landmarks ...` takes the same options without Blender)

Data: every train-split folder given with --data (required), read with
`dataset.iter_samples`-compatible folders and re-scanned every epoch, so samples that arrive while training
are used. Each sample is cached once as 32k area-uniform surface candidates with their triangle normals
(`<out>/cache/SEED.npz`); every time it is drawn it is augmented (rotation up to ±30° per axis, random
plane crops and holes, normal noise, mm or m scale), Poisson-disk resampled to 8000 points and standardised.

Settings (2S-SGCN §3.3, §3.4, §5.2): heatmap sigma 0.03, modified Adaptive Wing loss (omega 14, theta 0.5,
alpha 2.1, beta 50, epsilon 1), Adam, batch 4, width 64, depth 20, k 16. The paper's learning rate is not
given: Adam's default 1e-3. The prototype (Eq. 4) is the mean standardised landmark set of the samples
present at the first start; it is stored in the weights.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..core.pipelines import detect_landmarks as dl
from .budget import Budget
from .checkpoints import load_checkpoint, run_ship, save_checkpoint, seed_ranges
from .distributed import Dist
from ..core.pipelines.sgcn_frame import FrameCrop, default_crop
from .landmarks_data import cached_samples, compute_prototype, make_example, mean_face_landmarks, smoke_samples
from .model_card import About, Row, build_card, picked, run_record, seed_text, write_card
from .options import add_common, count, data_folders, out_folder, standalone

LR_DROP = 0.3


@dataclass
class Settings:
    data: tuple[str, ...] = ()
    arch: str = "sgcn"            # sgcn | gcn (ablation: fine graph only)
    n_points: int = dl.N_POINTS
    k: int = dl.K_NEIGHBOURS
    width: int = 64
    depth: int = 20
    sigma: float = dl.SIGMA
    omega: float = 14.0
    theta: float = 0.5
    alpha: float = 2.1
    beta: float = 50.0
    lr: float = 1e-3
    lr_drop_step: int = 0         # from this step on (0: never) the learning rate is lr * LR_DROP
    batch: int = 4
    epochs: int = 500
    max_minutes: float = 6000.0
    checkpoint_s: float = 180.0
    min_samples: int = 8          # wait for this many samples before starting
    seed: int = 0
    threads: int = 1
    augment: bool = True
    max_rot_deg: float = 30.0     # "pca" input only
    input: str = "face_frame"     # face_frame | pca (the paper's standardisation; train/landmarks_data.py)
    frame_crop: dict = field(default_factory=dict)  # face_frame: the mask (sgcn_frame.FrameCrop), set at the start
    init: str = ""                # weights to start from (fine-tuning; the prototype is recomputed)
    extra: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ loss

def adaptive_wing_loss(pred, target, omega: float = 14.0, theta: float = 0.5, alpha: float = 2.1,
                       beta: float = 50.0, epsilon: float = 1.0):
    """Modified Adaptive Wing loss (2S-SGCN Eq. 3): the AWing loss of Wang et al. (2019) weighted by (1 + beta*h).

    AWing: omega*ln(1 + (|d|/eps)^(alpha-h)) for |d| < theta, else A|d| - C (continuous at theta). Eq. 3 as
    printed drops the '1 +' and eps of the original; we use the original form (eps = 1, as recommended there).
    Mean over all points and landmarks.
    """
    import torch

    d = (pred - target).abs()
    p = alpha - target
    ratio = theta / epsilon
    a = omega * (1 / (1 + ratio ** p)) * p * ratio ** (p - 1) / epsilon
    c = theta * a - omega * torch.log1p(ratio ** p)
    loss = torch.where(d < theta, omega * torch.log1p((d / epsilon) ** p), a * d - c)
    return ((1 + beta * target) * loss).mean()


# ------------------------------------------------------------------------------------------------ training

def export(net, s: Settings, info: dict, path: Path) -> Path:
    from ..core.weights import save_weights

    meta = {"arch": net.config, "n_points": s.n_points, "k": s.k, "sigma": s.sigma, "top": dl.TOP_T,
            "gamma": dl.GAMMA, "settings": {k: v for k, v in asdict(s).items() if k != "extra"}, "training": info}
    if s.input == "face_frame":
        meta["frame_crop"] = s.frame_crop
    meta = json.loads(json.dumps(meta))  # plain types only (weights_only loading)
    return save_weights(path, dl.WEIGHTS_KIND, 1, net.state_dict(), meta)


def train(out: Path, s: Settings, resume: bool = True, max_steps: int | None = None, log=print,
          sample_source=None, dist: Dist | None = None) -> Path:
    """Train until `epochs`/`max_minutes`/`max_steps`; checkpoints to out/checkpoint.pt, exports out/landmarks.pt.

    `sample_source` (tests/smoke): a callable returning a list of cached npz paths instead of the data folders.
    `dist`: this process's rank in data-parallel training (train/distributed.py; `out` on shared storage).
    """
    import torch

    from ..core.nets.sgcn import SGCN

    torch.set_num_threads(s.threads)
    torch.manual_seed(s.seed)
    out.mkdir(parents=True, exist_ok=True)
    crop = None
    if s.input == "face_frame":
        crop = FrameCrop.from_meta(s.frame_crop) if s.frame_crop else default_crop(mean_face_landmarks())
        s.frame_crop = crop.to_meta()
    cache = out / ("cache" if crop is None else "cache_frame")
    cache.mkdir(exist_ok=True)
    rng = np.random.default_rng(s.seed)
    roots = [Path(r) for r in s.data]

    def available() -> list[Path]:
        return sample_source() if sample_source is not None else cached_samples(roots, cache, rng, log, crop)

    net = SGCN(n_landmarks=68, width=s.width, depth=s.depth, stratified=(s.arch == "sgcn"))
    opt = torch.optim.Adam(net.parameters(), lr=s.lr)
    state = {"step": 0, "epoch": 0, "seen": 0, "seconds": 0.0, "seeds": [], "losses": []}
    ckpt = out / "checkpoint.pt"
    if resume and ckpt.exists():
        state = load_checkpoint(ckpt, net, opt, None)
        for group in opt.param_groups:  # a resumed run may continue at a new (lower) learning rate
            group["lr"] = current_lr(s, state["step"])
        rng = np.random.default_rng([s.seed, state["step"]])  # fresh augmentations after a restart
        log(f"resumed at step {state['step']} (epoch {state['epoch']}, {state['seen']} samples seen)")
    else:
        files = available()
        while len(files) < s.min_samples:
            log(f"waiting for data: {len(files)} < {s.min_samples} samples")
            time.sleep(30)
            files = available()
        if s.init:
            from ..core.weights import load_weights

            net.load_state_dict(load_weights(Path(s.init), dl.WEIGHTS_KIND, dl.WEIGHTS_VERSIONS)[0])
            log(f"starting from {s.init}")
        net.prototype.copy_(torch.from_numpy(compute_prototype(files, crop)).float())
        state["prototype_from"] = [f.stem for f in files]
    if dist is not None:
        dist.sync_parameters(net)

    prototype = net.prototype.numpy().astype(np.float64)
    budget = Budget(s.max_minutes, max_steps, s.checkpoint_s, state["seconds"])
    net.train()
    while state["epoch"] < s.epochs:
        files = available()
        state["seeds"] = sorted(set(state["seeds"]) | {f.stem for f in files})
        # ranks share the order (own stream: the cache may draw from rng) and augment with their own streams
        order = (rng if dist is None else np.random.default_rng([s.seed, state["epoch"]])).permutation(len(files))
        aug_rng = rng if dist is None else np.random.default_rng([s.seed, state["step"], dist.rank])
        running = []
        for b in range(0, len(order) - s.batch + 1, s.batch):
            items = order[b:b + s.batch] if dist is None else dist.share(order[b:b + s.batch])
            batch = [make_example(files[i], prototype, s, aug_rng, s.augment) for i in items]
            n_min = min(len(x[0]) for x in batch)
            skip = any(len(x[0]) != n_min for x in batch)  # tiny inputs can have fewer points: skip the batch
            if skip if dist is None else dist.any(skip):
                continue
            feats, nbr, coarse, heat = (torch.from_numpy(np.stack([x[j] for x in batch])) for j in range(4))
            pred = net(feats, nbr, coarse)
            loss = adaptive_wing_loss(pred, heat, s.omega, s.theta, s.alpha, s.beta)
            opt.zero_grad()
            loss.backward()
            if dist is not None:
                dist.average_gradients(net)
            opt.step()
            state["step"] += 1
            for group in opt.param_groups:
                group["lr"] = current_lr(s, state["step"])
            state["seen"] += len(batch) if dist is None else len(batch) * dist.world
            running.append(float(loss.detach()) if dist is None else dist.mean(float(loss.detach())))
            state["seconds"] = budget.seconds
            if budget.checkpoint_due() and (dist is None or dist.leader):
                state["losses"].append(round(float(np.mean(running[-20:])), 5))
                save_run(out, net, opt, s, state)
                log(f"step {state['step']} epoch {state['epoch']} loss {np.mean(running[-20:]):.4f} "
                    f"({len(files)} samples, {state['seconds'] / 60:.1f} min)")
            done = budget.done(state["step"])
            if done if dist is None else dist.any(done):
                state["losses"].append(round(float(np.mean(running[-20:])), 5))
                if dist is None or dist.leader:
                    save_run(out, net, opt, s, state)
                return out / "landmarks.pt"
        state["epoch"] += 1
        if running:
            state["losses"].append(round(float(np.mean(running)), 5))
    if dist is None or dist.leader:
        save_run(out, net, opt, s, state)
    return out / "landmarks.pt"


def save_run(out: Path, net, opt, s: Settings, state: dict) -> None:
    """Checkpoint, weights (+ a snapshot per checkpoint, for ablations at equal step counts) and progress.json."""
    import shutil

    save_checkpoint(out / "checkpoint.pt", net, opt, None, state)
    info = {"steps": state["step"], "epochs": state["epoch"], "samples_seen": state["seen"],
            "train_seconds": round(state["seconds"], 1), "n_train_samples": len(state["seeds"]),
            "train_seeds": seed_ranges(sorted(int(x) for x in state["seeds"] if x.isdigit())),
            "last_loss": state["losses"][-1] if state["losses"] else None}
    export(net, s, info, out / "landmarks.pt")
    snaps = out / "snapshots"
    snaps.mkdir(exist_ok=True)
    shutil.copyfile(out / "landmarks.pt", snaps / f"landmarks_step{state['step']:06d}.pt")
    (out / "progress.json").write_text(json.dumps({**info, "losses": state["losses"][-200:]}, indent=1))


def current_lr(s: Settings, step: int) -> float:
    """Constant Adam rate with one optional drop: a budget far below the paper's 500 epochs ends at a lower rate."""
    return s.lr * (LR_DROP if s.lr_drop_step and step >= s.lr_drop_step else 1.0)


def ship(run_dir: Path, models_dir: Path, bench_json: Path | None = None, gcn_dir: Path | None = None) -> Path:
    """Copy run_dir/landmarks.pt to models_dir/landmarks.pt and write the model card models_dir/landmarks.json."""
    import shutil

    from ..core.weights import load_weights

    src = run_dir / "landmarks.pt"
    _, meta = load_weights(src, dl.WEIGHTS_KIND, dl.WEIGHTS_VERSIONS)
    models_dir.mkdir(parents=True, exist_ok=True)
    dst = models_dir / "landmarks.pt"
    shutil.copyfile(src, dst)
    bench = json.loads(bench_json.read_text()) if bench_json and bench_json.is_file() else {}
    n_train = meta["training"].get("n_train_samples", 0)
    crop = meta.get("frame_crop", {})
    frame_input = (f"the face frame (core/pipelines/sgcn_frame.py): canonical metres, the mask of radius "
                   f"{crop.get('radius')} m around the mean face's landmark centre and in front of y = "
                   f"{crop.get('back')} m, standardised by that centre and radius")
    about = About(model="2S-SGCN facial landmark detector (68 iBUG points), heatmap regressor + MSE-over-mesh",
                  paper="Burger, Blandano, Facchi, Lanzarotti: 2S-SGCN, CVIU 2025 (shared/seeds/003)",
                  load="face_addon.core.pipelines.detect_landmarks.load_landmark_model (torch.load weights_only=True)")
    card = build_card(about, "landmarks.pt", round(dst.stat().st_size / 2 ** 20, 3), {
        "architecture": meta["arch"], "inference": {k: meta[k] for k in ("n_points", "k", "sigma", "top", "gamma")},
        **run_record(meta),
        "data": {"source": "face synth --profile scan (FaceKit subjects, hair/clothes/accessories, expressions, "
                           "holes, noise), train split seeds only (0-999,999)",
                 "folders": list(meta["settings"]["data"]),
                 "input": frame_input if "frame_crop" in meta else "the paper's standardisation (centre, PCA, scale)",
                 "augmentation": AUGMENTATION[meta["settings"].get("input", "pca")]},
        "metrics": {**picked(bench, ("test_n", "test_set", "mean_mm", "std_mm", "region_mm", "time_100k_s",
                                     "time_1m_s")), **real_metrics(bench_json)},
        "reproduce": reproduce(run_dir, meta, n_train),
    })
    st, tr = meta["settings"], meta["training"]
    mean, std, icp = (bench.get(k, {}).get(m) for k, m in (("mean_mm", "2S-SGCN"), ("std_mm", "2S-SGCN"),
                                                             ("mean_mm", "icp_baseline")))
    drop = f", ×{LR_DROP:g} from step {st['lr_drop_step']}" if st.get("lr_drop_step") else ""
    write_card(models_dir, "landmarks.pt", card, Row(
        trained_on=f"{n_train} synthetic scans (train seeds {seed_text(tr.get('train_seeds'))}), {tr['steps']} steps "
                   f"of batch {st['batch']} (lr {st['lr']:g}{drop})",
        held_out=(f"{bench['test_n']} scans: {mean:.2f} ± {std:.2f} mm mean (ICP baseline {icp:.2f} mm)"
                  if mean is not None and icp is not None else "not measured")
        + (f"; real Artec scans, 10 points: {artec['sgcn']['mean']:.2f} mm (views {artec['views']['mean']:.2f})"
           if (artec := card["metrics"].get("real_artec_10_points_mm", {})).keys() >= {"sgcn", "views"} else "")))
    return dst


#: the model card's augmentation line per input (train/landmarks_data.py)
AUGMENTATION = {
    "pca": "rotation U(-30, 30) deg per axis, 0-2 plane crops outside the landmarks, 0-4 holes (5-30 mm), 0-0.6 mm "
           "normal noise, mm units with p = 0.3",
    "face_frame": "cached in the canonical frame (similarity of the brow/nose/eye landmarks onto the mean face); "
                  "a frame error of U(-3, 3) deg per axis, ±4 % scale, 2.5 mm rms shift; the inference mask and with "
                  "p = 0.6 a tighter one (radius 85-125 mm, back plane -40..-10 mm: face-only crops); 0-2 plane "
                  "crops and 0-4 holes (5-30 mm) outside the landmarks; a ragged border (normal noise up to 2 mm "
                  "rms fading over 8 mm); 0-0.6 mm normal noise"}


def real_metrics(bench_json: Path | None) -> dict:
    """The real-scan rows of this model (2S-SGCN and its fusion with the views) from results/real.json beside the
    synthetic benchmark's file, when bench_real.py has measured them."""
    real = bench_json.with_name("real.json") if bench_json else None
    if real is None or not real.is_file():
        return {}
    r = json.loads(real.read_text())
    rows = {"real_artec_10_points_mm": r.get("landmarks_artec_mm", {}),
            "real_humface_7_points_mm": r.get("landmarks_humface_mm", {})}
    return {k: {m: v[m] for m in ("sgcn", "fusion", "views") if m in v} for k, v in rows.items() if v}


def reproduce(run_dir: Path, meta: dict, n_train: int) -> list[str]:
    """The model card's commands, from the run's own settings."""
    st, tr = meta["settings"], meta["training"]
    init = f" --init {st['init']}" if st.get("init") else ""
    start = ([f"# --init {st['init']}: the weights the run started from; when that is models/landmarks.pt, the one "
              "shipped before this card (git log -- face_addon/models/landmarks.pt)"] if init else [])
    return start + synth_lines(st["data"], tr.get("train_seeds") or [[500000, 500000 + n_train - 1]]) + [
        f"python -m face_addon train landmarks --out {run_dir} --data {' '.join(st['data'])} --input "
        f"{st.get('input', 'pca')}{init} --lr-drop-step {st.get('lr_drop_step', 0)} --max-steps {tr['steps']} --resume",
        f"python -m face_addon train landmarks --ship {run_dir}",
        "nice -n 10 python tests/bench/bench_landmarks.py --timing",
        "FACE_REAL_DATA=../shared/real python tests/bench/bench_real.py --part landmarks"]


def synth_lines(folders: list[str], seed_ranges: list[list[int]]) -> list[str]:
    """`face synth` lines that make the training folders again: seeds and options from each folder's samples
    where the folder is on this machine, else the run's seed ranges into its first folder."""
    from ..core.dataset import complete_seeds

    lines = []
    for folder in folders:
        runs: list[list] = []  # [first seed, last seed, options] per run of seeds made with the same options
        for seed in complete_seeds(Path(folder)) if Path(folder).is_dir() else []:
            config = json.loads((Path(folder) / f"{seed:07d}" / "meta.json").read_text())["config"]
            options = f"--target-verts {config['target_vertices']}" + (
                f" --closed-eyes {config['closed_eyes']:g}" if config.get("closed_eyes") else "")
            if runs and runs[-1][2] == options and runs[-1][1] == seed - 1:
                runs[-1][1] = seed
            else:
                runs.append([seed, seed, options])
        lines += [f"nice -n 10 python -m face_addon synth --out {folder} --seed {a} --count {b - a + 1} --profile scan "
                  f"{options}" for a, b, options in runs]
    return lines or [f"nice -n 10 python -m face_addon synth --out {folders[0] if folders else 'DATA'} --seed {a} "
                     f"--count {b - a + 1} --profile scan --target-verts 30000" for a, b in seed_ranges]


def add_arguments(parser) -> None:
    """`face train landmarks` options (train/options.py adds the shared ones)."""
    add_common(parser, data="synthetic scan dataset folder(s) (`face synth --profile scan`; the train split is used)",
               many_data=True, default_minutes=Settings.max_minutes, smoke="FaceKit heads, a tiny net, 3 steps (< 30 s)",
               ray=True)
    parser.add_argument("--arch", choices=("sgcn", "gcn"), default="sgcn", help="gcn: the fine-graph-only ablation")
    parser.add_argument("--epochs", type=count, default=Settings.epochs)
    parser.add_argument("--lr", type=float, default=Settings.lr, help="Adam learning rate (also applied on --resume)")
    parser.add_argument("--lr-drop-step", type=int, default=0, help=f"multiply the rate by {LR_DROP} from this step on")
    parser.add_argument("--input", choices=("face_frame", "pca"), default=Settings.input,
                        help="face_frame: the face mask in the face frame (default); pca: the paper's standardisation")
    parser.add_argument("--init", default="", metavar="WEIGHTS", help="start from these weights (fine-tuning)")


def run(args) -> int:
    """Train (locally or on Ray) from parsed options; prints the weights' path."""
    if run_ship(args, ship, "landmarks"):
        return 0
    out = out_folder(args)
    if args.smoke:
        s = Settings(arch=args.arch, n_points=600, depth=2, width=16, epochs=5, checkpoint_s=1e9, min_samples=1,
                     threads=args.threads, max_minutes=args.minutes, input=args.input)
        (out / "cache").mkdir(parents=True, exist_ok=True)
        files = smoke_samples(out / "cache")
        steps = args.max_steps or 3
    else:
        data = data_folders(args, "the synthetic scan dataset folder(s) to train on")
        s = Settings(data=tuple(str(d) for d in data), arch=args.arch, epochs=args.epochs, max_minutes=args.minutes,
                     threads=args.threads, lr=args.lr, lr_drop_step=args.lr_drop_step, input=args.input,
                     init=args.init)
        files, steps = None, args.max_steps
    if args.ray:
        from .ray_train import train_on_ray

        path = train_on_ray(args.ray, args.workers, out, s, resume=args.resume, max_steps=steps, files=files)
    else:
        path = train(out, s, resume=args.resume, max_steps=steps,
                     sample_source=None if files is None else (lambda: files))
    print(f"weights: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return standalone(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
