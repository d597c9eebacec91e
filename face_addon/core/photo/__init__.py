"""Photo → 3D face: reading photos, the MediaPipe-derived face detector and mesh (torch), and FaceKit fitting.

Importing the package is cheap (no torch); the modules load what they need.
"""
from __future__ import annotations

from ..errors import PhotoError  # defined with the other user errors; imported from here too

__all__ = ["PhotoError"]
