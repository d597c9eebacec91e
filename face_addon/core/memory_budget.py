"""Memory estimates that refuse a setting before it runs the machine out of memory. No bpy.

Segment Skin's network mesh size is the one setting whose cost grows without bound: its spectral operators
(eigenbasis, gradients) and DiffusionNet activations scale with the number of network vertices, and a hostile
sweep saw 2,000,000 vertices grow to 9.7 GB with no result after 300 s. `max_network_vertices` caps the size
by the memory this machine has available now; `check_network_vertices` turns a request above it into a clear
refusal instead of a swapping machine.
"""
from __future__ import annotations

from pathlib import Path

from .errors import UserError

#: peak resident bytes per network vertex of Segment Skin: `/usr/bin/time -v face segment` of a 163,842-vertex
#: icosphere (geometry-only model, one thread) peaked at 0.90 GB with 20,000 and 1.49 GB with 80,000 network
#: vertices, i.e. 9.8 kB per vertex above the fixed cost; rounded up for larger scans and the image branch
SEGMENT_BYTES_PER_VERTEX = 12_000
#: the largest network mesh offered at all (the operator's maximum), whatever the memory
SEGMENT_HARD_MAX = 500_000
#: share of the available memory one run may plan to use (the rest stays for Blender and the user)
MEMORY_SHARE = 0.5


def available_memory_bytes() -> int | None:
    """MemAvailable of /proc/meminfo (Linux), else None (no estimate possible: only the hard maximum holds)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def max_network_vertices(available: int | None = None) -> int:
    """The largest Segment Skin network mesh that fits MEMORY_SHARE of the available memory (and the hard max)."""
    available = available_memory_bytes() if available is None else available
    if available is None:
        return SEGMENT_HARD_MAX
    return int(min(SEGMENT_HARD_MAX, MEMORY_SHARE * available // SEGMENT_BYTES_PER_VERTEX))


def check_network_vertices(n: int, available: int | None = None) -> int:
    """`n` when a network mesh of n vertices fits in memory; UserError with the estimate otherwise."""
    cap = max_network_vertices(available)
    if n > cap:
        need_gb = n * SEGMENT_BYTES_PER_VERTEX / 1e9
        raise UserError(f"{n} network vertices would need about {need_gb:.1f} GB of memory; this machine allows "
                        f"at most {cap} now (fewer vertices are faster and lose little accuracy)")
    return n
