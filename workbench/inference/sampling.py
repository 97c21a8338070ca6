"""Choosing the next token from a row of logits: greedy, temperature, top-k, top-p.

One seeded `torch.Generator` drives every draw, so a seed gives the same text from the
PyTorch model and from its ONNX export whenever their logits pick the same tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Sampling", "SamplingError", "next_token"]


class SamplingError(ValueError):
    """A sampling setting is out of range; the message names it."""


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.8  # 0: greedy decoding
    top_k: int | None = 50  # None or 0: no cut
    top_p: float | None = 0.95  # None or 1: no cut
    seed: int = 0

    def __post_init__(self):
        if not (isinstance(self.temperature, (int, float)) and 0 <= self.temperature <= 100):
            raise SamplingError(f"temperature must be between 0 and 100, got {self.temperature!r}")
        if self.top_k is not None and not (isinstance(self.top_k, int) and self.top_k >= 0):
            raise SamplingError(f"top-k must be a whole number >= 0, got {self.top_k!r}")
        if self.top_p is not None and not (isinstance(self.top_p, (int, float)) and 0 < self.top_p <= 1):
            raise SamplingError(f"top-p must be in (0, 1], got {self.top_p!r}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def generator(self) -> torch.Generator:
        return torch.Generator().manual_seed(int(self.seed))


def next_token(logits: torch.Tensor, sampling: Sampling, generator: torch.Generator) -> int:
    """The id chosen from `logits` (shape [V]) under `sampling`."""
    logits = logits.detach().to(torch.float64).reshape(-1)
    if sampling.greedy:
        return int(torch.argmax(logits))
    logits = logits / sampling.temperature
    if sampling.top_k:
        k = min(sampling.top_k, logits.numel())
        cut = torch.topk(logits, k).values[-1]
        logits = logits.masked_fill(logits < cut, float("-inf"))
    probs = torch.softmax(logits, dim=0)
    if sampling.top_p is not None and sampling.top_p < 1:
        ordered, order = torch.sort(probs, descending=True)
        before = torch.cumsum(ordered, dim=0) - ordered  # mass of the tokens ranked above
        ordered = ordered.masked_fill(before >= sampling.top_p, 0.0)  # the first always stays
        probs = torch.zeros_like(probs).scatter(0, order, ordered)
    return int(torch.multinomial(probs, 1, generator=generator))
