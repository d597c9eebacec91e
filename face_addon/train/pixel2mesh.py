"""Train Pixel2Mesh-face on cached synthetic portraits, checkpointed and resumable.

    nice face train pixel2mesh --data /work/data/photo/train --cache /work/data/photo/p2m/train \
        --out out/p2m [--no-adaptive-unpool] [--uniform-sampling] --resume
    face train pixel2mesh --ship out/p2m          # -> face_addon/models/pixel2mesh_face.pt
    (`python -m face_addon.train.pixel2mesh` takes the same options without Blender)

Losses (paper §3.2, P2M's definitions, all in crop space): l = l_C + λ1·l_n + λ2·l_lap + λ3·l_mov + λ4·l_loc
with λ = 1.6e-4, 0.5, 0.033, 0.1.
  l_C   chamfer (squared distances, both directions) of each stage against the ground-truth points, stage
        weights [0.5, 1, 1, 1];
  l_n   normal loss: |cos| between each predicted edge and the normal of its vertex's nearest true point;
  l_lap Laplacian-coordinate change caused by each block's deformation;
  l_mov squared vertex movement of blocks 2-4 (P2M's move term);
  l_loc edge-length regulariser (P2M's only 0.1-weighted term; the paper's text names it edge length
        regularisation next to the others).
Ground truth per step: [11000, 4000, 3000] points drawn from the true front face by landmark region
(`core.photo.face_surface`), or 18000 uniform points with `--uniform-sampling`. Horizontal flips (the crop
space mirrors exactly: X -> −X) and photometric jitter augment. The encoder starts from the photo regressor's
trained CNN (the paper starts from a pre-trained face backbone, VGGFace2).
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
from .photo_data import add_dataset_options, cached_views, run_info

CHAMFER_WEIGHTS = (0.5, 1.0, 1.0, 1.0)
LAMBDA = {"normal": 1.6e-4, "laplace": 0.5, "move": 0.033, "edge": 0.1}
WEIGHTS_NAME = "pixel2mesh_face.pt"


@dataclass
class Settings:
    lr: float = 3e-4
    batch: int = 2
    steps: int = 6000
    hidden: int = 192
    n_res: int = 6
    adaptive_unpool: bool = True
    weighted_sampling: bool = True
    threads: int = 2
    seed: int = 0
    max_minutes: float = 600.0


class Records:
    """All cached views in memory: crops, true vertices in camera space and each view's crop camera."""

    def __init__(self, files: list[Path]) -> None:
        from ..core.facekit import load_facekit
        from ..core.photo.camera import Crop
        from ..core.photo.crop_space import CropCamera

        fk = load_facekit()
        crops, verts, cams = [], [], []
        for f in files:
            with np.load(f) as r:
                crops.append(r["crop"])
                v = r["cam_vertices"].astype(np.float64)
                verts.append(v)
                cams.append(CropCamera(r["K"], Crop(tuple(r["origin"]), float(r["scale"])),
                                       float(v[fk.spa, 2].mean())))
        self.crops = np.stack(crops)
        self.vertices = verts
        self.cameras = cams
        self.landmark_indices = fk.landmark_indices
        self.names = [f.stem for f in files]

    def __len__(self) -> int:
        return len(self.crops)

    def target(self, i: int, rng: np.random.Generator, weighted: bool, flip: bool = False):
        """(points, normals) of view i's ground truth in crop space (mirrored when `flip`)."""
        from ..core.photo.face_surface import ground_truth_points

        v = self.vertices[i]
        space = self.cameras[i].to_crop_space(v)
        pts, nrm = ground_truth_points(v, space, v[self.landmark_indices], rng, weighted)
        if flip:
            pts, nrm = pts * [-1, 1, 1], nrm * [-1, 1, 1]
        return pts.astype(np.float32), nrm.astype(np.float32)


def _images(rec: Records, idx: np.ndarray, flips: np.ndarray, rng: np.random.Generator | None):
    import torch

    x = torch.as_tensor(rec.crops[idx]).float().permute(0, 3, 1, 2) / 255.0
    x = torch.where(torch.as_tensor(flips)[:, None, None, None], x.flip(3), x)
    if rng is not None:
        x = photometric_jitter(x, rng)
    return x


