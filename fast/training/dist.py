"""Distributed training (``torchrun``): the process group, the ranks, and what they share.

Every process is a rank with its own data stream; DistributedDataParallel averages gradients;
rank 0 alone writes the run folder and decides what concerns it (:meth:`Dist.from_main`); an
error every rank reaches at the same point is marked so every rank prints it
(:func:`on_every_rank`); :func:`shutdown_distributed` leaves the group on every way out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from sharpvid.fast.devices import resolve_device


@dataclass
class Dist:
    """This process's place among the ranks of a ``torchrun`` run (one rank without)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    def from_main(self, value):
        """Rank 0's ``value`` on every rank (a picklable object; the others' is ignored): rank
        0 decides what concerns the run folder, and every rank acts on the same decision."""
        if self.world <= 1:
            return value
        holder = [value]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]

    def mean_to_host(self, values: dict[str, torch.Tensor]) -> dict[str, float]:
        """A step's values as floats, averaged over ranks: one device->host copy (the only
        synchronisation of a step)."""
        stacked = torch.stack([v.detach().float().reshape(()) for v in values.values()])
        if self.world > 1:
            dist.all_reduce(stacked)
            stacked /= self.world
        return dict(zip(values, stacked.cpu().tolist()))

    def any_rank(self, flag: bool, device) -> bool:
        """Whether ``flag`` holds on any rank (a stop asked of one rank stops them all)."""
        if self.world == 1:
            return flag
        total = torch.tensor([1.0 if flag else 0.0], device=device)  # NCCL: on the GPU
        dist.all_reduce(total)
        return bool(total.item() > 0)


def init_distributed(device_spec: str) -> tuple[Dist, torch.device]:
    """torchrun's environment -> the process group (NCCL on CUDA, gloo on the CPU) and the device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), resolve_device(device_spec)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_spec)
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        # DistributedDataParallel's constructor imports torch._dynamo.  Imported after the
        # group exists, dynamo keeps references to it (torch 2.13), so destroy_process_group()
        # cannot free it: gloo's loop and work threads then run until the interpreter tears
        # the group down at exit, where ranks aborted at random ("terminate called without an
        # active exception", SIGABRT).  Imported first, it never sees the group.
        import torch._dynamo  # noqa: F401

        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Dist(rank, world, local), device


def on_every_rank(exc: Exception) -> Exception:
    """Mark an error that every rank raises at the same point (a decision rank 0 broadcast, or
    one taken on all-reduced values): ``sharpvid train`` then has every rank print it before any
    exits."""
    exc.every_rank = True
    return exc


def shutdown_distributed(*, synchronise: bool) -> None:
    """Leave the process group, on every path out of a distributed run.

    ``synchronise`` (a run that ended normally, every rank alike): a barrier first, so no rank
    tears its connections down while another is still in the last collective (the last
    checkpoint's).  After an error or Ctrl-C another rank may be gone: no barrier.  Then
    ``destroy_process_group()`` and a garbage collection, so the group's C++ threads are joined
    now, while the interpreter is whole, not during its teardown (see :func:`init_distributed`).
    """
    import gc

    if not (dist.is_available() and dist.is_initialized()):
        return
    try:
        if synchronise:
            dist.barrier()
    finally:
        dist.destroy_process_group()
        gc.collect()
