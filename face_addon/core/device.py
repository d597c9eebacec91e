"""Choosing the torch device and thread count from the user's preferences.

Torch is imported lazily: listing devices or registering the add-on must not pay torch's import time.
"""
from __future__ import annotations


def available_devices() -> list[str]:
    """Devices torch can use here, CPU first ('cuda' / 'mps' only when torch sees one)."""
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def configure(device: str = "cpu", threads: int = 0) -> "torch.device":  # noqa: F821 (lazy torch)
    """Apply the thread count (0 = torch's default) and return the torch device, falling back to CPU with a
    clear error if the requested accelerator is not present."""
    import torch

    if threads > 0:
        torch.set_num_threads(threads)
    device = device.lower()
    if device not in available_devices():
        raise RuntimeError(f"compute device '{device}' is not available here; available: {available_devices()}")
    return torch.device(device)
