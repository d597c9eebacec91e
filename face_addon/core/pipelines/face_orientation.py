"""Where a scan's face is and which way it looks: up, forward, centre and unit, from renders of the scan.

    frame = find_face_frame(vertices, faces)          # any rotation, any unit; None when no face is seen
    upright = frame.to_canonical(vertices)            # metres, Blender axes: +Z up, the face looking along -Y

Scans arrive Y-up (most scanners), Z-up (Blender), lying, upside down or arbitrarily turned, as face-only crops
or heads with shoulders, in mm, cm or m. Geometry alone (PCA, bounding boxes) cannot tell a face crop's up from
its left; a face detector can. So:

1. Search: a vertex-clustered copy of the scan (`coarse_copy`, cheap to render whatever the input size) is
   rendered near-orthographically from 14 directions (the 6 axes, common conventions first, then the 8 cube
   diagonals: at most ~35° from any direction), each in 4 quarter rolls of the camera, and each picture is
   given to MediaPipe's face detector (it wants roughly upright faces). Rolling the camera, not turning the
   picture, keeps the light at the upper left of an upright face: a face lying upside down in a turned picture
   is lit from below, which the detector misses (a full head turned at random: 0.71 from the rolled render,
   nothing from the turned picture). If no picture shows anything the face mesh reads, the rolls are offset
   by 45° (rolls within 22.5°), then searched in tiles (small faces); each later pass runs only while no frame
   of MIN_CONFIDENCE was found (a face read badly from one side is searched again).
2. Check: each of the best detections of a picture is rendered again at full resolution, centred on it,
   zoomed and levelled by its eye keypoints (`_zoom`: a face on a head with shoulders is small in the search
   picture; a face rolled by 40° is missed when zoomed), detected again, the
   468-point face mesh is run (its region of interest is rotated by the eye line, so any roll works), the
   points are back-projected onto the scan, and FaceKit's
   mean face with the same 468 points (`mediapipe_facekit.npz`, metres) is fitted to them by a similarity
   transform (Umeyama). The fit's residual rejects false detections. Search pictures show surface seen from
   behind black (`render(dark_back=True)`): a face crop seen from behind is a hollow mask, which the detector
   and the mesh model read as a mirrored face with full confidence.
3. Refine: each candidate is refined at once (`refine_frame`: full-resolution perspective render straight at
   the face, mesh in the ROI the frame predicts, re-fit, REFINE_STEPS times); the first refined frame
   with confidence ACCEPT_CONFIDENCE ends the search, so a scan in a usual orientation costs one direction.

4. Settle (`settle_frame`): a point-to-plane similarity ICP (run to convergence) of FaceKit's
   mean facial skin onto the scan's surface from the refined frame. The face mesh answers nearly equal renders
   with slightly different points, so refined frames from different starts differ by ~0.5°; the ICP optimum
   depends on the surface alone (8 starts 1.5° apart end within 0.02-0.12° on real scans), which makes
   everything downstream independent of the rotation.

5. Colours that show no face (the demo's synthetic scan with white painted eyes and a beard: the face mesh read
   its coloured face 11 mm off, and no frame was found in 18 CPU-s; a texture mapped wrongly would do the same)
   do not lose it: when steps 1-4 find nothing in the scan's appearance, they run again on its shape alone
   (`shape_only`), and the frame says so (`colours_ignored`, a warning). The views then read the shape too.

The similarity's rotation is the frame, its scale the unit (scan units per metre), its translation the centre.
Confidence combines the face mesh's presence score with the fit residual of step 3.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ..capabilities import MODELS_DIR
from ..facekit import load_facekit
from ..geometry.multiview import ViewCamera
from ..geometry.camera import view_direction
from ..geometry.scan_render import ScanSurface, ScanView, back_project, coarse_copy, look_at, render
from ..geometry.similarity import umeyama
from ..progress import Progress

SEARCH_SIZE = 160            # pixels of the search renders (the detector reads 128)
FRONT_SIZE = 256             # pixels of the refinement render
SEARCH_CELLS = 100           # the search renders a vertex-clustered copy this many cells long (~1.5 px per cell)
CANDIDATES = 2               # detections per search picture checked by a fit, best detector score first
SEARCH_MIN_PRESENCE = 0.3    # search candidates the face mesh model scores lower are not refined
ZOOM_FILL = 0.4              # a search detection is looked at again with its box this part of the picture ...
ZOOM_DISTANCE = 5.0          # ... from this many box sides away
ACCEPT_CONFIDENCE = 0.35     # a refined frame this good ends the search (search order: common conventions first)
REFINE_STEPS = 1             # a second step moved the settled frame by < 0.03° on 33 real and synthetic scans
#                              (session 11; the settle, not the refinement, fixes the frame) and cost a render
SURE_CONFIDENCE = 0.6        # a refined frame below this is also refined at RESCALE_CHECK times its face size,
RESCALE_CHECK = 2.0          # the better kept (`rescaled_check`)
SETTLE_ITERATIONS = 400      # at most this many ICP steps of `settle_frame` ...
SETTLE_TOLERANCE_MM = 1e-4   # ... which stops when no mean-face point moves further (canonical mm; 1e-3 stopped
#                              0.6° short of the end on p17_wacky; re-matching to 1e-3 put a turned 5k copy of
#                              synthetic 1,000,013 1.7° from its stored scan, 0.6° at 1e-4)
SETTLE_SIGMA_MM = 4.0        # its Gaussian weight: scan points further from the mean face count little
SETTLE_REMATCH = 8           # its nearest scan vertices are looked up again every this many steps and before it
#                              stops (the steps are small, the matched planes barely change between them, and the
#                              look-up is most of a step's cost)
CAMERA_DISTANCE_M = 0.6      # perspective views: a photo-booth distance
FACE_FILL = 0.5              # the face mesh's height (FACE_SIZE_M) as a fraction of the picture: its ROI (1.5 × the
FACE_SIZE_M = 0.145          # face box) then about fills the picture; FACE_SIZE_M: brow-to-chin of FaceKit's mean face
RESIDUAL_SCALE_MM = 6.0      # fit residual at which the confidence halves (MediaPipe vs. FaceKit ≈ 3-4 mm)
MIN_CONFIDENCE = 0.25        # below: "no face found"
LOW_CONFIDENCE = 0.4         # below: a warning that the frame may be off (chosen on synthetic scans: docs/landmarks.md)
UNITS = {1.0: "m", 0.1: "dm", 0.01: "cm", 0.001: "mm"}


@dataclass
class FaceFrame:
    """A face's pose in a scan: scan = scale · rotation · canonical + centre, canonical in metres with FaceKit's
    axes (+Z up, the face looking along -Y, origin between the ears). `residual_mm`: RMS of the 468-point fit."""

    rotation: np.ndarray
    centre: np.ndarray
    scale: float
    confidence: float
    residual_mm: float
    score: float
    colours_ignored: bool = False  # the scan's colours showed no face, its shape did (step 5 of the module doc)

    @property
    def up(self) -> np.ndarray:
        """The face's up direction in scan coordinates."""
        return self.rotation[:, 2].copy()

    @property
    def forward(self) -> np.ndarray:
        """The direction the face looks in, in scan coordinates."""
        return -self.rotation[:, 1]

    @property
    def unit_scale(self) -> float:
        """Factor from scan units to metres: 1/scale, snapped to m/dm/cm/mm within 25 % (heads differ in size)."""
        raw = 1.0 / self.scale
        best = min(UNITS, key=lambda u: abs(np.log(raw / u)))
        return best if abs(np.log(raw / best)) < np.log(1.25) else raw

    def to_canonical(self, points: np.ndarray) -> np.ndarray:
        """Scan points (n, 3) -> canonical metres (FaceKit frame)."""
        return (np.asarray(points, np.float64) - self.centre) @ self.rotation / self.scale

    def from_canonical(self, points: np.ndarray) -> np.ndarray:
        return self.scale * np.asarray(points, np.float64) @ self.rotation.T + self.centre

    def to_dict(self) -> dict:
        """JSON-ready report (`orientation` in results)."""
        unit = self.unit_scale
        return {"up": [round(float(x), 4) for x in self.up], "forward": [round(float(x), 4) for x in self.forward],
                "centre": [float(x) for x in self.centre], "units": UNITS.get(unit, f"{unit:.4g} m"),
                "unit_scale_to_m": unit, "confidence": round(float(self.confidence), 3),
                "residual_mm": round(float(self.residual_mm), 2), "colours_ignored": self.colours_ignored}

    def describe(self) -> str:
        """One line for people: 'face looks along +Z, up +Y, units mm (confidence 0.93)'."""
        shape = ", read from its shape: its colours show no face" if self.colours_ignored else ""
        return f"{self._pose_text()} (confidence {self.confidence:.2f}{shape})"

    def _pose_text(self) -> str:
        return f"face looks along {axis_name(self.forward)}, up {axis_name(self.up)}, units {self.to_dict()['units']}"

    @property
    def warning(self) -> str | None:
        """One line when the confidence is below LOW_CONFIDENCE (the face read weakly: the frame and the unit may
        be off, and so may everything that turns the face upright with it) or the face was found by its shape
        alone (colours that show no face may not belong to the mesh), else None."""
        notes = []
        if self.confidence < LOW_CONFIDENCE:
            notes.append(f"the face frame is uncertain (confidence {self.confidence:.2f} < {LOW_CONFIDENCE}): "
                         f"{self._pose_text()}; check the orientation and unit")
        if self.colours_ignored:
            notes.append("the scan's colours show no face, so the face was found by its shape and its landmarks "
                         "are read without colours; check that the colours belong to this mesh")
        return "; ".join(notes) or None


