"""Operators, one per file; CLASSES lists them in registration order."""
from .check_mesh import FACE_OT_check_mesh
from .info import FACE_OT_info

CLASSES = (FACE_OT_info, FACE_OT_check_mesh)
