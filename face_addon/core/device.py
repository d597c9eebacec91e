"""The torch device and thread count chosen in the user's preferences, kept for every model loader to read.

The operators apply the 'Compute Device' and 'Threads' preferences with `configure()` before a pipeline runs;
whoever builds a network (core.models, the pipelines) puts it on `current_device()`. Keeping the choice here,
rather than passing it through every pipeline signature, means one reader and one rule: a device torch does
not see on this machine falls back to the CPU (a preference saved on a GPU machine must not break a CPU-only
one). Torch is imported lazily: listing devices or registering the add-on must not pay torch's import time.
"""
from __future__ import annotations

_chosen: str = "cpu"  # the device name configure() last settled on; the CPU until a preference is applied


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
    """Apply the thread count (0 = torch's default), remember the device for `current_device()` and return it:
    the requested one when torch sees it here, else the CPU."""
    import torch

    global _chosen
    if threads > 0:
        torch.set_num_threads(threads)
    requested = device.lower()
    _chosen = requested if requested in available_devices() else "cpu"
    return torch.device(_chosen)


def current_device() -> "torch.device":  # noqa: F821 (lazy torch)
    """The device networks should run on: the last `configure()` result, the CPU when none was made."""
    import torch

    return torch.device(_chosen)
