"""Multi-view lifting (core/geometry/multiview.py) and Segment Skin's image branch (core/pipelines/skin_image.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

from face_addon.core.geometry.camera import look_at_world_to_camera
from face_addon.core.geometry.multiview import (
    ViewCamera, label_image, lift_features, read_cameras_json, sample_bilinear, scan_rig, visibility)


@pytest.fixture(scope="module")
def sphere():
    s = trimesh.creation.icosphere(subdivisions=4, radius=0.1)
    return np.asarray(s.vertices, np.float64), np.asarray(s.faces, np.int64), np.asarray(s.vertex_normals)


def front_camera(size: int = 64) -> ViewCamera:
    k = np.array([[80.0, 0, size / 2 - 0.5], [0, 80.0, size / 2 - 0.5], [0, 0, 1]])
    return ViewCamera(k, look_at_world_to_camera(np.array([0, -0.5, 0.0]), np.zeros(3)), size, size)


def test_projection_axes_and_resize():
    cam = front_camera()
    uv, z = cam.project(np.array([[0, 0, 0.0], [0.05, 0, 0], [0, 0, 0.05]]))
    assert np.allclose(uv[0], [31.5, 31.5]) and np.allclose(z, 0.5)
    assert uv[1, 0] > uv[0, 0]            # +x world is right in the image seen from the front (-Y)
    assert uv[2, 1] < uv[0, 1]            # +z world is up: smaller row
    big = cam.resized(128, 128)
    uv2, _ = big.project(np.array([[0.05, 0, 0.02]]))
    uv1, _ = cam.project(np.array([[0.05, 0, 0.02]]))
    assert np.allclose((uv2 + 0.5) / 2 - 0.5, uv1)
    assert np.allclose(cam.center, [0, -0.5, 0])


def test_rig_sees_the_whole_scan(sphere):
    v, _, _ = sphere
    cams = scan_rig(v + [1.0, 2.0, 3.0], resolution=96)
    assert len(cams) == 13
    for cam in cams:
        uv, z = cam.project(v + [1.0, 2.0, 3.0])
        assert (z > 0).all() and (uv >= -0.5).all() and (uv <= 95.5).all()


def test_visibility_is_the_camera_facing_half(sphere):
    v, f, n = sphere
    cam = front_camera(128)
    _, vis = visibility(v, f, cam)
    to_cam = cam.center - v
    facing = (n * to_cam).sum(1) / np.linalg.norm(to_cam, axis=1)
    assert vis[facing > 0.3].mean() > 0.98
    assert vis[facing < -0.1].mean() < 0.02
    _, all_inside = visibility(v, None, cam)  # no faces: nothing occludes
    assert all_inside.all()


def test_bilinear_sampling_is_exact_on_a_ramp():
    h, w = 10, 12
    ramp = np.stack([np.tile(np.arange(w, dtype=float), (h, 1)), np.tile(np.arange(h, dtype=float)[:, None], (1, w))])
    uv = np.array([[2.25, 3.5], [10.9, 8.1], [0.0, 0.0]])
    assert np.allclose(sample_bilinear(ramp, uv), uv)


def test_lifting_means_and_variances(sphere):
    v, f, n = sphere
    cams = [front_camera(64), ViewCamera(front_camera(64).K, look_at_world_to_camera(np.array([0.5, 0, 0.0]),
                                                                                      np.zeros(3)), 64, 64)]
    maps = [np.full((2, 64, 64), 1.0), np.full((2, 64, 64), 3.0)]
    vis = lift_features(v, f, maps, cams, visibility_aware=True)
    both = vis.n_views == 2
    only_front = (vis.n_views == 1) & (v[:, 1] < -0.05) & (v[:, 0] < -0.01)
    assert both.any() and only_front.any() and (vis.n_views == 0).any()
    assert np.allclose(vis.mean[both], 2.0) and np.allclose(vis.var[both], 1.0)
    assert np.allclose(vis.mean[only_front], 1.0) and np.allclose(vis.var[only_front], 0.0)
    assert np.allclose(vis.mean[vis.n_views == 0], 0.0)
    plain = lift_features(v, f, maps, cams, visibility_aware=False)
    assert (plain.n_views == 2).all()  # every vertex projects into both images
    assert np.allclose(plain.mean, 2.0)
    with pytest.raises(ValueError, match="feature maps"):
        lift_features(v, f, maps[:1], cams)


def test_label_image_follows_the_surface():
    plane = trimesh.creation.box(extents=(0.2, 0.01, 0.2))
    v, f = np.asarray(plane.vertices), np.asarray(plane.faces)
    labels = np.where(v[:, 0] > 0, 2, 1).astype(np.uint8)
    img = label_image(v, f, labels, front_camera(64))
    assert img[32, 5] == 0                    # background outside the box
    assert set(np.unique(img[20:44, 20:44])) <= {1, 2}
    assert img[32, 40] == 2 and img[32, 24] == 1


def test_cameras_json(tmp_path):
    cam = front_camera()
    path = tmp_path / "cameras.json"
    path.write_text(json.dumps({"views": [cam.to_json()]}))
    back = read_cameras_json(path)[0]
    assert np.allclose(back.K, cam.K) and np.allclose(back.world_to_camera, cam.world_to_camera)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="cameras.json"):
        read_cameras_json(path)


def test_blender_camera_round_trip():
    from face_addon.blender.photo_camera import blender_camera, opencv_camera

    m = look_at_world_to_camera(np.array([0.3, -0.8, 0.2]), np.zeros(3))
    k = np.array([[300.0, 0, 70], [0, 300, 90], [0, 0, 1]])
    k2, m2 = opencv_camera(blender_camera(m[:3, :3], m[:3, 3], k, 160, 200))
    assert np.allclose(k2, k) and np.allclose(m2, m)


def test_image_branch_shapes_and_errors(tmp_path):
    import torch

    from face_addon.core.nets.image_encoder import ImageSegmenter, UNet
    from face_addon.core.pipelines.skin_image import SkinViews, encode_views, project_skin_masks

    torch.manual_seed(0)
    net = ImageSegmenter(UNet(width=4, levels=3, out_channels=4), n_classes=16, feature_channels=4).eval()
    cams = [front_camera(40)]
    views = SkinViews(np.random.default_rng(0).integers(0, 255, (1, 40, 40, 3), dtype=np.uint8), cams)
    feats, skin = encode_views((net, {"n_classes": 16}), views)
    assert feats.shape == (1, 4, 40, 40) and skin.shape == (1, 40, 40)
    assert (skin >= 0).all() and (skin <= 1).all()
    s = trimesh.creation.icosphere(subdivisions=2, radius=0.1)
    p = project_skin_masks(np.asarray(s.vertices), np.asarray(s.faces), skin, cams)
    assert p.shape == (len(s.vertices),) and (p >= 0).all() and (p <= 1).all()
    resized = SkinViews(np.zeros((1, 20, 20, 3), np.float32), cams)  # cameras follow the images' size
    assert resized.cameras[0].width == 20
    with pytest.raises(ValueError, match="cameras"):
        SkinViews(np.zeros((2, 40, 40, 3), np.float32), cams)
    with pytest.raises(ValueError, match="NaN"):
        SkinViews(np.full((1, 40, 40, 3), np.nan, np.float32), cams)


def test_mirror_average_makes_the_skin_map_mirror_symmetric_and_leaves_the_features():
    """With the mirror average a view and its mirror image get mirrored skin maps (a random U-Net alone does not);
    the lifted features stay the plain view's."""
    import torch

    from face_addon.core.nets.image_encoder import ImageSegmenter, UNet
    from face_addon.core.pipelines.skin_image import SkinViews, encode_views

    torch.manual_seed(1)
    decider = ImageSegmenter(UNet(width=4, levels=3, out_channels=4), n_classes=16, feature_channels=4)
    enc = (ImageSegmenter(UNet(width=4, levels=3, out_channels=4), 16, 4, decider=decider).eval(), {"n_classes": 16})
    img = np.random.default_rng(2).uniform(0, 1, (1, 32, 32, 3)).astype(np.float32)
    plain, mirrored = SkinViews(img, [front_camera(32)]), SkinViews(img[:, :, ::-1].copy(), [front_camera(32)])
    f0, s0 = encode_views(enc, plain, mirror=False)
    f1, s1 = encode_views(enc, plain, mirror=True)
    _, s2 = encode_views(enc, mirrored, mirror=True)
    assert np.array_equal(f0, f1)
    assert np.allclose(s1, s2[:, :, ::-1], atol=1e-6)
    assert not np.allclose(s0, encode_views(enc, mirrored, mirror=False)[1][:, :, ::-1], atol=1e-4)


