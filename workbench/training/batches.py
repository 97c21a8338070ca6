"""Batches for one epoch, on the training device.

The order of every epoch comes from a `DistributedSampler` seeded with the run's seed
(also in a single process, where it is a plain seeded permutation), so an epoch's batches
depend only on (seed, epoch, rank): a resumed run sees the same batches as one that never
stopped, and skipping the batches already done mid-epoch is exact.

Small in-memory sets (`DataBundle.train_tensors`) are indexed directly, with no
DataLoader; on CUDA they are moved to the GPU whole when they take under a quarter of its
free memory. Other sets go through a DataLoader (pinned memory on CUDA, non-blocking
copies, persistent workers).
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from workbench.training.device import DevicePlan, cpu_threads, tensors_fit_on_device
from workbench.training.distributed import DistInfo
from workbench.training.failures import DataReadError

__all__ = ["BatchSource"]


class _Sized:
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


class _ListSampler(Sampler):
    """Yields whatever index list it was last given (the loader's workers live across epochs)."""

    def __init__(self) -> None:
        self.indices: list[int] = []

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


class BatchSource:
    def __init__(self, split: str, dataset: Dataset, tensors: tuple | None, batch_size: int, plan: DevicePlan,
                 target_dtype: torch.dtype, shuffle: bool, seed: int, dist: DistInfo, num_workers="auto") -> None:
        self.split = split
        self.batch_size = batch_size
        self.device = plan.device
        self.target_dtype = target_dtype
        self.shuffle = shuffle
        self.dist = dist
        n = len(tensors[1]) if tensors is not None else len(dataset)
        self.size = n
        if shuffle:
            self.sampler = DistributedSampler(_Sized(n), num_replicas=dist.world_size, rank=dist.rank,
                                              shuffle=True, seed=seed, drop_last=False)
            self.shard = len(self.sampler)
        else:  # evaluation: every sample exactly once over all ranks, no padding
            self.sampler = None
            self.shard = len(range(dist.rank, n, dist.world_size))
        self.loader = None
        self.tensors = None
        if tensors is not None:
            inputs, targets = tensors
            inputs = tuple(inputs)
            targets = targets.to(target_dtype)
            if tensors_fit_on_device((*inputs, targets), self.device):
                inputs = tuple(t.to(self.device) for t in inputs)
                targets = targets.to(self.device)
            self.tensors = (inputs, targets)
        else:
            workers = _workers(num_workers, dist)
            self._indices = _ListSampler()
            self.loader = DataLoader(
                dataset, batch_size=batch_size, sampler=self._indices, num_workers=workers,
                pin_memory=plan.pin_memory, persistent_workers=workers > 0,
                generator=torch.Generator().manual_seed(seed),
            )

    def __len__(self) -> int:
        """Batches per epoch on this rank."""
        return -(-self.shard // self.batch_size)

    @property
    def samples(self) -> int:
        """Samples per epoch on this rank."""
        return self.shard

    def indices(self, epoch: int) -> list[int]:
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)
            return list(self.sampler)
        return list(range(self.dist.rank, self.size, self.dist.world_size))

    def batches(self, epoch: int, skip: int = 0):
        """Yields (inputs tuple, target, count) for `epoch`, starting after `skip` batches."""
        order = self.indices(epoch)[skip * self.batch_size:]
        if self.tensors is not None:
            return self._tensor_batches(order)
        return self._loader_batches(order)

    def _tensor_batches(self, order: list[int]):
        inputs, targets = self.tensors
        device = self.device
        bs = self.batch_size
        index = torch.tensor(order, dtype=torch.long, device=targets.device)
        on_device = targets.device == device
        for start in range(0, len(order), bs):
            idx = index[start:start + bs]
            xs = tuple(t.index_select(0, idx) for t in inputs)
            y = targets.index_select(0, idx)
            if not on_device:
                xs = tuple(t.to(device, non_blocking=True) for t in xs)
                y = y.to(device, non_blocking=True)
            yield xs, y, idx.shape[0]

    def _loader_batches(self, order: list[int]):
        self._indices.indices = order
        device, dtype = self.device, self.target_dtype
        iterator = iter(self.loader)
        while True:
            try:
                inputs, target = next(iterator)
            except StopIteration:
                return
            except Exception as exc:  # whatever the dataset raised: a vanished file, a corrupt one
                raise DataReadError(self.split, exc) from exc
            if isinstance(inputs, torch.Tensor):
                inputs = (inputs,)
            xs = tuple(t.to(device, non_blocking=True) for t in inputs)
            y = target.to(device, dtype=dtype, non_blocking=True)
            yield xs, y, y.shape[0]


def _workers(setting, dist: DistInfo) -> int:
    if setting != "auto":
        return int(setting)
    threads = cpu_threads(dist.local_world_size)
    return 0 if threads <= 2 else min(4, threads // 2)
