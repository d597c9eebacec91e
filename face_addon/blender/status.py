"""Text about the installation (versions, device, capability readiness) shared by `face info` and the UI."""
from __future__ import annotations

import platform
import sys

import bpy
import numpy as np

from .. import __version__
from ..core.capabilities import CAPABILITIES


def info_lines(with_torch: bool = True) -> list[str]:
    """One line per fact. Importing torch costs seconds, so the UI passes with_torch=False."""
    lines = [
        f"face_addon {__version__}",
        f"Blender {bpy.app.version_string}, Python {platform.python_version()}, numpy {np.__version__}",
    ]
    if with_torch:
        try:
            import torch

            from ..core.device import available_devices

            lines.append(f"torch {torch.__version__}, devices: {', '.join(available_devices())}, "
                         f"threads: {torch.get_num_threads()}")
        except ImportError as exc:
            lines.append(f"torch not importable ({exc}); learned capabilities are unavailable")
    elif "torch" in sys.modules:
        lines.append(f"torch {sys.modules['torch'].__version__}")
    for cap in CAPABILITIES:
        lines.append(f"{cap.label}: {cap.status()}" + (f" ({cap.caveat})" if cap.caveat else ""))
    return lines