def axis_name(v: np.ndarray) -> str:
    """'+Y' when within ~10° of a world axis, else the rounded vector."""
    i = int(np.argmax(np.abs(v)))
    if abs(v[i]) > 0.985:
        return ("+" if v[i] > 0 else "-") + "XYZ"[i]
    return "(" + ", ".join(f"{x:+.2f}" for x in v) + ")"


@lru_cache(maxsize=1)
def canonical_points() -> tuple[np.ndarray, np.ndarray]:
    """FaceKit's mean face at MediaPipe's 468 points (metres) and the points trusted for fitting (bool)."""
    fk = load_facekit()
    with np.load(MODELS_DIR / "mediapipe_facekit.npz") as z:
        tri, bary, weight = z["triangle"], z["bary"], z["weight"]
    pts = np.einsum("nk,nkd->nd", bary, fk.template[fk.faces[tri]])
    return pts, weight > 0


def search_directions() -> np.ndarray:
    """(14, 3) unit directions from the scan's centre to the search cameras: the 6 axes, the usual scanner and
    Blender conventions first (face towards +Z, -Y, +Y, ±X, -Z), then the 8 cube diagonals."""
    axes = np.array([[0, 0, 1], [0, -1, 0], [0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, -1]], np.float64)
    diag = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float64) / np.sqrt(3)
    return np.concatenate([axes, diag])


