"""The generation loop: prompt ids in, new tokens out one at a time, stoppable.

The prompt is tokenized once; each step appends the chosen id to the id list (never
re-tokenizing text) and yields the text that id completes. A byte-level BPE token can end
inside a UTF-8 character, so ids are held back until they decode to whole characters.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator

from workbench.inference.sampling import Sampling, next_token
from workbench.inference.token_model import GenerationError, TokenModel

__all__ = ["Piece", "generate", "MAX_NEW_TOKENS"]

MAX_NEW_TOKENS = 100_000
_HOLD = 8  # ids kept back at most while they decode to an incomplete character


@dataclass(frozen=True)
class Piece:
    token_id: int
    text: str  # what this id adds to the output ("" while it is held back)
    index: int  # 0 for the first new token


def generate(model: TokenModel, tokenizer, prompt: str, max_new_tokens: int, sampling: Sampling,
             should_stop: Callable[[], bool] = lambda: False) -> Iterator[Piece]:
    """Yield each new token as it is chosen; ends at max_new_tokens, at EOS, or when should_stop()."""
    if not isinstance(max_new_tokens, int) or not 1 <= max_new_tokens <= MAX_NEW_TOKENS:
        raise GenerationError(f"max new tokens must be between 1 and {MAX_NEW_TOKENS}, got {max_new_tokens!r}")
    ids = list(tokenizer.encode(prompt))
    if not ids and tokenizer.bos_id is not None:
        ids = [tokenizer.bos_id]
    if any(i >= model.shape.vocab for i in ids):
        raise GenerationError(f"the tokenizer gives ids up to {max(ids)}, but the model has {model.shape.vocab} logits: "
                              "use the tokenizer of the run these weights come from")
    generator = sampling.generator()
    pending: list[int] = []
    for index in range(max_new_tokens):
        if should_stop():
            return
        chosen = next_token(model.next_logits(ids), sampling, generator)
        ids.append(chosen)
        if chosen == tokenizer.eos_id:
            return
        pending.append(chosen)
        text = tokenizer.decode(pending)
        if text.endswith("\ufffd") and len(pending) < _HOLD:
            yield Piece(chosen, "", index)
            continue
        pending = []
        yield Piece(chosen, text, index)


def timed(pieces: Iterator[Piece]) -> tuple[list[Piece], float]:
    """All pieces and the tokens per second they came at (for benchmarks and the CLI's summary)."""
    start = time.perf_counter()
    out = list(pieces)
    elapsed = time.perf_counter() - start
    return out, (len(out) / elapsed if elapsed > 0 else 0.0)
