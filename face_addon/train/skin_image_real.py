"""Fine-tune Segment Skin's image encoder's per-pixel classes for real appearance (issue 19).

    face train skin_image_real --data /work/data/synth/skin_views_train --london ../shared/real \
        --out out/skin_image_real --minutes 20
    (`python -m face_addon.train.skin_image_real` takes the same options without Blender)

Starts from the renders-only encoder (--teacher; the decider of a paired file) and trains a copy on two sources
at once, per step:

- synthetic renders (the train-split views of `synth.skin_views`): cross-entropy over the 16 classes, half the
  views strongly augmented (`train.appearance`: darker skin tones, random backgrounds, white balance, blur, JPEG,
  noise), and a *feature-keeping* loss: the 16 feature channels on every view pulled towards what the teacher
  computes on the lightly augmented copy of the same view (per-channel MSE over the channel's variance):
  the copy's classes on renders stay the teacher's, and appearance changes should not move them (the lifted
  features themselves are the teacher's in the exported pair: keeping them on synthetic renders alone did not
  keep them on renders of real textures);
- the London photos of even-numbered people (`train.london_skin`, CC BY 4.0; the odd ones are the held-out
  benchmark): the set cross-entropy of the part masks, half of them with the backdrop painted in the renders'
  grey (as inference does with photos), some with a random background, all strongly augmented.

The class layer stays the teacher's (frozen) and London's label 0 over the crown carries no target (the masks
call every head top "not head surface", a shaved scalp too; --crown-hair: except where its colour is far from the
face skin's, hair; `london_skin.crown_hair_targets`). Adam from the teacher's weights, lr dropping ÷10
for the last 20 % of --minutes; checkpointed and resumable. The export is a *pair* (`paired`,
`nets.image_encoder`): the teacher's features, lifted onto scans exactly as before, with the fine-tuned copy as
the decider of the per-pixel classes; same weights kind, shipped with `--ship` (metrics from
tests/bench/skin_encoder_candidates.py).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..core.dataset import CLASS_IDS, HEAD_CLASSES
from .appearance import augment_appearance, random_background
from .budget import Budget
from .checkpoints import copy_for_shipping, resume_or_start, run_ship, save_checkpoint
from .london_skin import ALLOWED, group_balanced_weights, load_london_masks, set_cross_entropy
from .model_card import About, Row, build_card, run_record, write_card
from .options import add_common, data_folders, out_folder, standalone
from .skin_image import WEIGHTS_KIND, WEIGHTS_VERSIONS, Settings, augment, export, load_train_views, make_model

#: London mask values that are the subject's skin (darkened by the tone shift)
LONDON_SKIN = np.isin(np.arange(256), [1, 6, 8, 9, 10])
P_STRONG_SYNTH = 0.5
P_BACKDROP_GREY, P_BACKDROP_RANDOM = 0.5, 0.25
#: classes recoloured by the hair augmentation (--hair-colours)
HAIR_CLASSES = [CLASS_IDS["hair"], CLASS_IDS["facial_hair"]]


@dataclass
class FineTune:
    views: str | None = None      # the train-split views of synth.skin_views (--data)
    london: str | None = None     # the real-data root holding photos/london (--london)
    batch_synth: int = 8
    batch_london: int = 8
    crop: int = 112
    lr: float = 5e-4
    feature_weight: float = 1.0
    london_weight: float = 1.0
    freeze_classifier: bool = True   # the 1×1 class layer stays the teacher's (see train())
    crown_ignore: bool = True        # London label 0 over the crown carries no target (london_skin.mask_targets)
    crown_hair: bool = False         # …except where far from the face skin's colour (london_skin.crown_hair_targets)
    group_power: float = 0.0         # London photos drawn ∝ 1 / n_group**power (london_skin.group_balanced_weights)
    hair_colours: bool = False       # recolour the renders' hair in the strong augmentation (appearance.recolour_hair)
    max_minutes: float = 20.0
    checkpoint_s: float = 120.0
    seed: int = 0
    threads: int = 1


def synth_batch(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, crop: int, hair: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(teacher input (B, 3, c, c): the light augmentation of `train.skin_image`, student input: half of the
    views strongly augmented on top of it, int64 labels (B, c, c)); `hair`: the strong augmentation recolours the
    hair and beard pixels too (`appearance.recolour_hair`)."""
    light, y = augment(images, labels, rng, crop)
    strong = light.copy()
    for i in range(len(strong)):
        if rng.random() < P_STRONG_SYNTH:
            img = strong[i].transpose(1, 2, 0)
            out = augment_appearance(img, np.isin(y[i], HEAD_CLASSES), y[i] == CLASS_IDS["background"], rng,
                                     hair=np.isin(y[i], HAIR_CLASSES) if hair else None)
            strong[i] = out.transpose(2, 0, 1)
    return light, strong, y


