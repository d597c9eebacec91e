"""The face frame where it is used and reported: a face the detector misses in the zoomed check is still read
(full heads with hair lost their frame that way), byte colours render as colours, the low-confidence warning,
`face segment --json`'s orientation and unit, and Register Head searching the frame once. The synthetic full
heads of /work/data/synth/test are used when present (skip otherwise)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from face_addon.core.color import srgb_to_linear
from face_addon.core.facekit import ensure_facekit, load_facekit
from face_addon.core.geometry.scan_render import ScanSurface
from face_addon.core.pipelines import face_orientation as fo
from face_addon.core.pipelines import register_head as rh
from face_addon.core.pipelines.upright_scan import face_upright

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

SYNTH_TEST = Path("/work/data/synth/test")


@pytest.fixture(scope="module")
def head() -> tuple[np.ndarray, np.ndarray]:
    """A subdivided FaceKit head with a prior identity (metres, +Z up, face towards -Y)."""
    fk = load_facekit(ensure_facekit())
    sub = fk.subdivided()
    a_id, _ = fk.sample_prior(np.random.default_rng(5), 1)
    return sub.evaluate(a_id[0]), sub.faces


def _frame(confidence: float) -> fo.FaceFrame:
    return fo.FaceFrame(np.eye(3), np.zeros(3), 1000.0, confidence, 5.0, 0.9)


def test_a_face_the_zoom_misses_is_still_read(head, monkeypatch):
    """The zoomed check used to drop a search detection the detector did not find again (an untextured face
    under hair: 0.59 in the search picture, nothing in the zoom), so no frame was found; the detection's own
    box, levelled, is read instead and the face mesh's fit decides."""
    from face_addon.core.photo import face_detect

    real = face_detect.detect_faces

    def misses_zooms(img, **kw):
        return [] if np.asarray(img).shape[0] == fo.FRONT_SIZE else real(img, **kw)

    monkeypatch.setattr(face_detect, "detect_faces", misses_zooms)
    v, f = head
    frame = fo.find_face_frame(v * 1000, f)
    assert frame is not None and frame.unit_scale == 0.001
    assert np.degrees(np.arccos(frame.up @ [0, 0, 1])) < 8 and np.degrees(np.arccos(frame.forward @ [0, -1, 0])) < 8


@pytest.mark.skipif(not (SYNTH_TEST / "1000002" / "scan.ply").is_file(),
                    reason=f"no synthetic test scans in {SYNTH_TEST} (face synth --profile scan --seed 1000000)")
@pytest.mark.parametrize("seed, turn", [(1000000, None), (1000002, 0)])
def test_full_head_with_hair_and_shoulders_keeps_its_frame(seed, turn):
    """Synthetic full heads without colours that lost their frame: 1,000,000 (long hair in strands over the
    face, clothed shoulders) under bench_landmarks' pose change for its seed (before the zoom fallback), and
    1,000,002 under a random turn (its face lay upside down in the best search picture, lit from below by the
    turned picture: found once the camera rolls instead)."""
    from bench_landmarks import perturbation
    from real_landmarks import random_rotation

    from face_addon.core.dataset import load_sample

    s = load_sample(SYNTH_TEST, seed)
    rot, unit = perturbation(seed) if turn is None else (random_rotation(np.random.default_rng([turn, seed])), 1.0)
    frame = fo.find_face_frame(s.scan_vertices.astype(np.float64) @ rot.T * unit, s.scan_faces)
    assert frame is not None
    angle = np.degrees(np.arccos(np.clip((np.trace(rot.T @ frame.rotation) - 1) / 2, -1, 1)))
    assert angle < 10 and frame.unit_scale == 1 / unit


@pytest.mark.skipif(not (SYNTH_TEST / "1000013" / "scan.ply").is_file(),
                    reason=f"no synthetic test scans in {SYNTH_TEST} (face synth --profile scan --seed 1000000)")
def test_a_face_read_at_half_its_size_is_checked_at_other_sizes():
    """Synthetic 1,000,013 with its colours, turned as in the robustness sweep (real_robustness.py, 'random1'):
    the refinement settled on the middle of the face read as a whole one (scale 0.55, confidence 0.47, accepted),
    so the frame was 12° off and the unit '2.54 m'; refined again at twice and half the size, the whole face
    reads better (0.75) and wins."""
    from real_landmarks import random_rotation

    from face_addon.core.dataset import load_sample

    s = load_sample(SYNTH_TEST, 1000013)
    rot = random_rotation(np.random.default_rng([31, 1]))
    frame = fo.find_face_frame(s.scan_vertices.astype(np.float64) @ rot.T, s.scan_faces, s.scan_colors)
    assert frame is not None and frame.unit_scale == 1.0
    assert np.degrees(np.arccos(np.clip((np.trace(rot.T @ frame.rotation) - 1) / 2, -1, 1))) < 10


