"""What training a model will hold in memory, estimated from its summary as torchinfo does.

Weights, gradients and optimizer state come from size_budget (fp32: mixed precision keeps
fp32 master weights); activations are every live node's output for one batch, kept for
the backward pass, at the precision the project's `training.amp` trains in. It is an
estimate (autocast keeps some outputs, softmax and norms among them, in fp32; the
allocator rounds up), made before anything is allocated.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.core.size_budget import FP32, Budget, format_size, optimizer_state_copies

__all__ = ["TrainingMemory", "training_dtype", "training_memory"]

DEFAULT_BATCH = 64  # training.batch_size when the project sets none (TrainingConfig's default)
_INT_BYTES = 8
DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}


def training_dtype(training) -> tuple[str, str]:
    """(dtype, why) the activations train in, read off `training.amp` and `training.device`.

    `auto` is 16-bit on CUDA only (workbench/training/device.py); the summary cannot ask
    torch which device a run will get, so `auto` with device `auto` is shown as on CUDA.
    """
    section = training if isinstance(training, dict) else {}
    amp, device = section.get("amp", "auto"), section.get("device", "auto")
    if amp is False:
        return "fp32", "amp off"
    if amp == "fp16":
        return "fp16", "amp fp16"
    if amp in (True, "bf16"):
        return "bf16", f"amp {'on' if amp is True else 'bf16'}"
    if isinstance(device, str) and device in ("cpu", "mps"):
        return "fp32", f"amp auto on {device}"
    return "bf16", "amp auto on a CUDA GPU; fp32 on CPU"


def activation_bytes(float_values: int, int_values: int, dtype: str = "fp32") -> int:
    """Bytes of these output values: floats at `dtype`, token ids at int64."""
    return float_values * DTYPE_BYTES[dtype] + int_values * _INT_BYTES


@dataclass(frozen=True)
class TrainingMemory:
    batch_size: int
    optimizer: str
    dtype: str
    dtype_reason: str
    weights: int  # parameters and buffers, fp32
    gradients: int  # one fp32 gradient per trainable parameter
    optimizer_state: int
    activations: int  # every live output for one batch, kept for the backward pass

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer_state + self.activations

    def line(self) -> str:
        return (f"estimated training memory at batch {self.batch_size}: {format_size(self.total)} = "
                f"weights {format_size(self.weights)} + gradients {format_size(self.gradients)} + "
                f"{self.optimizer} state {format_size(self.optimizer_state)} + activations "
                f"{format_size(self.activations)} ({self.dtype}, {self.dtype_reason})")

    def to_json(self) -> dict:
        return {"batch_size": self.batch_size, "optimizer": self.optimizer, "activation_dtype": self.dtype,
                "weight_bytes": self.weights, "gradient_bytes": self.gradients,
                "optimizer_state_bytes": self.optimizer_state, "activation_bytes": self.activations,
                "total_bytes": self.total}


def training_memory(budget: Budget, per_sample: dict[str, tuple[int, int]], training) -> TrainingMemory:
    """The estimate for the project's `training` section; `per_sample` maps each live node to
    its (float, int) output values for one sample."""
    section = training if isinstance(training, dict) else {}
    batch = section.get("batch_size", DEFAULT_BATCH)
    batch = batch if isinstance(batch, int) and not isinstance(batch, bool) and batch >= 1 else DEFAULT_BATCH
    optimizer = section.get("optimizer")
    kind = optimizer.get("type") if isinstance(optimizer, dict) and isinstance(optimizer.get("type"), str) else "Adam"
    copies = optimizer_state_copies(optimizer)
    dtype, reason = training_dtype(section)
    live = {n.node_id for n in budget.nodes}
    activations = sum(activation_bytes(f, i, dtype) for node_id, (f, i) in per_sample.items() if node_id in live)
    return TrainingMemory(
        batch_size=batch, optimizer=kind, dtype=dtype, dtype_reason=reason,
        weights=budget.weight_bytes, gradients=budget.trainable * FP32,
        optimizer_state=budget.trainable * copies * FP32, activations=activations * batch,
    )
