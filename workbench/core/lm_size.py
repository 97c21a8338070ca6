"""The size of a token model as language-model papers state it.

Parameters split into embedding (token and learned position tables) and the rest, the
forward FLOPs per token, the 6N training rule (Kaplan et al. 2020: C ~ 6 N per token, N
the non-embedding parameters), and the tokens a compute-optimal run would see (Hoffmann
et al. 2022: about 20 per parameter) next to what the corpus holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.core.graph import Graph
from workbench.core.shapes import InferenceResult
from workbench.core.tensors import INT

__all__ = ["TokenModelSize", "token_model_size"]

EMBEDDING_TYPES = frozenset({"Embedding", "PositionalEncoding"})
TOKENS_PER_PARAMETER = 20


@dataclass(frozen=True)
class TokenModelSize:
    context: int
    embedding_params: int
    non_embedding_params: int
    forward_flops_per_token: int | None
    corpus_tokens: int | None = None

    @property
    def params(self) -> int:
        return self.embedding_params + self.non_embedding_params

    @property
    def training_flops_per_token(self) -> int:
        return 6 * self.non_embedding_params

    @property
    def compute_optimal_tokens(self) -> int:
        return TOKENS_PER_PARAMETER * self.params

    def lines(self) -> list[str]:
        forward = "n/a" if self.forward_flops_per_token is None else _si(self.forward_flops_per_token)
        lines = [
            f"token model: context {self.context}; parameters {_si(self.embedding_params)} embedding + "
            f"{_si(self.non_embedding_params)} non-embedding",
            f"FLOPs per token: {forward} forward, {_si(self.training_flops_per_token)} training (6N rule)",
        ]
        optimal = f"compute-optimal run: ~{_si(self.compute_optimal_tokens)} tokens ({TOKENS_PER_PARAMETER} per parameter)"
        if self.corpus_tokens is not None:
            optimal += f"; the corpus holds {_si(self.corpus_tokens)}"
        return [*lines, optimal]

    def to_json(self) -> dict:
        return {"context": self.context, "embedding_params": self.embedding_params,
                "non_embedding_params": self.non_embedding_params,
                "forward_flops_per_token": self.forward_flops_per_token,
                "training_flops_per_token": self.training_flops_per_token,
                "compute_optimal_tokens": self.compute_optimal_tokens, "corpus_tokens": self.corpus_tokens}


def token_model_size(graph: Graph, result: InferenceResult, summary, corpus_tokens: int | None = None):
    """The readout for a graph reading one int64 token Input [T]; None for other models."""
    inputs = [n for n in graph if n.type == "Input" and n.id in result.outputs and result.outputs[n.id]]
    if len(inputs) != 1:
        return None
    info = result.outputs[inputs[0].id][0]
    if info.dtype != INT or len(info.shape) != 1 or info.shape[0] < 1:
        return None
    embedding = sum(s.params or 0 for s in summary.nodes if s.type in EMBEDDING_TYPES and s.id in result.live)
    flops = summary.total_flops
    return TokenModelSize(
        context=info.shape[0],
        embedding_params=embedding,
        non_embedding_params=summary.total_params - embedding,
        forward_flops_per_token=None if flops is None else flops // info.shape[0],
        corpus_tokens=corpus_tokens,
    )


def _si(n: int) -> str:
    for size, unit in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if abs(n) >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)
