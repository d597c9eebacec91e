"""The image encoder's real-appearance fine-tuning (issue 19): London mask targets, the set loss, the appearance
augmentation and the photo backdrop, on small made-up arrays (the London set itself is never needed here)."""
from __future__ import annotations

import numpy as np
import torch

from face_addon.core.dataset import CLASS_IDS, CLASS_NAMES, HEAD_CLASSES
from face_addon.core.pipelines.skin_image import TRAINING_BACKGROUND, backdrop_mask, neutralise_backdrop
from face_addon.train.appearance import HAIR_COLOURS, augment_appearance, recolour_hair, tone_shift
from face_addon.train.london_skin import ALLOWED, IGNORE, mask_targets, set_cross_entropy


def test_every_london_label_allows_only_one_side_of_the_head_surface():
    head = np.isin(np.arange(len(CLASS_NAMES)), HEAD_CLASSES)
    assert not (ALLOWED[0] & head).any()                      # background, hair and clothes: never head surface
    for label in (1, 2, 3, 6, 8, 9, 10):                      # skin, brows, nose, ears, neck: only head surface
        assert ALLOWED[label].any() and not (ALLOWED[label] & ~head).any(), label
    assert ALLOWED[7, CLASS_IDS["up_lip"]] and ALLOWED[4, CLASS_IDS["eyeball"]]
    assert ALLOWED[IGNORE].all()


def test_lower_neck_background_is_ignored():
    labels = np.zeros((6, 4), np.uint8)
    labels[2:4, 1:3] = 10
    t = mask_targets(labels)
    assert (t[4:] == IGNORE).all() and (t[:4] == np.where(labels[:4] == 10, 10, 0)).all()


def test_crown_background_is_ignored_only_over_the_head_and_on_request():
    labels = np.zeros((8, 8), np.uint8)
    labels[3:6, 2:5], labels[4, 1], labels[4, 5], labels[6, 3] = 1, 8, 9, 10   # face, ears, neck
    t = mask_targets(labels)
    assert (t[:3, 1:6] == IGNORE).all()                          # above the face, between the ears: no target
    assert (t[:3, 0] == 0).all() and (t[:3, 6:] == 0).all()      # beside the head: still background
    assert (t[3:7] == np.where(labels[3:7] > 0, labels[3:7], 0)).all()
    assert (mask_targets(labels, crown=False)[:3] == 0).all()


def test_crown_hair_supervises_crown_pixels_far_from_the_face_skin_colour_only():
    from face_addon.train.london_skin import crown_hair_targets

    labels = np.zeros((8, 8), np.uint8)
    labels[3:6, 2:5], labels[4, 1], labels[4, 5], labels[6, 3] = 1, 8, 9, 10   # face, ears, neck
    image = np.zeros((8, 8, 3), np.uint8)
    image[:] = (200, 150, 120)                              # skin everywhere: a shaved scalp
    image[0, 1:6] = (220, 200, 120)                         # a row of blonde hair (same lightness, other hue)
    image[1, 1:6] = (40, 30, 25)                            # a row of dark hair
    t = mask_targets(labels)
    h = crown_hair_targets(image, labels, t)
    assert (h[:2, 1:6] == 0).all()                          # hair over the crown: "not head surface"
    assert (h[2, 1:6] == IGNORE).all()                      # skin-coloured crown: still no target
    assert (h[2:] == t[2:]).all() and (h[:, [0, 6, 7]] == t[:, [0, 6, 7]]).all()
    assert (crown_hair_targets(image, labels, t, threshold=(1e3, 1e3)) == t).all()


def test_set_cross_entropy_is_zero_inside_the_set_and_large_outside():
    allowed = torch.from_numpy(ALLOWED[np.full((1, 2, 2), 1, np.uint8)])  # face skin everywhere
    logits = torch.full((1, len(CLASS_NAMES), 2, 2), -10.0)
    logits[:, CLASS_IDS["head"]] = 10.0
    assert float(set_cross_entropy(logits, allowed)) < 1e-6
    logits[:, CLASS_IDS["head"]] = -10.0
    logits[:, CLASS_IDS["hair"]] = 10.0
    assert float(set_cross_entropy(logits, allowed)) > 10
    ignored = torch.from_numpy(ALLOWED[np.full((1, 2, 2), IGNORE, np.uint8)])
    assert float(set_cross_entropy(logits, ignored)) < 1e-6