def _picture_up(d: np.ndarray, roll_deg: float) -> np.ndarray:
    """The search picture's up vector for view direction d: world +Y (or +Z when d is along Y) turned about d by
    `roll_deg` (quarter rolls are rendered for each direction, so offsets 0° and 45° cover every roll within
    22.5°)."""
    up = np.array([0.0, 0.0, 1.0]) if abs(d[1]) > 0.9 else np.array([0.0, 1.0, 0.0])
    up = up - (up @ d) * d
    up /= np.linalg.norm(up)
    a = np.radians(roll_deg)
    return np.cos(a) * up + np.sin(a) * np.cross(d, up)


def fit_frame(points: np.ndarray, valid: np.ndarray) -> tuple[FaceFrame | None, np.ndarray]:
    """Similarity of the canonical face onto 468 back-projected scan points -> (frame, per-point residual in
    metres); None when too few points landed on the scan."""
    canon, trusted = canonical_points()
    use = valid & trusted
    if use.sum() < 50:
        return None, np.full(len(canon), np.inf)
    s, rot, t = umeyama(canon[use], points[use])
    if not s > 0:
        return None, np.full(len(canon), np.inf)
    pred = s * canon @ rot.T + t
    resid = np.linalg.norm(pred - np.where(valid[:, None], points, pred), axis=1) / s
    resid[~valid] = np.inf
    rms = float(np.sqrt(np.mean(resid[use] ** 2)))
    centre = s * rot @ np.zeros(3) + t
    return FaceFrame(rot, centre, float(s), 0.0, rms * 1e3, 0.0), resid


