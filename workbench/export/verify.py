"""Random inputs for tracing and verification, and the comparison of outputs.

Every format is verified the same way: the artifact is run on a few random batches and
its outputs are compared with the PyTorch model's (eval mode, no grad). Float inputs are
standard normal; int64 token ids are drawn below the smallest `num_embeddings` of the
Embedding layers the Input reaches (0..1 when it reaches none), so a lookup never goes
out of range. With a dynamic batch the batches have different sizes, one of them
different from the export example, so an artifact that baked in the batch size fails.

The tolerance is absolute, as the design asks (1e-4 for float32). Outputs far from unit
scale feel it: a raw power spectrogram (~1e4) through onnxruntime's DFT differs from
torch.stft by ~1e-2 absolute (~1e-6 relative) and is reported as failed; normalised
outputs (logits, dB features after BatchNorm) stay around 1e-6.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from workbench.core.graph import Graph
from workbench.core.shapes import InferenceResult
from workbench.core.tensors import TensorInfo

__all__ = [
    "EXPORT_BATCH",
    "STATIC_BATCH",
    "TOLERANCE",
    "Mismatch",
    "as_tuple",
    "batch_sizes",
    "compare",
    "example_inputs",
    "max_abs_diff",
    "token_limits",
    "verification_batches",
]

TOLERANCE = 1e-4  # max abs difference allowed between float32 outputs
EXPORT_BATCH = 2  # batch of the example inputs for a dynamic-batch export (1 would be specialised)
STATIC_BATCH = 1  # the batch size a --static-batch artifact is fixed at
DYNAMIC_BATCHES = (EXPORT_BATCH, 7, 1)  # verification batch sizes with a dynamic batch
STATIC_REPEATS = 3  # how many random batches verify a static-batch artifact
DEFAULT_TOKEN_LIMIT = 2


class Mismatch(Exception):
    """The artifact returned a different number, shape or dtype of outputs."""


def batch_sizes(dynamic_batch: bool) -> list[int]:
    return list(DYNAMIC_BATCHES) if dynamic_batch else [STATIC_BATCH] * STATIC_REPEATS


def token_limits(graph: Graph, result: InferenceResult) -> dict[str, int]:
    """Per int64 Input: one past the largest token id that is safe to feed it."""
    limits = {}
    for node in graph.nodes_of_type("Input"):
        info = result.outputs.get(node.id, (None,))[0]
        if info is None or info.dtype != "int64":
            continue
        vocab = []
        seen, stack = set(), [node.id]
        while stack:  # walk downstream; an Embedding consumes the ids, so stop there
            current = stack.pop()
            for child in graph.successors(current):
                if child in seen:
                    continue
                seen.add(child)
                if graph.nodes[child].type == "Embedding":
                    resolved = result.resolved.get(child)
                    if resolved is not None:
                        vocab.append(resolved["num_embeddings"])
                else:
                    stack.append(child)
        limits[node.id] = min(vocab, default=DEFAULT_TOKEN_LIMIT)
    return limits


def random_tensor(info: TensorInfo, batch: int, generator: torch.Generator, limit: int = DEFAULT_TOKEN_LIMIT):
    if info.dtype == "int64":
        return torch.randint(0, limit, info.full(batch), generator=generator)
    return torch.randn(info.full(batch), generator=generator)


def example_inputs(
    infos: Sequence[TensorInfo], batch: int, limits: Sequence[int] | None = None, seed: int = 0
) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    limits = limits or [DEFAULT_TOKEN_LIMIT] * len(infos)
    return tuple(random_tensor(info, batch, generator, limit) for info, limit in zip(infos, limits))


def model_inputs(graph: Graph, result: InferenceResult, input_names: Sequence[str], batch: int, seed: int = 0):
    """One batch for the model's Input nodes, in forward-argument order."""
    limits = token_limits(graph, result)
    infos = [result.outputs[name][0] for name in input_names]
    return example_inputs(infos, batch, [limits.get(n, DEFAULT_TOKEN_LIMIT) for n in input_names], seed)


def verification_batches(graph: Graph, result: InferenceResult, input_names: Sequence[str], dynamic_batch: bool):
    """The random batches an artifact is checked on (seeds differ from the export example's)."""
    return [
        model_inputs(graph, result, input_names, size, seed=1000 + i)
        for i, size in enumerate(batch_sizes(dynamic_batch))
    ]


def as_tuple(out) -> tuple:
    if isinstance(out, torch.Tensor):
        return (out,)
    return tuple(out)


def max_abs_diff(expected: Sequence[torch.Tensor], actual: Sequence) -> float:
    """Largest |expected - actual| over every output; raises Mismatch on structure."""
    if len(expected) != len(actual):
        raise Mismatch(f"returned {len(actual)} outputs, PyTorch returns {len(expected)}")
    worst = 0.0
    for i, (want, got) in enumerate(zip(expected, actual)):
        got = torch.as_tensor(got)
        if tuple(got.shape) != tuple(want.shape):
            raise Mismatch(f"output {i} has shape {list(got.shape)}, PyTorch gives {list(want.shape)}")
        if want.dtype.is_floating_point != got.dtype.is_floating_point:
            raise Mismatch(f"output {i} is {got.dtype}, PyTorch gives {want.dtype}")
        if want.numel() == 0:
            continue
        a, b = want.detach().double(), got.detach().double()
        both_nan = torch.isnan(a) & torch.isnan(b)
        diff = torch.where(both_nan, torch.zeros_like(a), (a - b).abs())
        diff = torch.nan_to_num(diff, nan=float("inf"))
        worst = max(worst, float(diff.max()))
    return worst


def compare(model: torch.nn.Module, candidate: Callable, batches) -> float:
    """Max abs difference between `model` and `candidate` over all batches.

    `candidate(batch)` returns a sequence of tensors or arrays. Raises Mismatch, or
    whatever the candidate raises (the caller reports it as a verification failure).
    """
    worst = 0.0
    for batch in batches:
        with torch.no_grad():
            expected = as_tuple(model(*batch))
        got = candidate(batch)
        try:
            worst = max(worst, max_abs_diff(expected, got))
        except Mismatch as exc:
            raise Mismatch(f"on a batch of {batch[0].shape[0]}: {exc}") from None
    return worst
