"""Operators, one per file; CLASSES lists them in registration order."""
from .add_face_model import FACE_OT_add_face_model
from .check_mesh import FACE_OT_check_mesh
from .facekit_identity import FACE_OT_randomize_face, FACE_OT_reset_face
from .info import FACE_OT_info

CLASSES = (FACE_OT_info, FACE_OT_check_mesh, FACE_OT_add_face_model, FACE_OT_randomize_face, FACE_OT_reset_face)