def _read_face(view: ScanView, surface: ScanSurface, box) -> FaceFrame | None:
    """Face mesh in `view` for the face `box`, back-projected and fitted (confidence: module doc)."""
    from ..photo.face_mesh import face_landmarks

    mesh = face_landmarks(view.image, box)
    pts, cos = back_project(view, surface, mesh.points[:, :2])
    frame, _ = fit_frame(pts, np.isfinite(pts).all(1) & (cos > 0.05))
    if frame is not None:
        frame.score = mesh.score
        frame.confidence = mesh.score * 0.5 ** ((frame.residual_mm / RESIDUAL_SCALE_MM) ** 2)
    return frame


def frontal_camera(frame: FaceFrame, size: int, yaw_deg: float = 0.0, pitch_deg: float = 0.0,
                   distance_m: float = CAMERA_DISTANCE_M, fill: float = FACE_FILL) -> ViewCamera:
    """A perspective camera looking at the face from (yaw, pitch) degrees off its forward direction (yaw
    positive towards the subject's left, pitch positive from above), the face `fill` of the picture wide."""
    d_canon = view_direction(pitch_deg, yaw_deg)
    centre_canon = canonical_points()[0].mean(0)
    target = frame.from_canonical(centre_canon)
    eye = target + frame.scale * distance_m * (frame.rotation @ d_canon)
    focal = size * fill * distance_m / FACE_SIZE_M
    return look_at(eye, target, frame.up, focal, size)


def _search_view(surface: ScanSurface, d: np.ndarray, roll_deg: float) -> ScanView:
    """Near-orthographic picture of the whole scan seen from direction d."""
    v = surface.vertices
    lo, hi = v.min(0), v.max(0)
    centre, radius = (lo + hi) / 2, 0.5 * float(np.linalg.norm(hi - lo))
    dist = 8.0 * radius
    focal = 0.5 * SEARCH_SIZE * dist / (radius * 1.02)
    return render(surface, look_at(centre + dist * d, centre, _picture_up(d, roll_deg), focal, SEARCH_SIZE),
                  dark_back=True)


def _candidates(surface: ScanSurface, coarse: ScanSurface, roll_deg: float, search: str):
    """Fitted face candidates, search direction by direction (detections in pictures of the coarse copy, read
    in a zoomed full-resolution picture), each direction's best fit first. Their fit is only a start: from a
    35°-off view it can be poor (residual 10-20 mm) even for the right face, so every candidate the mesh model
    calls a face is refined, and the refinement decides."""
    from ..photo.face_detect import detect_faces

    for d, k in ((d, k) for d in search_directions() for k in range(4)):  # rendered as needed: the search
        view = _search_view(coarse, d, roll_deg + 90.0 * k)                # usually ends in the first picture
        if not np.isfinite(view.depth).any():
            continue
        fits = [_read_face(zoomed[0], surface, zoomed[1])
                for box in detect_faces(view.image, search=search)[:CANDIDATES]
                if (zoomed := _zoom(surface, coarse, view, box)) is not None]
        yield from sorted((f for f in fits if f is not None), key=lambda f: -f.confidence)