def laplace_coords(x, adj):
    """x − mean of its neighbours, (B, n, 3)."""
    import torch

    b, n, _ = x.shape
    mean = torch.sparse.mm(adj, x.transpose(0, 1).reshape(n, b * 3)).reshape(n, b, 3).transpose(0, 1)
    return x - mean


def losses(out: dict, targets: list, net) -> dict:
    """The five P2M terms for a batch (see module doc); targets: per sample (points, normals) tensors."""
    import torch
    from scipy.spatial import cKDTree

    terms = {k: torch.zeros(()) for k in ("chamfer", "normal", "laplace", "move", "edge")}
    for k, (pred, before) in enumerate(zip(out["stages"], out["before"])):
        edges = torch.as_tensor(net.levels[k].edges)
        adj = net._adj[k]
        for b, (gt, gt_n) in enumerate(targets):
            p = pred[b]
            pn = p.detach().numpy()
            gn = gt.numpy()
            nn_gt = torch.as_tensor(cKDTree(pn).query(gn)[1])  # pred vertex nearest to each true point
            nn_p = torch.as_tensor(cKDTree(gn).query(pn)[1])  # true point nearest to each pred vertex
            d1 = ((gt - p[nn_gt]) ** 2).sum(1).mean()
            d2 = ((p - gt[nn_p]) ** 2).sum(1).mean()
            terms["chamfer"] = terms["chamfer"] + CHAMFER_WEIGHTS[k] * (d1 + d2) / len(targets)
            e = torch.nn.functional.normalize(p[edges[:, 0]] - p[edges[:, 1]], dim=1)
            terms["normal"] = terms["normal"] + (e * gt_n[nn_p[edges[:, 0]]]).sum(1).abs().mean() / len(targets)
        terms["edge"] = terms["edge"] + ((pred[:, edges[:, 0]] - pred[:, edges[:, 1]]) ** 2).sum(-1).mean()
        terms["laplace"] = terms["laplace"] + ((laplace_coords(pred, adj) - laplace_coords(before, adj)) ** 2
                                               ).sum(-1).mean()
        if k > 0:
            terms["move"] = terms["move"] + ((pred - before) ** 2).sum(-1).mean()
    return terms


def total_loss(terms: dict):
    return terms["chamfer"] + sum(LAMBDA[k] * terms[k] for k in LAMBDA)


def build_net(s: Settings, init_encoder: Path | None, log=print, init: Path | None = None):
    """A fresh network; `init`: start from a previous run's exported weights (a later phase with a fresh
    optimiser and schedule), else `init_encoder`: the photo regressor's CNN for the encoder."""
    from ..core.nets.pixel2mesh import Pixel2MeshFace

    net = Pixel2MeshFace(s.hidden, s.n_res, s.adaptive_unpool)
    if init is not None:
        from ..core.pipelines.pixel2mesh_photo import WEIGHTS_KIND
        from ..core.weights import load_weights

        net.load_state_dict({k: v.float() if v.is_floating_point() else v
                             for k, v in load_weights(init, WEIGHTS_KIND, (1,))[0].items()})
        log(f"initialised from {init}")
        return net
    if init_encoder is not None and Path(init_encoder).is_file():
        from ..core.weights import load_weights

        state, _ = load_weights(init_encoder, "photo_regressor", (1,))
        enc = {k: v.float() for k, v in state.items() if k.split(".")[0] in ("stem", "blocks", "mean", "std")}
        missing = net.encoder.load_state_dict(enc, strict=False)
        log(f"encoder initialised from {init_encoder} ({len(enc)} tensors, missing {len(missing.missing_keys)})")
    return net


