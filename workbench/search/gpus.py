"""Where each local worker of a sweep runs: its CPU threads and, with several GPUs, its own GPU.

Worker i sees one device through CUDA_VISIBLE_DEVICES (the i-th of those this process may
use, round robin), so `device: auto` in each worker means a different GPU and no two
trials share one. With one GPU or none, the workers share what there is and split the
CPU cores between them.
"""

from __future__ import annotations

import os

__all__ = ["visible_gpus", "worker_environments"]


def visible_gpus() -> list[str]:
    """The GPU ids this process may hand out (CUDA_VISIBLE_DEVICES' entries, else 0..N-1)."""
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        ids = [part.strip() for part in listed.split(",") if part.strip()]
        return ids[:count] if count else []
    return [str(i) for i in range(count)]


def worker_environments(workers: int) -> list[dict]:
    """One environment per worker process; "_THREADS" holds its CPU thread count (pop it)."""
    from workbench.training.device import cpu_threads

    gpus = visible_gpus()
    threads = cpu_threads(workers)
    envs = []
    for i in range(workers):
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "_THREADS": threads}
        if len(gpus) > 1:
            env["CUDA_VISIBLE_DEVICES"] = gpus[i % len(gpus)]
        envs.append(env)
    return envs