def _zoom(surface: ScanSurface, coarse: ScanSurface, view: ScanView, box) -> tuple[ScanView, object] | None:
    """A full-resolution picture from the search picture's direction, centred on a detected face, zoomed so
    it fills ZOOM_FILL of the picture (a head with shoulders shows its face small in the search) and rolled so
    the detection's eye line is level, with the face box found in it; None when the detection does not lie on
    the scan or is not found again. Levelling matters: quarter turns leave faces rolled by up to 45°, which the
    detector finds in the small search picture but can miss when zoomed (a turned scan lost its face this way)."""
    from ..photo.face_detect import detect_faces

    cam = view.camera
    centre, _ = back_project(view, coarse, np.array([box.center]))
    if not np.isfinite(centre).all():
        return None
    rot = np.asarray(cam.world_to_camera)[:3, :3]
    depth = float((centre[0] - cam.center) @ rot[2])
    size = max(box.width, box.height) * depth / float(cam.K[0, 0])  # the box's side on the scan
    dist = ZOOM_DISTANCE * size
    eye_line = box.keypoints[1] - box.keypoints[0]  # subject's right eye -> left eye: picture +x when upright
    right = eye_line @ rot[:2] if np.linalg.norm(eye_line) > 0 else rot[0]
    right = right / np.linalg.norm(right)
    up = -np.cross(rot[2], right)
    zcam = look_at(centre[0] - dist * rot[2], centre[0], up, ZOOM_FILL * FRONT_SIZE * dist / size, FRONT_SIZE)
    zview = render(surface, zcam, dark_back=True)
    boxes = detect_faces(zview.image, search="whole")
    mid = np.array([(FRONT_SIZE - 1) / 2] * 2)
    if not boxes:
        return zview, _levelled_box(box, mid)
    return zview, min(boxes, key=lambda b: np.linalg.norm(np.array(b.center) - mid))


def _levelled_box(box, mid: np.ndarray):
    """The search detection `box` as `_zoom` framed it: centred at `mid`, its long side ZOOM_FILL of the
    picture, eyes level. Used when the detector does not find the face again in the zoom: untextured faces under
    hair read weakly (a full head's face scored 0.59 in the search tile and nothing at 40 % of the zoom), and
    the face mesh's presence and the fit residual judge the candidate anyway."""
    from ..photo.face_detect import FaceBox

    scale = ZOOM_FILL * FRONT_SIZE / max(box.width, box.height)
    half = np.array([box.width, box.height]) * scale / 2
    kps = np.tile(mid, (6, 1))
    kps[0], kps[1] = mid + half * [-0.4, -0.3], mid + half * [0.4, -0.3]  # subject's right eye, left eye
    return FaceBox(np.concatenate([mid - half, mid + half]), kps, box.score)


def frontal_view(surface: ScanSurface, frame: FaceFrame, size: int = FRONT_SIZE, yaw_deg: float = 0.0,
                 pitch_deg: float = 0.0, shading: str = "lambert") -> tuple[ScanView, object]:
    """A render from `frontal_camera` and the face box the frame predicts in it (FaceKit's mean face projected,
    MediaPipe's landmarks-to-ROI tracking step), for `face_mesh.face_landmarks`."""
    cam = frontal_camera(frame, size, yaw_deg, pitch_deg)
    uv, _ = cam.project(frame.from_canonical(canonical_points()[0]))
    return render(surface, cam, shading), roi_box(uv)