def train(cache: Path, out: Path, s: Settings, resume: bool = True, max_steps: int | None = None,
          init_encoder: Path | None = None, snapshots: tuple[int, ...] = (), log=print,
          init: Path | None = None) -> Path:
    """Train until `steps`/`max_minutes`/`max_steps`; checkpoints to out/checkpoint.pt, exports out/WEIGHTS_NAME
    (and out/step_N.pt at each step in `snapshots`, for comparisons at equal training)."""
    import torch

    from .pixel2mesh_data import average_crop

    torch.set_num_threads(s.threads)
    torch.manual_seed(s.seed)
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(Path(cache).glob("*.npz"))
    if not files:
        raise FileNotFoundError(f"no cached views in {cache}")
    rec = Records(files)
    avg = average_crop(files)
    log(f"{len(rec)} training views from {cache}")
    net = build_net(s, init_encoder, log, init)
    opt = torch.optim.Adam(net.parameters(), lr=s.lr)
    # the paper decays the learning rate ×0.3 three times over its 80 epochs; we do it at 50 %, 75 %, 90 %
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [int(s.steps * f) for f in (0.5, 0.75, 0.9)], 0.3)
    ckpt, state = resume_or_start(out, {"step": 0, "seconds": 0.0, "losses": []}, net, opt, sched, resume, log)
    rng = np.random.default_rng([s.seed, state["step"]])

    def info() -> dict:
        return run_info(state, rec.names, state["step"] * s.batch / len(rec))

    def save() -> None:
        save_checkpoint(ckpt, net, opt, sched, state)
        export(net, s, info(), avg, rec, out / WEIGHTS_NAME)

    budget = Budget(s.max_minutes, max_steps, 120.0, state["seconds"])
    net.train()
    while state["step"] < s.steps and not budget.done(state["step"]):
        idx = rng.choice(len(rec), size=min(s.batch, len(rec)), replace=False)
        flips = rng.random(len(idx)) < 0.5
        x = _images(rec, idx, flips, rng)
        targets = [tuple(torch.as_tensor(a) for a in rec.target(i, rng, s.weighted_sampling, f))
                   for i, f in zip(idx, flips)]
        terms = losses(net(x), targets, net)
        loss = total_loss(terms)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        state["step"] += 1
        if state["step"] % 20 == 0:
            state["losses"].append({"step": state["step"], **{k: round(float(v.detach()), 6) for k, v in terms.items()}})
            log(f"step {state['step']}/{s.steps} " + " ".join(f"{k} {float(v):.5f}" for k, v in terms.items()))
        if state["step"] in snapshots:
            export(net, s, info(), avg, rec, out / f"step_{state['step']}.pt")
        state["seconds"] = budget.seconds
        if budget.checkpoint_due():
            save()
    state["seconds"] = budget.seconds
    save()
    return out / WEIGHTS_NAME


def face_size(net, rec: Records, n: int = 16) -> float:
    """Mean RMS radius (metres) of the predicted final meshes of up to n training views: the size that places
    a user photo's mesh at a plausible distance (`core.photo.crop_space.assumed_camera`)."""
    from ..core.pipelines.pixel2mesh_photo import predict_crop_space

    was = net.training
    net.eval()
    sizes = []
    for i in range(min(n, len(rec))):
        pts = predict_crop_space(net, rec.crops[i].astype(np.float32) / 255.0)[-1]
        r = np.sqrt(((pts[:, :2] - pts[:, :2].mean(0)) ** 2).sum(1).mean())
        sizes.append(r * rec.cameras[i].unit_m)
    net.train(was)
    return float(np.mean(sizes))


def export(net, s: Settings, info: dict, avg: dict, rec: Records, path: Path) -> Path:
    from ..core.pipelines.pixel2mesh_photo import WEIGHTS_KIND
    from ..core.weights import save_weights

    meta = json.loads(json.dumps({"hidden": s.hidden, "n_res": s.n_res, "adaptive_unpool": s.adaptive_unpool,
                                  "average_crop": avg, "face_size_m": face_size(net, rec),
                                  "settings": asdict(s), "training": info}))
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in net.state_dict().items()}
    return save_weights(path, WEIGHTS_KIND, 1, state, meta)