def test_byte_colours_render_as_colours(head):
    v, f = head
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (len(v), 3)).astype(np.uint8)
    as_bytes = ScanSurface.of(v, f, rgb).colors
    np.testing.assert_allclose(as_bytes, srgb_to_linear(rgb / 255.0), atol=1e-6)
    assert as_bytes.max() <= 1.0 and as_bytes.dtype == np.float32


def test_colours_that_show_no_face_fall_back_to_its_shape(head):
    """Colours the detector sees no face in (here noise; the demo's synthetic scan with white painted eyes and a
    beard read 11 mm off and was not found) no longer lose the face: the shape is searched, the frame is the
    colourless scan's, and the result says so (JSON and one warning line). Shape-found frames drive the views
    without colours."""
    from face_addon.core.pipelines.detect_landmarks import detect_landmarks

    v, f = head
    noise = np.random.default_rng(0).random((len(v), 3))
    plain = fo.find_face_frame(v, f)
    painted = fo.find_face_frame(v, f, noise)
    assert not plain.colours_ignored and plain.warning is None
    assert painted is not None and painted.colours_ignored and painted.to_dict()["colours_ignored"] is True
    angle = np.degrees(np.arccos(np.clip((np.trace(plain.rotation.T @ painted.rotation) - 1) / 2, -1, 1)))
    assert angle < 0.5 and "\n" not in painted.warning and "colours show no face" in painted.warning
    result = detect_landmarks(v, f, colors=noise)
    assert result.method == "views" and any("colours show no face" in w for w in result.warnings)
    truth = detect_landmarks(v, f)
    assert np.abs(result.landmarks - truth.landmarks).max() < 1e-3  # the same views: shape only, same frame


def test_low_confidence_frame_warns_in_one_line(head, monkeypatch):
    assert _frame(fo.LOW_CONFIDENCE + 0.01).warning is None
    low = _frame(fo.LOW_CONFIDENCE - 0.05).warning
    assert low is not None and "\n" not in low and "uncertain" in low and "units mm" in low
    from face_addon.core.mesh import Mesh

    v, f = head
    monkeypatch.setattr(fo, "find_face_frame", lambda *a, **k: _frame(0.3))
    upright, note = face_upright(Mesh(v * 1000, f))
    assert note == _frame(0.3).warning and np.ptp(upright.vertices, axis=0).max() < 1.0  # metres


def test_segment_json_reports_the_frame_and_unit(head, tmp_path):
    """`face segment --json` carries `orientation` (as `face landmarks`) and the input's unit from the face
    frame: the upright copy the networks see is in metres, which the JSON used to report as the unit."""
    import torch
    import trimesh

    from face_addon.cli.main import main
    from face_addon.train.skin import Settings, export, make_network

    torch.manual_seed(1)
    s = Settings(features=("sigma30", "hks", "color"), width=8, n_blocks=1, k_eig=24)
    net, arch = make_network(s)
    n = arch["in_channels"]
    stats = {"mean": ([-4.0] + [0.0] * 16 + [0.5] * 3)[:n], "std": [1.0] * n}
    weights = export(net, arch, s, stats, {"steps": 0}, tmp_path / "tiny_color.pt")
    v, f = head
    colors = np.full((len(v), 4), [200, 150, 130, 255], np.uint8)
    colors[v[:, 2] > 0.08, :3] = [60, 40, 30]  # dark hair on the crown: colours that vary
    trimesh.Trimesh(v * 1000, f, vertex_colors=colors, process=False).export(tmp_path / "head.ply")
    args = ["segment", str(tmp_path / "head.ply"), "--out", str(tmp_path / "out.ply"), "--json",
            str(tmp_path / "out.json"), "--weights", str(weights), "-q"]
    assert main(args) == 0
    summary = json.loads((tmp_path / "out.json").read_text())
    assert summary["unit_scale_to_m"] == 0.001 and summary["unit_source"] == rh.UNIT_FROM_FRAME
    assert summary["orientation"]["units"] == "mm" and summary["orientation"]["forward"][1] < -0.95


