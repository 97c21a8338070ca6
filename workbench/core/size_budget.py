"""The memory a model needs, counted from its graph before anything is allocated.

summarize() fills a Budget in the same pass that counts parameters (param_counts: layer
formulas, nothing built) and reads each node's output size from the inferred shapes. Training adds a gradient per trainable parameter and the
optimizer's state (Adam: two more copies). `workbench validate` and `summary` warn when
that nears the machine's memory; `train` and `export` refuse, naming the figure and the
node, instead of dying in the allocation (DESIGN.md §9).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from workbench.core.shapes import WARNING, Diagnostic

__all__ = ["Budget", "NodeCost", "available_memory", "format_size", "memory_warnings", "optimizer_state_copies",
           "output_bytes", "refusal"]

FP32 = 4
HALF = 2  # bytes of a bf16/fp16 value: the smallest a training activation can take
_ITEMSIZE = {"float32": 4, "int64": 8}
WARN_FRACTION = 0.5  # warn once training needs more than this share of the memory available


@dataclass(frozen=True, slots=True)
class NodeCost:
    node_id: str
    params: int
    trainable: int
    buffers: int
    activation: int  # bytes of the node's outputs for one sample (float32 / int64)

    @property
    def weight_bytes(self) -> int:
        return (self.params + self.buffers) * FP32


@dataclass(frozen=True)
class Budget:
    nodes: tuple[NodeCost, ...]  # Input nodes and layers that feed an Output

    @property
    def params(self) -> int:
        return sum(n.params for n in self.nodes)

    @property
    def trainable(self) -> int:
        return sum(n.trainable for n in self.nodes)

    @property
    def buffers(self) -> int:
        return sum(n.buffers for n in self.nodes)

    @property
    def weight_bytes(self) -> int:
        """Parameters and buffers in fp32: what holding the model takes."""
        return (self.params + self.buffers) * FP32

    def training_bytes(self, state_copies: int) -> int:
        """The weights plus a gradient and `state_copies` optimizer tensors per trainable parameter."""
        return self.weight_bytes + self.trainable * (1 + state_copies) * FP32

    def heaviest(self) -> NodeCost | None:
        return max(self.nodes, key=lambda n: n.weight_bytes, default=None)

    def widest(self) -> NodeCost | None:
        """The node with the largest output per sample."""
        return max(self.nodes, key=lambda n: n.activation, default=None)

    def to_json(self) -> dict:
        widest = self.widest()
        return {
            "parameter_bytes_fp32": self.params * FP32,
            "parameter_bytes_half": self.params * HALF,
            "buffer_bytes": self.buffers * FP32,
            "largest_activation_bytes": widest.activation if widest else 0,
            "largest_activation_node": widest.node_id if widest else None,
            "nodes": {n.node_id: {"parameter_bytes": n.params * FP32, "buffer_bytes": n.buffers * FP32,
                                  "activation_bytes": n.activation} for n in self.nodes},
        }

    def lines(self) -> list[str]:
        """What the summary table prints under its totals."""
        text = [f"parameter memory: {format_size(self.params * FP32)} (fp32), {format_size(self.params * HALF)} (bf16)"]
        if self.buffers:
            text.append(f"buffer memory: {format_size(self.buffers * FP32)}")
        widest = self.widest()
        if widest is not None:
            text.append(f"largest activation: {format_size(widest.activation)} per sample ({widest.node_id})")
        return text


def output_bytes(infos) -> int:
    """Bytes of one sample of these tensors (float32 / int64)."""
    return sum(math.prod(i.shape) * _ITEMSIZE.get(i.dtype, FP32) for i in infos)


def optimizer_state_copies(optimizer) -> int:
    """Tensors the optimizer keeps per parameter; unreadable settings count as Adam's two."""
    spec = optimizer if isinstance(optimizer, dict) else {}
    kind = spec.get("type", "Adam")

    def on(name: str) -> int:
        value = spec.get(name)
        return 1 if value not in (None, False, 0, 0.0) else 0

    if kind == "SGD":
        return on("momentum")
    if kind in ("Adam", "AdamW"):
        return 2 + on("amsgrad")
    if kind == "RMSprop":
        return 1 + on("momentum") + on("centered")
    if kind == "Adagrad":
        return 1
    return 2


def available_memory(device=None) -> tuple[int, str]:
    """(bytes free, how to name them) on `device`: CUDA's free memory, else available RAM."""
    if device is not None and getattr(device, "type", str(device)).startswith("cuda"):
        import torch

        free, _total = torch.cuda.mem_get_info(device)
        return free, f"{device} has {format_size(free)} free"
    import psutil

    free = psutil.virtual_memory().available
    return free, f"this machine has {format_size(free)} of RAM available"


def _optimizer_name(state_copies: int, optimizer) -> str:
    kind = optimizer.get("type") if isinstance(optimizer, dict) and isinstance(optimizer.get("type"), str) else "Adam"
    return f"gradients and {kind} state" if state_copies else "gradients"


def memory_warnings(costs: Budget, optimizer=None, available: tuple[int, str] | None = None) -> list[Diagnostic]:
    """Warnings on the heaviest (and widest) node when training would need most of the memory."""
    free, where = available or available_memory()
    copies = optimizer_state_copies(optimizer)
    found = []
    heaviest = costs.heaviest()
    need = costs.training_bytes(copies)
    if heaviest is not None and heaviest.weight_bytes and need > WARN_FRACTION * free:
        found.append(Diagnostic(heaviest.node_id, WARNING, (
            f"parameters need {format_size(costs.params * FP32)} (fp32), {format_size(need)} with "
            f"{_optimizer_name(copies, optimizer)} for training; {where}")))
    widest = costs.widest()
    if widest is not None and widest.activation > WARN_FRACTION * free:
        found.append(Diagnostic(widest.node_id, WARNING, (
            f"its output needs {format_size(widest.activation)} for a single sample; {where}")))
    return found


def refusal(costs: Budget, available: tuple[int, str], *, state_copies: int | None, batch: int,
            activation_bytes: int = HALF, optimizer=None) -> tuple[str, str] | None:
    """(node, why) when the model cannot run here, naming the figure; None when it may fit.

    `state_copies` None means inference only (export). Only lower bounds are compared
    (the weights with their training state; the largest single output of one batch, at
    `activation_bytes` per value), so a model that might fit is never refused.
    """
    free, where = available
    heaviest = costs.heaviest()
    need = costs.weight_bytes if state_copies is None else costs.training_bytes(state_copies)
    if heaviest is not None and need > free:
        what = "parameters" if state_copies is None else f"parameters with {_optimizer_name(state_copies, optimizer)}"
        return heaviest.node_id, (f"{what} need {format_size(need)} ({heaviest.node_id} alone holds "
                                  f"{format_size(heaviest.weight_bytes)}); {where}")
    widest = costs.widest()
    if widest is not None:
        one_batch = widest.activation * batch * activation_bytes // FP32
        if one_batch > free:
            return widest.node_id, f"its output for a batch of {batch} needs at least {format_size(one_batch)}; {where}"
    return None


def format_size(n: int) -> str:
    """Bytes in decimal units, as RAM and disks are sold: "4.0 TB", "23.4 GB", "512 B"."""
    for unit, size in (("PB", 10**15), ("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n} B"
