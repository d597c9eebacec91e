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
    """Apply the thread count (0 = torch's default) and return the torch device to use: the requested one when
    torch sees it here, else the CPU (a preference saved on a GPU machine must not break a CPU-only one)."""
    import torch

    if threads > 0:
        torch.set_num_threads(threads)
    device = device.lower()
    return torch.device(device if device in available_devices() else "cpu")