def test_register_head_searches_the_frame_once(head, monkeypatch):
    """Given no landmarks, the landmark model's search is the only one: a search that found no face (5-10 s on
    a scan) is not run again for the unit."""
    calls = []

    def no_face(*args, **kwargs):
        calls.append(1)
        return None

    monkeypatch.setattr(fo, "find_face_frame", no_face)
    monkeypatch.setattr(rh, "find_face_frame", no_face)
    v, f = head
    skin = v[:, 1] < 0.0  # the front half
    reg = rh.register_head(v, f, skin, iterations=2)
    assert len(calls) == 1 and reg.unit_source == rh.UNIT_FROM_SIZE


def test_detect_landmarks_passes_the_low_confidence_warning_on(head, monkeypatch):
    """Detect Landmarks (operator warning report, `face landmarks` stderr and JSON) carries the frame's warning."""
    from dataclasses import replace

    from face_addon.core.pipelines.detect_landmarks import detect_landmarks

    real = fo.find_face_frame
    monkeypatch.setattr(fo, "find_face_frame", lambda *a, **k: replace(real(*a, **k), confidence=0.3))
    v, f = head
    r = detect_landmarks(v, f)
    assert r.frame is not None and r.frame.warning in r.warnings



@pytest.mark.parametrize("vertices", [None, 5_000])
def test_settle_ends_at_one_frame_from_nearby_starts(head, vertices):
    """Frames that differ by the face mesh's jitter (here 1.5°, 2 mm, 3 %) must settle to the same one, on a
    dense head and on a 5k-vertex decimated copy: that is what makes the landmarks independent of the scan's
    rotation. The point-to-point ICP matched to vertices (30 steps) had not converged: its ends were 0.9-2.4°
    apart on real scans, 2.3° (dense) and 1.4° (5k) here."""
    from face_addon.core.geometry.decimate import decimate
    from face_addon.core.geometry.similarity import rotation_vector

    v, f = head[0] * 1000, head[1]  # millimetres: scale 1000
    if vertices is not None:
        d = decimate(v, f, vertices)
        v, f = d.vertices, d.faces
    surface, rng = ScanSurface.of(v, f), np.random.default_rng(3)
    ends = []
    for _ in range(4):
        turn = rng.normal(size=3)
        shift = rng.normal(size=3)
        start = fo.FaceFrame(rotation_vector(turn * np.radians(1.5) / np.linalg.norm(turn)),
                             2.0 * shift / np.linalg.norm(shift), 1000.0 * rng.uniform(0.97, 1.03), 0.9, 5.0, 0.9)
        ends.append(fo.settle_frame(surface, start))
    angle = max(np.degrees(np.arccos(np.clip((np.trace(a.rotation.T @ b.rotation) - 1) / 2, -1, 1)))
                for a in ends for b in ends)
    assert angle < 0.05 and max(np.linalg.norm(a.centre - b.centre) for a in ends for b in ends) < 0.1
    assert max(e.scale for e in ends) / min(e.scale for e in ends) < 1.001


def test_settle_matching_every_few_steps_ends_where_matching_every_step_ends(head, monkeypatch):
    """settle_frame matches the scan's vertices again only every SETTLE_REMATCH steps (the time of a step is
    mostly that look-up): it must end where matching at every step ends. Fails if the matches are not renewed
    (the fit then settles on the first step's planes: 0.9° and 1.6 mm away here)."""
    from face_addon.core.geometry.similarity import rotation_vector

    v, f = head[0] * 1000, head[1]
    surface = ScanSurface.of(v, f)
    start = fo.FaceFrame(rotation_vector(np.radians([1.5, -1.0, 0.5])), np.array([2.0, -1.0, 1.0]), 1030.0,
                         0.9, 5.0, 0.9)
    lazy = fo.settle_frame(surface, start)
    monkeypatch.setattr(fo, "SETTLE_REMATCH", 1)
    every = fo.settle_frame(surface, start)
    angle = np.degrees(np.arccos(np.clip((np.trace(lazy.rotation.T @ every.rotation) - 1) / 2, -1, 1)))
    assert angle < 0.02 and np.linalg.norm(lazy.centre - every.centre) < 0.05
    assert abs(lazy.scale / every.scale - 1) < 2e-4
