"""Operators, one per file; CLASSES lists them in registration order."""
from .add_face_model import FACE_OT_add_face_model
from .bake_face_edit import FACE_OT_bake_face_edit
from .check_mesh import FACE_OT_check_mesh
from .detect_landmarks import FACE_OT_detect_landmarks, FACE_OT_export_landmarks
from .edit_face import FACE_OT_edit_face
from .facekit_identity import FACE_OT_randomize_face, FACE_OT_reset_face
from .info import FACE_OT_info
from .reconstruct_photo import FACE_OT_reconstruct_photo
from .register_head import FACE_OT_register_head
from .reset_face_edit import FACE_OT_reset_face_edit
from .segment_skin import FACE_OT_segment_skin

CLASSES = (FACE_OT_info, FACE_OT_check_mesh, FACE_OT_add_face_model, FACE_OT_randomize_face, FACE_OT_reset_face,
           FACE_OT_edit_face, FACE_OT_bake_face_edit, FACE_OT_reset_face_edit, FACE_OT_detect_landmarks,
           FACE_OT_export_landmarks, FACE_OT_reconstruct_photo, FACE_OT_segment_skin, FACE_OT_register_head)
