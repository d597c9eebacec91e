"""The torch device and thread count chosen in the user's preferences, kept for every network to run on.

The operators apply the 'Compute Device' and 'Threads' preferences with `configure()` before a pipeline runs;
the pipelines move a network to `current_device()` with `place()` right before running it (Segment Skin's
DiffusionNet and image encoder, the 2S-SGCN landmark network). Keeping the choice here, rather than passing it
through every pipeline signature, means one reader and one rule: a device torch does not see on this machine
falls back to the CPU (a preference saved on a GPU machine must not break a CPU-only one).

Only CUDA is offered besides the CPU: DiffusionNet and 2S-SGCN multiply sparse matrices, which Apple's MPS
backend does not implement. The photo fit stays on the CPU whatever the choice: its tensors are tiny and it
runs single-threaded on purpose (core/photo/fit.py). Torch is imported lazily: listing devices or registering
the add-on must not pay torch's import time.
"""
from __future__ import annotations

_chosen: str = "cpu"  # the device name configure() last settled on; the CPU until a preference is applied


def available_devices() -> list[str]:
    """The supported devices torch can use here, CPU first ('cuda' only when torch sees a GPU)."""
    import torch

    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def configure(device: str = "cpu", threads: int = 0) -> "torch.device":  # noqa: F821 (lazy torch)
    """Apply the thread count (0 = torch's default), remember the device for `current_device()` and return it:
    the requested one when it is supported and torch sees it here, else the CPU."""
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


def place(module: "torch.nn.Module") -> "torch.device":  # noqa: F821 (lazy torch)
    """Move `module` to `current_device()` (nothing to do when it is there already) and return that device, for
    the caller to put the inputs on; results come back with `.cpu()`."""
    device = current_device()
    module.to(device)
    return device