def ship(run_dir: Path, models_dir: Path, bench_json: Path) -> Path:
    """Copy run_dir/WEIGHTS_NAME into models_dir with its card (pixel2mesh_face.json)."""
    from ..core.pipelines.pixel2mesh_photo import WEIGHTS_KIND

    meta, bench, size_mb = copy_for_shipping(run_dir, models_dir, WEIGHTS_NAME, WEIGHTS_KIND, bench_json)
    st = meta.get("settings", {})
    about = About(model="Pixel2Mesh-face: hemisphere (141 vertices) -> 4 G-ResNet deformation blocks with adaptive "
                        "graph unpooling -> 8569-vertex face mesh in crop space",
                  paper="Liu et al., Pixel2Mesh for 3D Face Reconstruction (shared/seeds/002)",
                  load="face_addon.core.pipelines.pixel2mesh_photo.load_model (torch.load weights_only=True)")
    card = build_card(about, WEIGHTS_NAME, size_mb, {
        "data": "synth --profile photo, train seeds < 1,000,000 (256² portrait views), cropped by the detector box "
                "×1.1 (face_addon.train.pixel2mesh_data); ground truth = the true FaceKit facial-skin surface",
        **run_record(meta),
        "average_crop": meta.get("average_crop"), "face_size_m": meta.get("face_size_m"),
        "held_out": picked(bench, ("test_n", "tau_mm", "cd", "f1_tau", "f1_2tau", "time_s", "commit")),
        "command": (f"python -m face_addon train pixel2mesh --data /work/data/photo/train --cache "
                    f"/work/data/photo/p2m/train --out {run_dir} --init-encoder face_addon/models/photo_regressor.pt "
                    + " ".join(f"--{k.replace('_', '-')} {st[k]}" for k in ("steps", "batch", "lr", "hidden", "n_res",
                                                                            "threads") if k in st)
                    + f"; python -m face_addon train pixel2mesh --ship {run_dir}"),
        "ablations": "the same command with --no-adaptive-unpool or --uniform-sampling (run concurrently, same "
                     "steps); scored side by side in tests/bench/results/pixel2mesh.md"})
    tr, cd, f1, f2 = (meta.get("training", {}), *(bench.get(k, {}).get("p2m") for k in ("cd", "f1_tau", "f1_2tau")))
    write_card(models_dir, WEIGHTS_NAME, card, Row(
        trained_on=f"{tr.get('train_views')} portrait renders (train seeds {seed_text(tr.get('train_seeds'))}), "
                   f"{tr.get('steps')} steps of batch {st.get('batch')}",
        held_out=(f"{bench['test_n']} renders of unseen subjects: CD {cd:.2f} mm, F1 {f1:.1f} % at τ = "
                  f"{bench['tau_mm']:g} mm, {f2:.1f} % at 2τ (FaceKit fit: CD {bench['cd']['facekit']:.2f} mm)"
                  if cd is not None and "facekit" in bench["cd"] else "not measured")))
    return models_dir / WEIGHTS_NAME


def add_arguments(parser) -> None:
    """`face train pixel2mesh` options (train/options.py adds the shared ones)."""
    add_dataset_options(parser, Settings.max_minutes, Settings.threads)
    parser.add_argument("--steps", type=count, default=Settings.steps, help="length of the learning-rate schedule")
    parser.add_argument("--batch", type=count, default=Settings.batch)
    parser.add_argument("--lr", type=float, default=Settings.lr)
    parser.add_argument("--hidden", type=count, default=Settings.hidden)
    parser.add_argument("--n-res", type=count, default=Settings.n_res)
    parser.add_argument("--no-adaptive-unpool", action="store_true", help="ablation: new vertices at edge midpoints")
    parser.add_argument("--uniform-sampling", action="store_true", help="ablation: uniform ground-truth points")
    parser.add_argument("--init-encoder", help="photo_regressor.pt whose CNN initialises the encoder")
    parser.add_argument("--init", help="start from this run's pixel2mesh_face.pt (fresh optimiser and schedule)")
    parser.add_argument("--snapshot", type=count, action="append", default=[], help="also export weights at this step")


def run(args) -> int:
    """Cache the dataset's views, then train (or ship) from parsed options."""
    from .pixel2mesh_data import cache_split

    if run_ship(args, ship, "pixel2mesh"):
        return 0
    out, cache = cached_views(args, cache_split)
    s = Settings(lr=args.lr, batch=args.batch, steps=args.steps, hidden=args.hidden, n_res=args.n_res,
                 adaptive_unpool=not args.no_adaptive_unpool, weighted_sampling=not args.uniform_sampling,
                 threads=args.threads, max_minutes=args.minutes)
    print(train(cache, out, s, args.resume, args.max_steps, Path(args.init_encoder) if args.init_encoder else None,
                tuple(args.snapshot), init=Path(args.init) if args.init else None))
    return 0


def main(argv: list[str] | None = None) -> int:
    return standalone(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
