"""Photo → 3D face: reading photos, the MediaPipe-derived face detector and mesh (torch), and FaceKit fitting.

Importing the package is cheap (no torch); the modules load what they need.
"""
from __future__ import annotations


class PhotoError(ValueError):
    """A user-facing problem with a photo (unreadable, too large, no face): the message says what to do."""
