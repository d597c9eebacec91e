"""How far the photo pipeline trusts the detector's points beyond the parametric fit, from the head's pose.

Two stages follow the detections more closely than FaceKit's prior would: the ARKit units read from the mesh's
geometry (`expressions`) and the landmark correction (`detail`). Both assume the detected 468 points are where
the face is. On frontal faces they are (London studio portraits: the detector's mapped points score 2.0 % NME,
the read-out recovers 91 % of smiles); on turned heads MediaPipe's points drift along the surface (its far-side
contours and lip corners are guessed) and lifting them into model space at the fitted depth turns those 2D errors
into 3D ones: on synthetic portraits (yaw up to ±40°) both stages made shape and expression worse (false smiles
up to 0.9 on turned heads, vertex error 2.39 -> 3.15 mm on 27 views). So their effect is scaled by `pose_trust`:
1 up to FULL_TRUST_DEG between the face's forward direction and the camera ray, falling linearly to 0 at
NO_TRUST_DEG, where the result is the joint fit's. The ramp is chosen on synthetic validation portraits (seeds
900,000-900,031; docs/photo.md round 3): with the regressor's identity kept by the fit, full trust up to 8, 10
or 12° cost the same there (2.10-2.11 mm, neutral mouthSmile 0.050 on 18 views; 12-24° 2.12 mm / 0.061), and
the London portraits of the even-numbered people (allowed for choosing) sit at up to 8.5° with the kept
identity (3.6° median before it), so 12° keeps their full trust with a margin.
"""
from __future__ import annotations

import numpy as np

FULL_TRUST_DEG = 12.0
NO_TRUST_DEG = 20.0
#: the face's forward direction in FaceKit's model space (Blender axes: the face looks along −Y)
FORWARD = np.array([0.0, -1.0, 0.0])


def turn_angle_deg(rotation: np.ndarray, translation: np.ndarray) -> float:
    """Angle (degrees) between the face's forward direction and the direction from the face to the camera;
    `rotation` maps model to OpenCV camera space, `translation` is the model origin in the camera."""
    forward = np.asarray(rotation, np.float64) @ FORWARD
    to_camera = -np.asarray(translation, np.float64)
    cos = forward @ to_camera / max(np.linalg.norm(to_camera), 1e-12)
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def pose_trust(rotation: np.ndarray, translation: np.ndarray) -> float:
    """1 for a face turned at most FULL_TRUST_DEG from the camera, 0 beyond NO_TRUST_DEG, linear between."""
    angle = turn_angle_deg(rotation, translation)
    return float(np.clip((NO_TRUST_DEG - angle) / (NO_TRUST_DEG - FULL_TRUST_DEG), 0.0, 1.0))
