"""One sample from its seed, and a shard of samples with resume and failure isolation.

    generate_sample(seed, root, SynthConfig(profile="scan"))   # -> path of the complete sample folder
    run_shard(root, seed=0, count=100, shard=(0, 4), cfg)      # seeds 0, 4, 8, ... of 0..99

Sample i of a run uses seed S+i only (numpy streams and the Cycles seed derive from it), so any shard on any
machine produces identical samples.
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..core.dataset import CLASS_IDS, FORMAT_VERSION, check_own_index, complete_seeds, head_face_classes, write_index
from ..core.facekit import FaceKit, load_facekit
from .accessories import build_accessories
from .cameras import RIG, photo_cameras, rig_cameras
from .clothing import build_clothing
from .hair import build_facial_hair, build_hair
from .labels import skin_labels, snap_landmarks
from .parts import ScenePart
from .scan import ScanConfig, simulate_scan
from .subject import GENERATOR_VERSION, make_subject, stream
from .writer import SampleWriter, clean_stale_temps, log_failure

PROFILES = ("scan", "full", "photo")


@dataclass
class SynthConfig:
    profile: str = "scan"
    views: int = 13
    resolution: int = 512
    # Cycles samples per RGB view and OpenImageDenoise on them; None: full 4 spp denoised (closer to a 16-spp
    # render than a second 16-spp render is, at a quarter of the time: docs/scale.md), photo 16 spp raw (its
    # data sets were made so)
    samples: int | None = None
    denoise: bool | None = None
    target_vertices: int = 150_000
    strand_children: int = 6
    closed_eyes: float = 0.0  # probability that a subject's eyes are shut (make_subject); 0 keeps older sets' samples

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, not {self.profile!r}")
        if self.samples is None:
            self.samples = 4 if self.profile == "full" else 16
        if self.denoise is None:
            self.denoise = self.profile == "full"
        if not 1 <= self.views <= len(RIG):
            raise ValueError(f"views must be 1..{len(RIG)}")


@lru_cache(maxsize=1)
def _models() -> tuple[FaceKit, FaceKit]:
    fk = load_facekit()
    return fk, fk.subdivided()


def build_parts(seed: int, closed_eyes: float = 0.0) -> tuple[list[ScenePart], list, dict, object]:
    """Every piece of geometry of sample `seed` -> (parts, strands, choices, subject)."""
    fk, fk_sub = _models()
    s = make_subject(fk, fk_sub, seed, closed_eyes)
    hair_parts, strands, hair_choice = build_hair(s)
    face_parts, face_choice = build_facial_hair(s, np.asarray(hair_choice["color"]))
    cloth_parts, cloth_choice = build_clothing(s)
    acc_parts, acc_choice = build_accessories(s)
    # the head: capped neck (watertight), classes from the FaceKit parts, colours with hair/stubble darkening
    hv, hf = s.closed_head()
    n_sub = len(s.head_v)
    fcls = np.concatenate([head_face_classes(n_sub, s.head_f, fk_sub.parts),
                           np.full(len(hf) - len(s.head_f), CLASS_IDS["head"], np.uint8)])
    rng = stream(seed, "skin_masks")
    mask = np.zeros((len(hv), 3), np.float32)
    if hair_choice["style"] != "bald":
        mask[:n_sub, 0] = s.regions["scalp"] * 0.85
    if face_choice.get("stubble") or face_choice.get("facial_hair") in ("beard", "goatee", "moustache"):
        mask[:n_sub, 1] = (s.regions["beard"] | s.regions["moustache"]) * rng.uniform(0.25, 0.55)
    mask[:n_sub, 2] = (s.regions["left_eyebrow"] | s.regions["right_eyebrow"]) * 0.7
    tone = np.asarray(s.skin["tone"], np.float32)
    hair_c = np.asarray(hair_choice["color"], np.float32)
    vcol = tone + (hair_c - tone) * mask.max(1, keepdims=True)
    s.skin["hair_color"] = hair_choice["color"]
    head = ScenePart("head", hv, hf, fcls, vcol[hf].mean(1), {"kind": "skin"}, vertex_color=mask)
    extras = []
    colors = {"eyeballs": (0.8, 0.8, 0.78), "teeth": (0.8, 0.77, 0.65), "tongue": (0.5, 0.15, 0.15),
              "eyelashes": (0.02, 0.015, 0.01)}
    for name, (v, f) in s.extras.items():
        cls = CLASS_IDS["eyeball"] if name == "eyeballs" else CLASS_IDS["mouth_interior"] if name in (
            "teeth", "tongue") else CLASS_IDS["facial_hair"]
        extras.append(ScenePart.uniform(name, v, f, cls, colors.get(name, (0.5, 0.5, 0.5)),
                                        {"kind": "plain", "color": list(colors.get(name, (0.5, 0.5, 0.5)))},
                                        in_scan=name != "eyelashes"))  # lashes are too thin for MVS
    parts = [head] + extras + hair_parts + face_parts + cloth_parts + acc_parts
    choices = {"hair": hair_choice, "facial_hair": face_choice, "clothing": cloth_choice,
               "accessories": acc_choice, "skin": {k: v for k, v in s.skin.items()}}
    return parts, strands, choices, s


def generate_sample(seed: int, root: Path, cfg: SynthConfig) -> Path:
    """Generate sample `seed` into root/NNNNNNN (atomically); returns its folder."""
    if cfg.profile == "photo":
        return generate_photo_sample(seed, root, cfg)
    t0 = time.perf_counter()
    fk, fk_sub = _models()
    parts, strands, choices, s = build_parts(seed, cfg.closed_eyes)
    cams = rig_cameras(cfg.resolution, stream(seed, "cameras"), cfg.views)
    scan = simulate_scan(parts, cams, stream(seed, "scan"), ScanConfig(target_vertices=cfg.target_vertices))
    t_scan = time.perf_counter()
    writer = SampleWriter(root, seed)
    try:
        colors = scan.colors
        lighting = None
        if cfg.profile == "full":
            from .render import bake_colors, render_views
            from .scene import build_scene, clear_scene

            clear_scene()
            lighting = build_scene(parts, strands, s.skin, seed, children=cfg.strand_children)
            render_views(cams, writer.tmp / "views", cfg.samples, seed, cfg.denoise)
            colors = bake_colors(scan.vertices, scan.faces, cams, writer.tmp / "views",
                                 1.5 * scan.info["voxel_mm"] * 1e-3, scan.colors)
            clear_scene()
        t_render = time.perf_counter()
        distance, skin = skin_labels(scan.vertices, s.head_v, s.head_f)
        lm_snap, lm_d = snap_landmarks(s.landmarks, scan.vertices, scan.faces)
        writer.ply("scan.ply", scan.vertices, scan.faces, colors)
        writer.ply("head.ply", s.head_template_v, fk.faces)
        writer.npz("labels.npz", distance=distance, skin=skin, class_id=scan.class_id, landmarks=lm_snap,
                   landmarks_true=s.landmarks.astype(np.float32), landmark_snap=lm_d)
        writer.json("cameras.json", {"convention": "opencv", "units": "m", "rig": [list(r) for r in RIG[:cfg.views]],
                                     "views": [c.to_json() for c in cams]})
        t_end = time.perf_counter()
        writer.json("meta.json", {
            "generator_version": GENERATOR_VERSION, "format": FORMAT_VERSION, "seed": seed,
            "profile": cfg.profile, "config": asdict(cfg),
            "facekit": {"alpha_id": s.alpha_id, "alpha_exp": s.alpha_exp, "id_names": fk.id_names,
                        "exp_names": fk.exp_names, "source": fk.source},
            "assets": choices, "lighting": lighting, "scan": scan.info,
            "skin_fraction": float(skin.mean()),
            "timings_s": {"scan": round(t_scan - t0, 2), "render": round(t_render - t_scan, 2),
                          "labels_write": round(t_end - t_render, 2), "total": round(t_end - t0, 2)}})
        return writer.commit()
    except BaseException:
        writer.abort()
        raise


def generate_photo_sample(seed: int, root: Path, cfg: SynthConfig) -> Path:
    """Photo profile: `cfg.views` portrait renders (RGB + part labels) from random viewpoints, the true head
    and landmarks, no scan. The training/test data of photo reconstruction (3DDFA-V3) and Pixel2Mesh-face."""
    from .render import render_views
    from .scene import build_scene, clear_scene

    t0 = time.perf_counter()
    fk, _ = _models()
    parts, strands, choices, s = build_parts(seed, cfg.closed_eyes)
    cams = photo_cameras(cfg.resolution, stream(seed, "photo_cameras"), cfg.views)
    writer = SampleWriter(root, seed)
    try:
        clear_scene()
        lighting = build_scene(parts, strands, s.skin, seed, children=cfg.strand_children)
        render_views(cams, writer.tmp / "views", cfg.samples, seed, cfg.denoise)
        clear_scene()
        t_render = time.perf_counter()
        writer.ply("head.ply", s.head_template_v, fk.faces)
        writer.npz("labels.npz", landmarks_true=s.landmarks.astype(np.float32))
        writer.json("cameras.json", {"convention": "opencv", "units": "m", "rig": "photo",
                                     "views": [c.to_json() for c in cams]})
        writer.json("meta.json", {
            "generator_version": GENERATOR_VERSION, "format": FORMAT_VERSION, "seed": seed,
            "profile": cfg.profile, "config": asdict(cfg),
            "facekit": {"alpha_id": s.alpha_id, "alpha_exp": s.alpha_exp, "id_names": fk.id_names,
                        "exp_names": fk.exp_names, "source": fk.source},
            "assets": choices, "lighting": lighting,
            "timings_s": {"render": round(t_render - t0, 2), "total": round(time.perf_counter() - t0, 2)}})
        return writer.commit()
    except BaseException:
        writer.abort()
        raise


def shard_seeds(seed: int, count: int, shard: tuple[int, int] = (0, 1)) -> list[int]:
    """Seeds S..S+count-1 that shard k of n owns (i % n == k)."""
    k, n = shard
    if not 0 <= k < n:
        raise ValueError(f"shard must be K/N with 0 <= K < N, got {k}/{n}")
    return [seed + i for i in range(count) if i % n == k]


def missing_seeds(root: Path, seed: int, count: int, shard: tuple[int, int] = (0, 1)) -> list[int]:
    """Prepare `root` for a run (refusing a user's own index.json before any work, removing dead runs' temp
    folders) and return the shard's seeds that have no complete sample yet (resume)."""
    check_own_index(root)
    root.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(root)
    complete = set(complete_seeds(root))
    return [s for s in shard_seeds(seed, count, shard) if s not in complete]


def run_shard(root: Path, seed: int, count: int, cfg: SynthConfig, shard: tuple[int, int] = (0, 1),
              log=print) -> dict:
    """Generate the shard's missing samples; failures are logged (failures.jsonl) and skipped."""
    root = Path(root)
    todo = missing_seeds(root, seed, count, shard)
    done, failed, times = 0, [], []
    log(f"synth: {len(todo)} samples to make in {root} (profile {cfg.profile}, shard {shard[0]}/{shard[1]})")
    for s in todo:
        t = time.perf_counter()
        try:
            generate_sample(s, root, cfg)
            done += 1
            times.append(time.perf_counter() - t)
            log(f"  {s:07d} done in {times[-1]:.1f} s")
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # one bad sample must not stop the shard
            log_failure(root, s, exc)
            failed.append(s)
            log(f"  {s:07d} FAILED: {type(exc).__name__}: {exc}", )
            print(f"synth: sample {s} failed, see {root / 'failures.jsonl'}", file=sys.stderr)
        write_index(root)
    write_index(root)
    return {"done": done, "failed": failed, "s_per_sample": float(np.mean(times)) if times else None}
