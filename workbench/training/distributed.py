"""Running one project on several processes under `torchrun` (DistributedDataParallel).

`torchrun --nproc_per_node=N -m workbench train project.wbproj` starts N copies of the
command with RANK / WORLD_SIZE / LOCAL_RANK set. Each process joins a process group
(nccl on CUDA, gloo on the CPU), trains on its shard of every epoch (DistributedSampler:
the same seeded permutation everywhere, one slice per rank), and the gradients are
averaged by DDP. Metrics are sums all-reduced over ranks, so every rank reports the
figures of the whole data set; rank 0 alone writes the run folder and prints.

The batch size is per process: N processes take N x batch_size samples per step.

`training.strategy: fsdp` shards instead of replicating (torch.distributed.fsdp.fully_shard,
FSDP2): each node's module and then the whole model, so parameters, gradients and
optimizer state are split over the ranks. Checkpoints hold the full state, gathered to
rank 0 with every rank taking part (`model_state`, `optimizer_state`): best.pt and final.pt
are plain state dicts whichever strategy wrote them (the optimizer state is keyed by
parameter name, so a sharded run resumes sharded). A sharded forward is a collective, so
every rank makes as many validation forwards as the busiest (`even_out_forwards`).
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["DistInfo", "detect", "init", "shutdown", "wrap", "all_reduce_sum", "any_rank", "is_sharded",
           "model_state", "optimizer_state", "load_optimizer_state", "even_out_forwards"]


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


def wrap(model: nn.Module, info: DistInfo, device: torch.device, find_unused: bool = False,
         strategy: str = "ddp") -> nn.Module:
    """DDP around the model (`find_unused`: some outputs take no part in the loss), or with
    strategy "fsdp" the model itself sharded in place."""
    if not info.enabled:
        return model
    if strategy == "fsdp":
        return _shard(model)
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


def _shard(model: nn.Module) -> nn.Module:
    from torch.distributed.fsdp import fully_shard

    for child in model.children():  # one unit per node with parameters: gathered only while it runs
        if any(True for _ in child.parameters()):
            fully_shard(child)
    fully_shard(model)
    return model


def is_sharded(model: nn.Module) -> bool:
    if not (dist.is_available() and dist.is_initialized()):
        return False
    from torch.distributed.fsdp import FSDPModule

    return isinstance(model, FSDPModule)


def _full():
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, cpu_offload=True)  # the whole state, on rank 0 only


def model_state(model: nn.Module) -> dict:
    """The model's state dict; sharded, a collective: every rank must call it (rank 0 gets it all)."""
    if not is_sharded(model):
        return model.state_dict()
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    return get_model_state_dict(model, options=_full())


def optimizer_state(model: nn.Module, optimizer) -> dict:
    if not is_sharded(model):
        return optimizer.state_dict()
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

    return get_optimizer_state_dict(model, optimizer, options=_full())


def load_optimizer_state(model: nn.Module, optimizer, state: dict) -> None:
    """Every rank read the same full checkpoint; sharded, each keeps its own slice."""
    if not is_sharded(model):
        optimizer.load_state_dict(state)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    set_optimizer_state_dict(model, optimizer, state, options=StateDictOptions(full_state_dict=True))


def even_out_forwards(model: nn.Module, done: int, inputs, device: torch.device) -> None:
    """Sharded: repeat the last forward until this rank has made as many as the busiest rank
    (validation shards may differ by one batch); its outputs are thrown away."""
    if not is_sharded(model):
        return
    most = torch.tensor([float(done)], device=device)
    dist.all_reduce(most, op=dist.ReduceOp.MAX)
    for _ in range(int(most.item()) - done):
        if inputs is not None:
            model(*inputs)
