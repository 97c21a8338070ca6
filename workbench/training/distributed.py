"""Running one project on several processes under `torchrun` (DistributedDataParallel).

`torchrun --nproc_per_node=N -m workbench train project.wbproj` starts N copies of the
command with RANK / WORLD_SIZE / LOCAL_RANK set. Each process joins a process group
(nccl on CUDA, gloo on the CPU), trains on its shard of every epoch (DistributedSampler:
the same seeded permutation everywhere, one slice per rank), and the gradients are
averaged by DDP. Metrics are sums all-reduced over ranks, so every rank reports the
figures of the whole data set; rank 0 alone writes the run folder and prints.

The batch size is per process: N processes take N x batch_size samples per step.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["DistInfo", "detect", "init", "shutdown", "wrap", "all_reduce_sum", "any_rank"]


@dataclass(frozen=True)
class DistInfo:
    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


SINGLE = DistInfo()


def detect(environ=None) -> DistInfo:
    """Read torchrun's environment; a plain single process when it is not set."""
    env = os.environ if environ is None else environ
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local_rank = int(env.get("LOCAL_RANK", "0"))
        local_world = int(env.get("LOCAL_WORLD_SIZE", str(world)))
    except ValueError:
        return SINGLE
    if world <= 1:
        return SINGLE
    return DistInfo(world, rank, local_rank, local_world)


def init(info: DistInfo, device: torch.device, timeout_s: float = 600.0) -> None:
    """Join the process group (idempotent)."""
    if not info.enabled or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    kwargs = {"device_id": device} if device.type == "cuda" else {}
    dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s), **kwargs)


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: nn.Module, info: DistInfo, device: torch.device, find_unused: bool = False) -> nn.Module:
    """DDP around the model (`find_unused`: some outputs take no part in the loss)."""
    if not info.enabled:
        return model
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=find_unused)


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum in place over every rank (a no-op in a single process)."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank when it is true on any (how a stop request is agreed on)."""
    if not (dist.is_available() and dist.is_initialized()):
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)