def test_views_without_colours_use_the_neutral_skin_tone_and_say_so():
    """No colours at all: the image model reads the scan in the neutral skin tone (its views are rendered in it).
    Colours that do not vary are ignored instead, and then the views cannot be used: geometry-only model."""
    from face_addon.core.pipelines.segment_skin import segment_skin
    from face_addon.core.pipelines.skin_image import SkinViews

    s = trimesh.creation.icosphere(subdivisions=4, radius=0.1)
    v = np.asarray(s.vertices)
    cams = scan_rig(v, resolution=32)
    views = SkinViews(np.full((len(cams), 32, 32, 3), 0.5, np.float32), cams)
    r = segment_skin(v, np.asarray(s.faces), None, views=views)
    assert r.variant == "skin_p2p" and any("neutral skin tone" in w for w in r.warnings)
    r = segment_skin(v, np.asarray(s.faces), np.full((len(v), 3), 0.5), views=views)
    assert r.variant == "skin_geom"
    assert any("views were not used" in w for w in r.warnings) and any("all the same" in w for w in r.warnings)


def test_skin_rig_is_the_plain_rig_and_turned_copies(sphere):
    """Segment Skin's rendered views: the plain 13-view rig first, then the rig turned by each of RIG_TURNS about
    the box centre (each camera's centre turned back by the turn: the scan seen turned)."""
    from face_addon.core.pipelines.skin_image import RIG_TURNS, skin_rig, turn

    v = sphere[0] * 2.5 + np.array([0.3, -0.2, 1.0])  # a head-and-shoulders-sized box (0.5 m)
    plain = scan_rig(v)
    cams = skin_rig(v)
    assert len(cams) == len(RIG_TURNS) * len(plain)
    centre = (v.min(0) + v.max(0)) / 2
    for i, (yaw, pitch) in enumerate(RIG_TURNS):
        r = turn(yaw, pitch)
        for a, b in zip(plain, cams[i * len(plain):(i + 1) * len(plain)]):
            assert np.allclose(b.center, r.T @ (a.center - centre) + centre, atol=0.01 * np.linalg.norm(a.center - centre))
    assert all(np.allclose(a.world_to_camera, b.world_to_camera) for a, b in zip(plain, cams))


