"""A model that continues token sequences: one int64 Input [T], per-token logits [T, V].

Both back ends see the same fixed-length window: the context is cropped to its last T
ids and padded on the right. With causal attention the padding cannot reach the last
real position, so its logits are exact, and an ONNX file exported with a fixed T runs
the very same arrays as the PyTorch model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from workbench.core.compile import ModelPlan
from workbench.core.shapes import InferenceResult
from workbench.core.tensors import FLOAT, INT

if TYPE_CHECKING:  # token_shape (the Generate dock's check) runs before torch is loaded
    import torch

__all__ = ["GenerationError", "TokenShape", "token_shape", "TokenModel", "torch_logits", "onnx_logits"]


class GenerationError(ValueError):
    """The model, file or settings cannot generate; the message says why."""


@dataclass(frozen=True)
class TokenShape:
    input_name: str
    context: int  # T: tokens the model reads at once
    vocab: int  # V: logits per position


def token_shape(plan: ModelPlan, result: InferenceResult) -> TokenShape:
    """The token Input and logits Output of a generative graph, or GenerationError saying why not."""
    if len(plan.inputs) != 1:
        raise GenerationError(f"generation needs one token Input; the graph has {len(plan.inputs)}")
    name = plan.inputs[0]
    info = result.outputs[name][0]
    if info.dtype != INT or len(info.shape) != 1:
        raise GenerationError(f"generation needs an int64 token Input shaped [N, T]; '{name}' is {info} {info.dtype}")
    node, port = plan.outputs[0]
    out = result.outputs[node][port]
    if out.dtype != FLOAT or len(out.shape) != 2 or out.shape[0] != info.shape[0]:
        raise GenerationError(
            f"generation needs per-token logits shaped [N, {info.shape[0]}, vocabulary]; the first output is {out}"
        )
    return TokenShape(name, info.shape[0], out.shape[1])


class TokenModel:
    """Logits for the token after a window of ids, from any back end that maps [1, T] ids to [1, T, V]."""

    def __init__(self, shape: TokenShape, forward: Callable[[np.ndarray], torch.Tensor], pad_id: int = 0,
                 description: str = ""):
        self.shape = shape
        self.pad_id = pad_id
        self.description = description
        self._forward = forward

    def next_logits(self, context: list[int]) -> torch.Tensor:
        window = context[-self.shape.context:]
        if not window:
            raise GenerationError("the prompt is empty and the tokenizer has no start token: type a prompt")
        ids = np.full((1, self.shape.context), self.pad_id, dtype=np.int64)
        ids[0, : len(window)] = window
        return self._forward(ids)[0, len(window) - 1]


def torch_logits(module: torch.nn.Module, shape: TokenShape) -> Callable[[np.ndarray], torch.Tensor]:
    import torch

    def forward(ids: np.ndarray) -> torch.Tensor:
        with torch.inference_mode():
            out = module(**{shape.input_name: torch.from_numpy(ids)})
        return out[0] if isinstance(out, tuple) else out

    return forward


def onnx_logits(path, shape: TokenShape) -> Callable[[np.ndarray], torch.Tensor]:
    """onnxruntime on the CPU, after checking the file's input and output fit the project."""
    import onnxruntime as ort
    import torch

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types for unreadable files
        raise GenerationError(f"{path}: not a model onnxruntime can load ({str(exc).splitlines()[0][:200]})") from None
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or inputs[0].type != "tensor(int64)":
        raise GenerationError(f"{path}: expected one int64 token input, found "
                              + ", ".join(f"{i.name} {i.type}" for i in inputs))
    fixed = inputs[0].shape[1:] if len(inputs[0].shape) == 2 else None
    if fixed is None or (isinstance(fixed[0], int) and fixed[0] != shape.context):
        raise GenerationError(f"{path}: its input {inputs[0].name} is shaped {inputs[0].shape}; "
                              f"the project reads [N, {shape.context}] tokens")
    width = outputs[0].shape[-1]
    if isinstance(width, int) and width != shape.vocab:
        raise GenerationError(f"{path}: its output has {width} logits per token; the project's vocabulary has {shape.vocab}")
    name = inputs[0].name

    def forward(ids: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(session.run([outputs[0].name], {name: ids})[0])

    return forward
