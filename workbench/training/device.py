"""Where training runs, and with what precision.

`auto` picks CUDA, then Apple MPS, then the CPU. On CUDA, mixed precision (AMP) is on
by default: bfloat16 where the GPU supports it (no loss scaling needed), otherwise
float16 with a GradScaler. On the CPU and MPS AMP stays off unless asked for.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass

import torch

from workbench.training.config import ConfigError

__all__ = ["DevicePlan", "plan_device", "resolve_device", "cpu_threads", "tensors_fit_on_device",
           "MemoryInUse", "memory_in_use", "device_name", "format_bytes"]


@dataclass
class DevicePlan:
    device: torch.device
    amp_dtype: torch.dtype | None  # None: full precision
    use_scaler: bool
    pin_memory: bool
    notes: list[str]

    @property
    def amp_name(self) -> str:
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.amp_dtype, "off")

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def scaler(self) -> torch.amp.GradScaler:
        return torch.amp.GradScaler(self.device.type, enabled=self.use_scaler)


def resolve_device(name: str, local_rank: int | None = None) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank or 0)
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r}: CUDA is not available on this machine (use --device cpu or auto)")
        index = int(name.split(":")[1]) if ":" in name else (local_rank or 0)
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return torch.device("cuda", index)
    if name == "mps" and not _mps_available():
        raise ConfigError("device 'mps': Apple MPS is not available on this machine (use --device cpu or auto)")
    return torch.device(name)


def plan_device(name: str, amp, local_rank: int | None = None) -> DevicePlan:
    device = resolve_device(name, local_rank)
    notes: list[str] = []
    amp_dtype = None
    if device.type == "cuda":
        torch.cuda.set_device(device)
        if amp in ("auto", True, "bf16"):
            if torch.cuda.is_bf16_supported():
                amp_dtype = torch.bfloat16
            elif amp == "bf16":
                notes.append("this GPU has no bfloat16 support: using float16 with loss scaling")
                amp_dtype = torch.float16
            else:
                amp_dtype = torch.float16
        elif amp == "fp16":
            amp_dtype = torch.float16
    elif amp in (True, "bf16", "fp16"):
        amp_dtype = torch.float16 if amp == "fp16" and device.type == "mps" else torch.bfloat16
        if device.type == "cpu" and amp == "fp16":
            notes.append("float16 autocast is slow on the CPU: using bfloat16")
    use_scaler = device.type == "cuda" and amp_dtype == torch.float16
    return DevicePlan(device, amp_dtype, use_scaler, pin_memory=device.type == "cuda", notes=notes)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def cpu_threads(processes_per_machine: int = 1, reserve: int = 0) -> int:
    """Threads per process: the usable cores split between processes, minus `reserve`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, processes_per_machine) - reserve)


def tensors_fit_on_device(tensors, device: torch.device, fraction: float = 0.25) -> bool:
    """Whether a dataset's tensors take less than `fraction` of the device's free memory."""
    size = sum(t.numel() * t.element_size() for t in tensors)
    if device.type != "cuda":
        return True
    free, _total = torch.cuda.mem_get_info(device)
    return size <= fraction * free


@dataclass
class MemoryInUse:
    """What a device holds now: bytes in use, what that figure is, and (CUDA) the reserve."""

    used: int
    what: str  # "allocated" (CUDA, MPS), "resident" (this process) or "peak resident"
    reserved: int | None = None

    @property
    def text(self) -> str:
        extra = f" of {format_bytes(self.reserved)} reserved" if self.reserved is not None else ""
        return f"{format_bytes(self.used)} {self.what}{extra}"


def format_bytes(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def memory_in_use(device) -> MemoryInUse | None:
    """The memory training uses on `device` ("cuda:0", "cpu", a torch.device): CUDA and MPS
    count the tensors allocated there; the CPU, this process's resident memory (/proc on
    Linux, else the peak from getrusage). Cheap enough to call once a second; None when
    nothing can be read."""
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_available():
        index = device.index if device.index is not None else torch.cuda.current_device()
        return MemoryInUse(torch.cuda.memory_allocated(index), "allocated", torch.cuda.memory_reserved(index))
    if device.type == "mps" and _mps_available():
        return MemoryInUse(torch.mps.current_allocated_memory(), "allocated")
    return _resident_memory()


def _resident_memory() -> MemoryInUse | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return MemoryInUse(pages * os.sysconf("SC_PAGE_SIZE"), "resident")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return MemoryInUse(peak if sys.platform == "darwin" else peak * 1024, "peak resident")  # macOS: bytes, else KiB


def device_name(device) -> str:
    """How the dashboard names a device: "CPU", "Apple MPS", "cuda:0 · NVIDIA H100 80GB HBM3"."""
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_available():
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} · {torch.cuda.get_device_name(index)}"
    return {"cpu": "CPU", "mps": "Apple MPS"}.get(device.type, str(device))
