"""Data-parallel training for a trainer's own loop: rank r of `world` processes (torch.distributed, gloo on CPU)
takes every world-th example of each global batch and the gradients are averaged before the optimiser step, so a
step of K workers is the step of one process on the whole batch (what DDP does, without wrapping the module:
checkpoints and exported weights keep their keys). Collective decisions (skip a batch, stop) are agreed by all
ranks so none waits forever in a collective the others left.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dist:
    rank: int
    world: int

    @property
    def leader(self) -> bool:
        """Rank 0 writes checkpoints, weights and progress."""
        return self.rank == 0

    def share(self, items):
        """This rank's part of a global batch."""
        return items[self.rank::self.world]

    def sync_parameters(self, net) -> None:
        """Every rank starts from rank 0's parameters and buffers."""
        import torch.distributed as td

        for t in list(net.parameters()) + list(net.buffers()):
            td.broadcast(t.data, src=0)

    def average_gradients(self, net) -> None:
        import torch.distributed as td

        for p in net.parameters():
            if p.grad is not None:
                td.all_reduce(p.grad)
                p.grad /= self.world

    def mean(self, value: float) -> float:
        import torch
        import torch.distributed as td

        t = torch.tensor([value], dtype=torch.float64)
        td.all_reduce(t)
        return float(t) / self.world

    def any(self, flag: bool) -> bool:
        import torch
        import torch.distributed as td

        t = torch.tensor([int(flag)])
        td.all_reduce(t, op=td.ReduceOp.MAX)
        return bool(t)