def roi_box(points_xy: np.ndarray):
    """A FaceBox whose ROI (`face_mesh.face_roi`) covers the projected 468 points: their box, with the eye
    keypoints at the projected eye centres (MediaPipe's corners 33/133 and 263/362)."""
    from ..photo.face_detect import FaceBox

    lo, hi = points_xy.min(0), points_xy.max(0)
    kps = np.zeros((6, 2))
    kps[0], kps[1] = points_xy[[33, 133]].mean(0), points_xy[[263, 362]].mean(0)
    return FaceBox(np.concatenate([lo, hi]), kps, 1.0)


def refine_frame(surface: ScanSurface, frame: FaceFrame, steps: int = REFINE_STEPS) -> FaceFrame:
    """Iterate: render straight at the face, read the mesh in the ROI the frame predicts, re-fit. A frontal
    full-resolution view reads far better than an oblique search picture; the frames it gives still jitter by
    ~0.5° (nearly equal renders, slightly different points), which `settle_frame` removes."""
    for _ in range(steps):
        view, box = frontal_view(surface, frame)
        new = _read_face(view, surface, box)
        if new is None or new.confidence < min(frame.confidence, MIN_CONFIDENCE):
            break
        frame = new
    return frame


def rescaled_check(surface: ScanSurface, frame: FaceFrame) -> FaceFrame:
    """The frame, or the one refined from it with the face assumed RESCALE_CHECK times larger, when that reads
    better. A refinement can settle on half the face: a render framed for a face half the size shows its middle
    filling the picture, which the face mesh reads as a whole face (synthetic full heads with colours, turned:
    scale 0.55, confidence 0.47 and accepted, while the whole face read 0.75). The other way needs no check: a
    render framed for a face twice the size shows the whole face, small, and the next fit finds its size. Only
    frames between MIN_CONFIDENCE and SURE_CONFIDENCE are checked (one more refinement; not the many non-faces a
    search reads on the way)."""
    if not MIN_CONFIDENCE <= frame.confidence < SURE_CONFIDENCE:
        return frame
    mid = canonical_points()[0].mean(0)
    scale = frame.scale * RESCALE_CHECK  # about the face, not the ears
    start = replace(frame, scale=scale, centre=frame.from_canonical(mid) - scale * frame.rotation @ mid)
    other = refine_frame(surface, start)
    return other if other is not start and other.confidence > frame.confidence else frame


@lru_cache(maxsize=1)
def canonical_face_surface() -> np.ndarray:
    """FaceKit's mean facial skin (the `spa` region: forehead to chin, cheek to cheek), metres."""
    fk = load_facekit()
    return fk.template[fk.spa]