def test_appearance_augmentation_darkens_skin_keeps_range_and_shape():
    rng = np.random.default_rng(0)
    img = np.full((32, 32, 3), 0.7)
    skin = np.zeros((32, 32), bool)
    skin[8:24, 8:24] = True
    dark = tone_shift(img, skin, rng)
    assert (dark[skin] < img[skin]).all() and (dark[~skin] == img[~skin]).all()
    assert dark[skin][:, 2].mean() < dark[skin][:, 0].mean()  # browner: blue falls fastest
    for _ in range(20):
        out = augment_appearance(img, skin, ~skin, rng)
        assert out.shape == img.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1


def test_hair_recolouring_changes_only_the_hair_keeps_its_shading_and_reaches_light_hues():
    """Dark render hair becomes any of the palette's colours (light blonde included), only on hair pixels, with the
    strands' relative brightness kept; thin hair pulls towards the skin's colour."""
    rng = np.random.default_rng(0)
    img = np.full((16, 16, 3), 0.25)
    hair, skin = np.zeros((16, 16), bool), np.zeros((16, 16), bool)
    hair[:6], skin[8:] = True, True
    img[:6] = (0.12, 0.09, 0.07)
    img[:3] *= 0.5                                         # shadowed strands
    img[skin] = (0.8, 0.6, 0.5)
    brightest = 0.0
    for _ in range(40):
        out = recolour_hair(img, hair, skin, rng)
        assert (out[~hair] == img[~hair]).all()
        assert out[:3].mean() < out[3:6].mean()            # the shadowed strands stay darker
        brightest = max(brightest, out[hair].mean())
    assert brightest > 0.5 > img[hair].max()               # some draws are light (blonde / grey), none were
    assert HAIR_COLOURS.mean(1).max() > 0.6 and (recolour_hair(img, ~np.ones_like(hair), skin, rng) == img).all()


def test_backdrop_mask_finds_a_plain_wall_and_not_clutter():
    img = np.full((60, 60, 3), 0.9)
    img[15:60, 20:40] = (0.6, 0.4, 0.3)  # a subject touching the bottom edge
    mask = backdrop_mask(img)
    assert mask is not None and mask[0, 0] and not mask[30, 30]
    assert (neutralise_backdrop(img)[0, 0] == TRAINING_BACKGROUND).all()
    clutter = np.random.default_rng(1).uniform(0, 1, (60, 60, 3))
    assert backdrop_mask(clutter) is None and (neutralise_backdrop(clutter) == clutter).all()


def test_backdrop_mask_keeps_a_light_neck_but_takes_a_darker_shaded_wall():
    """A pale neck (tinted, about as bright as the wall) joined to a light-grey wall through a white shirt stays
    out of the backdrop, while a shadow on the wall (darker, untinted, further off in plain RGB than the neck)
    stays in: the fill follows hue more strictly than brightness (plain RGB distance painted the neck)."""
    wall = np.array([0.80, 0.80, 0.80])
    img = np.tile(wall, (60, 60, 1))
    img[:, :10] = wall - 0.10                     # shaded strip of the wall: 0.17 off in RGB
    img[45:, 15:45] = (0.90, 0.90, 0.90)          # white shirt touching the bottom edge
    img[30:45, 25:35] = (0.88, 0.76, 0.70)        # neck on the shirt: 0.13 off the wall in RGB, but tinted
    mask = backdrop_mask(img)
    assert mask is not None and mask[5, 5] and mask[50, 2]
    assert not mask[35:45, 25:35].any()