def test_skin_rig_frames_a_face_crop_at_the_training_size(sphere):
    """A 0.2 m crop is framed like a 0.40 m box (MIN_VIEW_EXTENT_M: the encoder's faces are that small in the
    picture), in any unit; larger scans keep their own framing."""
    from face_addon.core.pipelines.skin_image import MIN_VIEW_EXTENT_M, skin_rig

    small = sphere[0]  # 0.2 m across
    dist = lambda cams, v: np.linalg.norm(cams[0].center - (v.min(0) + v.max(0)) / 2)  # noqa: E731
    expected = dist(scan_rig(small * MIN_VIEW_EXTENT_M / np.ptp(small, 0).max()), small)
    assert np.isclose(dist(skin_rig(small), small), expected, rtol=1e-6)
    assert np.isclose(dist(skin_rig(small * 1000), small * 1000), 1000 * expected, rtol=1e-6)  # millimetres
    big = small * 3
    assert np.isclose(dist(skin_rig(big), big), dist(scan_rig(big), big), rtol=1e-9)


def test_lift_rigs_averages_each_rigs_own_lift(sphere):
    """Two rigs, one in front of a sphere and one at its side, with constant feature maps 1 and 3: a vertex seen by one
    rig gets that rig's value (not halved by the rig that misses it), a vertex seen by both the mean 2, and the
    variance is each rig's own spread (0 here) — lifting all views at once would give it 1. One rig = the plain
    lift (lifted_image_features, project_skin_masks)."""
    from face_addon.core.pipelines.skin_image import SkinViews, lift_rigs, lifted_image_features, project_skin_masks

    v, f, _ = sphere
    front = front_camera(48)
    side = ViewCamera(front.K, look_at_world_to_camera(np.array([0.5, 0, 0.0]), np.zeros(3)), 48, 48)
    views = SkinViews(np.zeros((2, 48, 48, 3), np.float32), [front, side], rigs=2)
    feats = np.stack([np.full((2, 48, 48), 1.0), np.full((2, 48, 48), 3.0)]).astype(np.float32)
    skin2d = feats[:, 0] / 4
    mu, var, skin, seen = lift_rigs(v, f, feats, skin2d, views)
    by_front = visibility(v, f, front)[1]
    by_side = visibility(v, f, side)[1]
    assert np.allclose(mu[by_front & ~by_side, 0], 1) and np.allclose(mu[by_side & ~by_front, 0], 3)
    assert (by_front & by_side).any() and np.allclose(mu[by_front & by_side], 2)
    assert np.allclose(var, 0) and np.allclose(skin, mu[:, 0] / 4)
    assert np.allclose(mu[~by_front & ~by_side], 0)
    assert np.array_equal(seen, by_front.astype(int) + by_side)
    one = SkinViews(np.zeros((2, 48, 48, 3), np.float32), [front, side])
    mu1, var1, skin1, _ = lift_rigs(v, f, feats, skin2d, one)
    assert np.array_equal(np.stack([mu1, var1]), np.stack(lifted_image_features(v, f, feats, [front, side])))
    assert np.allclose(skin1, project_skin_masks(v, f, skin2d, [front, side]))
    with pytest.raises(ValueError, match="rigs"):
        SkinViews(np.zeros((3, 48, 48, 3), np.float32), [front, side, front], rigs=2)