def settle_frame(surface: ScanSurface, frame: FaceFrame, iterations: int = SETTLE_ITERATIONS) -> FaceFrame:
    """The frame moved to where FaceKit's mean facial skin fits the scan's surface best: a similarity ICP in
    which each mean-face point is matched to the foot of its perpendicular on the tangent plane of its nearest
    scan vertex (point-to-plane), Gaussian-weighted by that distance (SETTLE_SIGMA_MM), each step a weighted
    Umeyama fit, run until the step is negligible. The optimum is a function of the surface alone near the
    start, so frames that differ by the face mesh's jitter end at the same one. Measured from 8 starts
    1.5°/2 mm/3 % apart (docs/landmarks.md, "Face search sweep"): the earlier fit (matched to the vertices
    themselves, 30 steps) had not converged and ended 0.9-2.4° apart on real scans; this one within
    0.02-0.12°. Matching planes, not vertices, also keeps a sparse scan's face from being pulled inwards (a
    synthetic head decimated to 5k: scale -8 %, the wrong unit). Gauss-Newton steps converged faster but slid
    off from one start in four (14°). The vertices are matched again only every SETTLE_REMATCH steps and
    before stopping, so it ends where matching every step ends at a third of a step's cost (session 11:
    within 0.03° on six real and synthetic scans at the same tolerance); part of that is spent on a tighter
    tolerance: on pre-settle frames of 4 Artec and 3 synthetic scans it ends within 0.02° of the converged
    end (matching every step to 1e-3 mm: up to 0.57°, p17_wacky) in 0.5-1.3x the old time (p02 subdivided to
    100k vertices: 0.20 -> 0.12 CPU-s). Rotation, centre and scale change; the confidence and residual of the
    face fit are kept."""
    from scipy.spatial import cKDTree

    src = canonical_face_surface()
    origin = surface.vertices.mean(0)
    tree = cKDTree(surface.vertices - origin)
    rot, t, s = frame.rotation, frame.centre - origin, frame.scale
    since_match = SETTLE_REMATCH
    cur = s * src @ rot.T + t
    for _ in range(iterations):
        sigma = SETTLE_SIGMA_MM * 1e-3 * s
        matched = since_match >= SETTLE_REMATCH
        if matched:
            d, idx = tree.query(cur)
            p, n, near, since_match = tree.data[idx], surface.normals[idx], d < 3 * sigma, 0
        since_match += 1
        off = np.einsum("ij,ij->i", cur - p, n)
        w = np.exp(-0.5 * (off / sigma) ** 2) * near
        if w.sum() < 20:  # the mean face is nowhere near the surface: keep what we have
            break
        s_new, rot_new, t_new = umeyama(src, cur - off[:, None] * n, w)
        new = s_new * src @ rot_new.T + t_new
        moved = np.abs(new - cur).max() / s
        s, rot, t, cur = s_new, rot_new, t_new, new
        if moved < SETTLE_TOLERANCE_MM * 1e-3:
            if matched:  # still there with freshly matched vertices: converged
                break
            since_match = SETTLE_REMATCH
    return FaceFrame(rot, t + origin, float(s), frame.confidence, frame.residual_mm, frame.score)


def find_face_frame(vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray | None = None,
                    uv: np.ndarray | None = None, texture: np.ndarray | None = None,
                    surface: ScanSurface | None = None, progress: Progress | None = None) -> FaceFrame | None:
    """The face frame of a triangle mesh in any orientation and unit (module doc), or None when no view shows a
    face the canonical face fits. Pass `surface` to reuse one already built. `progress(fraction, stage)` is
    called before each search pass and candidate view (core/progress.py: where a run can be cancelled)."""
    surface = surface or ScanSurface.of(vertices, faces, colors, uv, texture)
    if len(surface.faces) == 0:
        return None
    frame = _search(surface, progress, "finding the face")
    if frame is None and surface.has_appearance:  # colours that hide the face: read its shape instead
        frame = _search(shape_only(surface), progress, "finding the face by its shape")
        frame = replace(frame, colours_ignored=True) if frame is not None else None
    return frame


def shape_only(surface: ScanSurface) -> ScanSurface:
    """`surface` without its colours or texture: rendered in the shading that brings out geometry."""
    return replace(surface, colors=None, uv=None, texture=None)


def _search(surface: ScanSurface, progress: Progress | None, stage: str) -> FaceFrame | None:
    """Steps 1-4 of the module doc on `surface` as it renders; None when no face reaches MIN_CONFIDENCE."""
    coarse = coarse_copy(surface, SEARCH_CELLS)
    best = None
    passes = ((0.0, "whole"), (45.0, "whole"), (0.0, "tiles"))
    for i, (roll, search) in enumerate(passes):  # later passes only while no frame
        if progress is not None:
            progress(i / len(passes), stage)
        for start in _candidates(surface, coarse, roll, search):
            if progress is not None:
                progress((i + 0.5) / len(passes), stage)
            if start.score < SEARCH_MIN_PRESENCE:
                continue
            frame = rescaled_check(surface, refine_frame(surface, start))
            if best is None or frame.confidence > best.confidence:
                best = frame
            if best.confidence >= ACCEPT_CONFIDENCE:
                break
        if best is not None and best.confidence >= MIN_CONFIDENCE:
            break
    return settle_frame(surface, best) if best is not None and best.confidence >= MIN_CONFIDENCE else None