def test_fine_tune_runs_resumes_and_exports_a_loadable_encoder(tmp_path):
    """Two steps on made-up renders and a made-up London folder from a tiny teacher; the export loads and keeps
    the teacher's classes and feature width."""
    from PIL import Image

    from face_addon.core.geometry.multiview import scan_rig
    from face_addon.core.pipelines.skin_image import load_image_encoder
    from face_addon.core.view_cache import save_views
    from face_addon.train.skin_image import Settings, export, make_model, smoke_data
    from face_addon.train.skin_image_real import FineTune, train

    images, labels, _ = smoke_data(n=13, size=48)
    views = tmp_path / "views"
    views.mkdir()
    cams = scan_rig(np.random.default_rng(0).normal(size=(50, 3)), resolution=48)
    save_views(views / "0500000.npz", images / 255.0, labels, cams)
    london = tmp_path / "real" / "photos" / "london"
    (london / "partmasks").mkdir(parents=True)
    (london / "neutral").mkdir()
    for pid in (2, 3, 4):
        mask = np.zeros((64, 64), np.uint8)
        mask[10:40, 20:44], mask[40:50, 26:38] = 1, 10
        Image.fromarray(mask).save(london / "partmasks" / f"{pid:03d}_03_parts.png")
        photo = np.where(mask[..., None] > 0, [200, 150, 120], [220, 220, 220]).astype(np.uint8)
        Image.fromarray(photo).save(london / "neutral" / f"{pid:03d}_03.jpg")
    s = Settings(width=4, feature_channels=4, batch=4, crop=32)
    teacher = export(make_model(s), s, {"steps": 0}, tmp_path / "teacher.pt")
    ft = FineTune(views=str(views), london=str(tmp_path / "real"), batch_synth=2, batch_london=2, crop=32)
    out = train(tmp_path / "run", ft, teacher, resume=False, log=lambda *a: None, max_steps=1)
    train(tmp_path / "run", ft, teacher, resume=True, log=lambda *a: None, max_steps=2)
    net, meta = load_image_encoder(out)
    t_net, _ = load_image_encoder(teacher)
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(net.features(x), t_net.features(x))              # lifted features: the teacher's
    assert torch.equal(net(x)[1], net.decider(x)[1])                    # classes: the fine-tuned decider's
    assert torch.equal(net.decider.classifier.weight, t_net.classifier.weight)   # its class layer stays frozen
    assert not torch.equal(net.decider.backbone.out.weight, t_net.backbone.out.weight)
    again = train(tmp_path / "run2", ft, out, resume=False, log=lambda *a: None, max_steps=1)   # a paired teacher
    assert torch.equal(load_image_encoder(again)[0].features(x), t_net.features(x))
    assert meta["training"]["steps"] == 2 and meta["training"]["london_ids"].startswith("2 even ids")
    assert meta["feature_channels"] == 4 and meta["n_classes"] == 16


def test_group_balanced_weights_favour_small_groups(tmp_path):
    from face_addon.train.london_skin import group_balanced_weights

    base = tmp_path / "photos" / "london"
    base.mkdir(parents=True)
    (base / "london_info.csv").write_text("face_id,face_age,face_gender,face_eth\n002,20,f,white\n004,21,m,white\n"
                                          "006,22,f,white\n008,23,m,white\n010,24,f,black\n")
    ids = ["002", "004", "006", "008", "010"]
    w = group_balanced_weights(tmp_path, ids)
    assert np.isclose(w.sum(), 1) and np.isclose(w[4] / w[0], 2.0)     # 4 white vs 1 black, power 0.5
    assert np.allclose(group_balanced_weights(tmp_path, ids, 0.0), 0.2)


def test_ship_takes_the_metrics_of_the_candidate_row_measured_on_its_bytes(tmp_path):
    import json
    import shutil

    from face_addon.core.capabilities import MODELS_DIR
    from face_addon.train.skin_image_real import ship

    run, models = tmp_path / "run", tmp_path / "models"
    run.mkdir(), models.mkdir()
    shutil.copyfile(MODELS_DIR / "skin_image.pt", run / "skin_image.pt")
    shutil.copyfile(MODELS_DIR / "skin_image.pt", tmp_path / "measured.pt")   # measured under another name
    (models / "MODEL_CARD.md").write_text("| file | what | trained on | held-out result | status |\n|---|---|---|---|---|\n"
                                          "| `skin_image.pt` (1 MB) | a person's words | x | y | usable |\n")

    def row(iou: float, encoder: str) -> dict:
        return {"encoder": encoder, "london": {"held_out_backdrop": iou}, "scans": {"lps_head_face": 0.5},
                "synth": {"miou": 0.9}}
    bench = tmp_path / "results.json"
    bench.write_text(json.dumps({"shipped": row(0.8, "/nowhere.pt"), "cand": row(0.875, str(tmp_path / "measured.pt")),
                                 "commit": "x"}))
    ship(run, models, bench)
    card = json.loads((models / "skin_image.json").read_text())
    assert card["metrics"]["this"]["london_skin_iou_held_out_odd_ids"] == 0.875
    assert card["metrics"]["replaced_encoder_same_run"]["london_skin_iou_held_out_odd_ids"] == 0.8
    assert card["decider"] is not None and "0.875 on the odd ids" in (models / "MODEL_CARD.md").read_text()


def test_a_run_records_whether_it_went_on_from_an_earlier_decider():
    """A paired teacher (an earlier fine-tune) is named as the decider the run continues, with that fine-tune's
    steps and origin; a renders-only teacher with its own training steps."""
    from face_addon.train.skin_image_real import started_from

    renders = {"training": {"steps": 749}}
    paired = {"decider": {"n_classes": 16}, "training": {"steps": 736, "fine_tuned_from": "r.pt (749 steps)"}}
    assert started_from("r.pt", renders) == "r.pt (749 steps on our renders)"
    assert started_from("p.pt", paired) == "the decider of p.pt (736 fine-tuning steps, from r.pt (749 steps))"
