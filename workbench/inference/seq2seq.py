"""Decoding an encoder-decoder token model: greedy and beam search, stopping at EOS.

The model is trained with teacher forcing (workbench.data.sources.tokens): it reads the
source [S] and the target so far, shifted right behind BOS, padded to [T], and gives
logits [T, V] for every position. Decoding fills that target window one token at a time;
with the decoder's causal self-attention the padding after position i cannot change the
logits at i, so each step reads exactly what training showed the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

__all__ = ["Decoded", "decode", "MAX_BEAM"]

MAX_BEAM = 64


@dataclass(frozen=True)
class Decoded:
    ids: list[int]  # the output tokens, EOS not included
    score: float  # the sum of the chosen tokens' log-probabilities
    finished: bool  # ended at EOS (False: cut at max_len)


Step = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (source [B, S], target_in [B, T]) -> [B, T, V]


def decode(step: Step, source: torch.Tensor, window: int, bos: int, eos: int, pad: int,
           max_len: int, beam: int = 1) -> Decoded:
    """The best output for one source [S] (`window`: the target length T; at most T tokens)."""
    max_len = max(1, min(int(max_len), window))
    beams: list[tuple[list[int], float]] = [([], 0.0)]
    done: list[Decoded] = []
    for position in range(max_len):
        target = torch.full((len(beams), window), pad, dtype=torch.int64)
        target[:, 0] = bos
        for row, (ids, _) in enumerate(beams):
            if ids:
                target[row, 1 : 1 + len(ids)] = torch.tensor(ids, dtype=torch.int64)
        logits = step(source.unsqueeze(0).expand(len(beams), -1), target)
        logp = torch.log_softmax(logits[:, position].to(torch.float64), dim=-1)
        candidates = []
        width = min(beam, logp.shape[-1])
        for row, (ids, score) in enumerate(beams):
            values, tokens = torch.topk(logp[row], width)
            candidates += [(score + float(v), ids, int(t)) for v, t in zip(values, tokens)]
        candidates.sort(key=lambda c: -c[0])
        beams = []
        for score, ids, token in candidates:
            if token == eos:
                done.append(Decoded(ids, score, True))
            else:
                beams.append((ids + [token], score))
            if len(beams) == beam:
                break
        best_done = max((d.score for d in done), default=float("-inf"))
        if not beams or best_done >= beams[0][1]:  # scores only fall: no live beam can win
            break
    done += [Decoded(ids, score, False) for ids, score in beams]
    return max(done, key=lambda d: d.score)