def london_batch(images: np.ndarray, masks: np.ndarray, backdrops: list, rng: np.random.Generator, crop: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(images (B, 3, c, c) float, allowed classes (B, c, c, C) bool) from random square crops (⅓ to all of the
    cached photo, so the face's size in the view varies as between photos and renders), flipped by chance."""
    import torch
    from torch.nn import functional as F

    from ..core.pipelines.skin_image import TRAINING_BACKGROUND

    xs, ms = [], []
    size = images.shape[1]
    for i in range(len(images)):
        img = images[i].astype(np.float64) / 255.0
        mask = masks[i]
        backdrop = backdrops[i]
        if backdrop is not None:
            r = rng.random()
            if r < P_BACKDROP_GREY:
                img = np.where(backdrop[..., None], TRAINING_BACKGROUND, img)
            elif r < P_BACKDROP_GREY + P_BACKDROP_RANDOM:
                img = np.where(backdrop[..., None], random_background(size, size, rng), img)
        img = augment_appearance(img, LONDON_SKIN[mask], None, rng)
        c = int(rng.integers(size // 3 * 2, size + 1))
        y0, x0 = (int(v) for v in rng.integers(0, size - c + 1, 2))
        img, mask = img[y0:y0 + c, x0:x0 + c], mask[y0:y0 + c, x0:x0 + c]
        if rng.random() < 0.5:
            img, mask = img[:, ::-1], mask[:, ::-1]
        t = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32))[None]
        xs.append(F.interpolate(t, size=(crop, crop), mode="area")[0].numpy())
        idx = (np.arange(crop) * c / crop).astype(int)
        ms.append(ALLOWED[mask[idx][:, idx]])
    return np.stack(xs), np.stack(ms)


def paired(teacher, model):
    """The shipped form: the teacher's features (what skin_p2p was trained on, lifted onto scans unchanged) with
    the fine-tuned copy as the decider of the per-pixel classes (the 2D skin decision: London, Segment Skin's
    2D branch). Fine-tuning with feature keeping alone still moved the features on real-textured renders: Lee
    Perry-Smith's head and face 0.811 → 0.733 through skin_p2p, although its 2D skin rose 0.647 → 0.725."""
    from ..core.nets.image_encoder import ImageSegmenter

    lifted = ImageSegmenter(teacher.backbone, teacher.n_classes, teacher.feature_channels, decider=model)
    lifted.neck.load_state_dict(teacher.neck.state_dict())
    lifted.classifier.load_state_dict(teacher.classifier.state_dict())
    return lifted


def started_from(name: str, meta: dict) -> str:
    """What a run starts from, for its weights' record: a renders-only teacher's own training, or — a paired
    teacher (an earlier fine-tune) — its decider, which the run goes on from, with that fine-tune's steps."""
    training = meta.get("training", {})
    if meta.get("decider"):
        return (f"the decider of {name} ({training.get('steps')} fine-tuning steps, from "
                f"{training.get('fine_tuned_from')})")
    return f"{name} ({training.get('steps')} steps on our renders)"


def train(out: Path, ft: FineTune, teacher_path: Path, resume: bool = True, log=print,
          max_steps: int | None = None) -> Path:
    """Fine-tune until max_minutes/max_steps; checkpoints out/checkpoint.pt, exports out/skin_image.pt."""
    import torch
    from torch.nn import functional as F

    from ..core.pipelines.skin_image import backdrop_mask, load_image_encoder

    torch.set_num_threads(ft.threads)
    torch.manual_seed(ft.seed)
    out.mkdir(parents=True, exist_ok=True)
    images, labels, seeds = load_train_views(Path(ft.views))
    l_images, l_masks, l_ids = load_london_masks(Path(ft.london), crown=ft.crown_ignore,
                                               crown_hair=ft.crown_hair)
    backdrops = [backdrop_mask(im.astype(np.float64) / 255.0) for im in l_images]
    l_prob = group_balanced_weights(Path(ft.london), l_ids, ft.group_power)
    teacher, t_meta = load_image_encoder(teacher_path)
    s = Settings(**{k: v for k, v in t_meta["settings"].items() if k in Settings.__dataclass_fields__})
    model = make_model(s)
    model.load_state_dict((teacher.decider or teacher).state_dict())   # a paired teacher: go on from its decider
    # with the class layer frozen, features kept on renders also keep the 2D skin decision on renders, which
    # Segment Skin uses beside the features (the σ rule); only the backbone learns the photos
    for p in model.classifier.parameters():
        p.requires_grad_(not ft.freeze_classifier)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=ft.lr)
    ckpt, state = resume_or_start(out, {"step": 0, "seconds": 0.0, "log": []}, model, opt, None, resume, log)
    rng = np.random.default_rng([ft.seed, state["step"]])
    with torch.no_grad():  # per-channel scale of the teacher's features, for the feature-keeping loss
        pick = rng.choice(len(images), min(32, len(images)), replace=False)
        x, _ = augment(images[pick], labels[pick], rng, ft.crop)
        f_var = teacher.features(torch.from_numpy(x)).var(dim=(0, 2, 3)).clamp_min(1e-4)[None, :, None, None]
    budget = Budget(ft.max_minutes, max_steps, ft.checkpoint_s, state["seconds"])
    running: list[tuple[float, float, float]] = []

    def info() -> dict:
        return {"fine_tuned_from": started_from(Path(teacher_path).name, t_meta), "fine_tune": asdict(ft),
                "steps": state["step"],
                "train_seconds": round(state["seconds"], 1), "n_train_scans": len(seeds),
                "n_train_views": int(len(images)), "train_seeds": f"{seeds[0]}..{seeds[-1]}",
                "london_ids": f"{len(l_ids)} even ids {l_ids[0]}..{l_ids[-1]}", "log": state["log"][-5:]}

    def save() -> None:
        save_checkpoint(ckpt, model, opt, None, state)
        export(paired(teacher, model), s, info(), out / "skin_image.pt")
        (out / "progress.json").write_text(json.dumps(info(), indent=1))

    model.train()
    while not budget.done(state["step"]):
        for g in opt.param_groups:
            g["lr"] = ft.lr * (0.1 if budget.fraction > 0.8 else 1.0)
        idx = rng.choice(len(images), ft.batch_synth, replace=False)
        light, strong, y = synth_batch(images[idx], labels[idx], rng, ft.crop, hair=ft.hair_colours)
        with torch.no_grad():
            f_teacher = teacher.features(torch.from_numpy(light))
        f_s, logits_s = model(torch.from_numpy(strong))
        loss_ce = F.cross_entropy(logits_s, torch.from_numpy(y))
        loss_f = ((f_s - f_teacher) ** 2 / f_var).mean()
        jdx = rng.choice(len(l_images), ft.batch_london, replace=False, p=l_prob)
        xl, allowed = london_batch(l_images[jdx], l_masks[jdx], [backdrops[j] for j in jdx], rng, ft.crop)
        _, logits_l = model(torch.from_numpy(xl))
        loss_l = set_cross_entropy(logits_l, torch.from_numpy(allowed))
        loss = loss_ce + ft.feature_weight * loss_f + ft.london_weight * loss_l
        opt.zero_grad()
        loss.backward()
        opt.step()
        state["step"] += 1
        state["seconds"] = budget.seconds
        running.append((loss_ce.item(), loss_f.item(), loss_l.item()))
        if budget.checkpoint_due():
            m = np.mean(running[-50:], axis=0).round(4).tolist()
            state["log"].append({"step": state["step"], "ce_synth": m[0], "feature": m[1], "london_set_ce": m[2]})
            save()
            log(f"step {state['step']} synth CE {m[0]:.4f} feature {m[1]:.4f} London {m[2]:.4f} "
                f"({state['seconds'] / 60:.1f} min)")
    save()
    return out / "skin_image.pt"


def add_arguments(parser) -> None:
    """`face train skin_image_real` options (train/options.py adds the shared ones)."""
    from ..core.pipelines.skin_image import IMAGE_WEIGHTS

    add_common(parser, data="rendered views of train-split scans (`python -m face_addon.synth.skin_views`)",
               default_minutes=FineTune.max_minutes)
    parser.add_argument("--london", metavar="DIR", help="the real-data folder holding photos/london (required)")
    parser.add_argument("--teacher", default=str(IMAGE_WEIGHTS), help="the encoder to start from and keep features of")
    parser.add_argument("--feature-weight", type=float, default=FineTune.feature_weight,
                        help="weight of the feature-keeping loss on renders")
    parser.add_argument("--group-power", type=float, default=FineTune.group_power,
                        help="draw London photos ∝ 1 / (people in their group)**P (0: uniformly)")
    parser.add_argument("--hair-colours", action="store_true",
                        help="recolour the renders' hair (blonde, brown, red, grey, thin) in the strong augmentation")
    parser.add_argument("--train-classifier", action="store_true",
                        help="let the class layer learn too (round 3; frozen by default)")
    parser.add_argument("--london-crown", action="store_true",
                        help="train on London's label 0 over the crown too (round 3; ignored by default)")
    parser.add_argument("--crown-hair", action="store_true",
                        help="train on London's label 0 over the crown where its colour is far from the face skin's "
                             "(hair, blonde included; skin-coloured scalps stay ignored)")


def run(args) -> int:
    """Fine-tune from parsed options; prints the weights' path."""
    from ..core.errors import UsageError

    if run_ship(args, ship, "skin_encoder_candidates"):
        return 0
    views = data_folders(args, "the rendered views folder")[0]
    if not args.london or not (Path(args.london) / "photos" / "london").is_dir():
        raise UsageError("--london DIR is required: the real-data folder holding photos/london")
    out = out_folder(args)
    ft = FineTune(views=str(views), london=args.london, max_minutes=args.minutes, threads=args.threads,
                  feature_weight=args.feature_weight, freeze_classifier=not args.train_classifier,
                  crown_ignore=not args.london_crown, crown_hair=args.crown_hair, group_power=args.group_power,
                  hair_colours=args.hair_colours)
    print(train(out, ft, Path(args.teacher), resume=args.resume, max_steps=args.max_steps))
    return 0


def ship(run_dir: Path, models_dir: Path, bench_json: Path) -> Path:
    """Copy the run's encoder to models_dir/skin_image.pt with its model card skin_image.json; metrics from the
    candidate benchmark (tests/bench/results/skin_encoder_candidates.json: the row whose encoder is this run's
    file, and the row `shipped`, the encoder it replaces, measured in the same run)."""
    import filecmp

    from ..core.weights import load_weights

    meta, bench, size_mb = copy_for_shipping(run_dir, models_dir, "skin_image.pt", WEIGHTS_KIND, bench_json)
    load_weights(models_dir / "skin_image.pt", WEIGHTS_KIND, WEIGHTS_VERSIONS)
    mine = run_dir / "skin_image.pt"
    row = next((r for r in bench.values() if isinstance(r, dict) and r.get("encoder") and Path(r["encoder"]).is_file()
                and filecmp.cmp(r["encoder"], mine, shallow=False)), {})   # the row measured on these bytes
    before = bench.get("shipped", {})

    def metrics(r: dict) -> dict:
        lon, sc, sy = r.get("london", {}), r.get("scans", {}), r.get("synth", {})
        return {"london_skin_iou_held_out_odd_ids": lon.get("held_out_backdrop"),
                "london_skin_iou_trained_even_ids": lon.get("tuned_backdrop"),
                "london_held_out_p10": lon.get("held_out_p10_backdrop"),
                "london_held_out_by_group": lon.get("held_out_by_group"),
                "lee_perry_smith_head_face_skin": sc.get("lps_head_face"), "fran_skin_fraction": sc.get("fran_fraction"),
                "synthetic_miou_16_test_scans_default_pipeline": sy.get("miou")}

    about = About(model="Segment Skin image encoder (U-Net, per-pixel classes) — stands in for the paper's frozen "
                        "DINOv2; lifted features from the renders-only encoder, per-pixel classes from a copy "
                        "fine-tuned for real appearance (issue 19)",
                  paper="Chen et al.: Pixels2Points, Eurographics 2025 (shared/seeds/000), §2.1 image features",
                  load="face_addon.core.pipelines.skin_image.load_image_encoder (torch.load weights_only=True)")
    card = build_card(about, "skin_image.pt", size_mb, {
        "backbone": meta["backbone"], "decider": meta.get("decider"), "classes": meta["class_names"],
        "feature_channels": meta["feature_channels"], **run_record(meta),
        "data": {
            "synthetic": "13 Cycles views (160 px) per train-split scan of `face synth --profile scan --target-verts "
                         "30000` (seeds 500000-500047), rendered by face_addon.synth.skin_views --jitter; labels: the "
                         "class of the visible scan surface per pixel",
            "real": "Face Research Lab London Set (DeBruine, L. & Jones, B. (2017), doi:10.6084/m9.figshare.5047666.v5, "
                    "CC BY 4.0): the neutral photos and FRL-template part masks of the 52 even-numbered people; the "
                    "50 odd-numbered people are never trained on and give the held-out numbers. Mask labels become "
                    "sets of our classes (train/london_skin.py); the lower neck is ignored, and the crown above the "
                    "face skin where its colour is close to the face skin's (shaved scalps; round 12: elsewhere it "
                    "is not head surface)",
            "start": "the renders-only encoder (749 steps, 182 train scans, seeds 500000-500181): its backbone gives "
                     "the lifted features unchanged (what skin_p2p was trained on) and is the teacher of the "
                     "feature-keeping loss; the decider (per-pixel classes) starts from it with its class layer frozen "
                     "(round 7: 736 steps); round 10 went on from round 7's decider with the hue-weighted backdrop cue "
                     "(604 steps), round 11 from round 10's (186 steps), round 12 from round 11's with the crown hair "
                     "supervised (`training`: fine_tuned_from, steps)",
        },
        "metrics": {"this": metrics(row), "replaced_encoder_same_run": metrics(before),
                    "chosen_on": "London even ids (the export to ship and the mirror average by their skin IoU, never "
                                 "the odd ids) and the gate of the task: London held-out up, Lee Perry-Smith "
                                 "head-and-face and the synthetic subset not down (docs/skin.md)"},
        "reproduce": [
            "face synth --out /work/data/synth/train_skin --seed 500000 --count 48 --profile scan --target-verts 30000",
            "python -m face_addon.synth.skin_views --data /work/data/synth/train_skin "
            "--out /work/data/synth/skin_views_train --jitter",
            "git show f8e0769:face_addon/models/skin_image.pt > /tmp/skin_image_renders.pt   # the renders-only start",
            "python -m face_addon.train.skin_image_real --data /work/data/synth/skin_views_train --london ../shared/real "
            "--teacher /tmp/skin_image_renders.pt --out out/skin_image_real_r7 --minutes 20   # round 7",
            "python -m face_addon.train.skin_image_real --data /work/data/synth/skin_views_train "
            "--london ../shared/real --teacher out/skin_image_real_r7/skin_image.pt --out out/skin_image_real_r10 "
            "--minutes 25   # round 10",
            "python -m face_addon.train.skin_image_real --data /work/data/synth/skin_views_train --london ../shared/real "
            "--teacher out/skin_image_real_r10/skin_image.pt --out out/skin_image_real_r11 --minutes 40 --max-steps 186"
            "   # round 11: on from round 10's decider, stopped before the rate drop",
            f"python -m face_addon.train.skin_image_real --data /work/data/synth/skin_views_train --london ../shared/real "
            f"--teacher out/skin_image_real_r11/skin_image.pt --out {run_dir} --crown-hair "
            f"--minutes {meta['training']['fine_tune']['max_minutes']:g}"
            "   # round 12: on from round 11's decider, crown hair supervised, the export at the end of the run",
            "python tests/bench/skin_encoder_candidates.py --encoders shipped=out/skin_image_real_r11/skin_image.pt "
            f"run={run_dir}/skin_image.pt",
            f"python -m face_addon.train.skin_image_real --ship {run_dir}"]})
    tr, held = meta["training"], metrics(row)["london_skin_iou_held_out_odd_ids"]
    write_card(models_dir, "skin_image.pt", card, Row(
        trained_on=f"{tr.get('n_train_views')} renders of {tr.get('n_train_scans')} synthetic scans + the London "
                   f"masks ({tr.get('london_ids')}, CC BY 4.0), {tr['steps']} fine-tuning steps of the decider from "
                   f"{tr.get('fine_tuned_from')}; the lifted features are the renders-only encoder's, unchanged",
        held_out=(f"London skin IoU {held:.3f} on the odd ids (never trained on); synthetic mIoU "
                  f"{metrics(row)['synthetic_miou_16_test_scans_default_pipeline']} (16 test scans, default pipeline)"
                  if held is not None else "not measured")))
    return models_dir / "skin_image.pt"


def main(argv: list[str] | None = None) -> int:
    return standalone(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
