"""Token tasks: `sequences` (classify a sequence by a counting rule) and the seq2seq
`copy` / `reverse` tasks for a two-Input encoder-decoder graph.

Token ids: 0 is padding everywhere. `sequences` draws tokens from 1..vocab-1. The seq2seq
tasks reserve 1 = BOS and 2 = EOS and draw content from 3..vocab-1; their items are
`(source [S], target_in [T])` -> `target [T]` where target is the content (copied or
reversed), then EOS, then padding, and target_in is the same shifted right behind a BOS
(teacher forcing). Every id is below `vocab`, so an Embedding needs num_embeddings >= vocab
and the output layer exactly `vocab` classes.
"""

from __future__ import annotations

import numpy as np
import torch

from workbench.data.bundle import DataError
from workbench.data.request import Generated

PAD, BOS, EOS = 0, 1, 2
RULES = {
    # rule -> class names for label 0 and 1
    "majority": ["more 4s than 3s", "more 3s than 4s"],
    "parity": ["odd count of token 3", "even count of token 3"],
}


def _length(request, position: int, name: str | None, default: int) -> int:
    info = request.input_info(position, name)
    if info is not None and len(info.shape) == 1 and info.shape[0] >= 1:
        return int(info.shape[0])
    return default


def sequences(request, params, rng: np.random.Generator, n: int) -> Generated:
    """Tokens [T] (T from the Input, default 32); label by `rule`:
    "majority" (default): 1 when token 3 occurs more often than token 4, else 0 (never tied);
    "parity": 1 when token 3 occurs an even number of times."""
    vocab = params.int("vocab", 20, minimum=5, maximum=1_000_000)
    rule = params.str("rule", "majority", choices=list(RULES))
    t = _length(request, 0, None, 32)
    labels = np.arange(n) % 2
    seqs = rng.integers(1, vocab, (n, t))
    rows = np.arange(n)
    if rule == "majority":
        want = np.where(labels == 1, 3, 4)
        while True:
            diff = (seqs == 3).sum(1) - (seqs == 4).sum(1)
            wrong = np.where(labels == 1, diff <= 0, diff >= 0)
            if not wrong.any():
                break
            pos = rng.integers(0, t, n)
            seqs[rows[wrong], pos[wrong]] = want[wrong]
    else:
        even = (seqs == 3).sum(1) % 2 == 0
        wrong = even != (labels == 1)
        pos = rng.integers(0, t, n)
        current = seqs[rows, pos]
        other = rng.integers(4, vocab, n)  # any token but 3
        seqs[rows[wrong], pos[wrong]] = np.where(current == 3, other, 3)[wrong]
    return Generated(
        inputs=(torch.from_numpy(seqs.astype(np.int64)),),
        target=torch.from_numpy(labels.astype(np.int64)),
        task="classification",
        names=("tokens",),
        modality="tokens",
        classes=list(RULES[rule]),
        description=f"{n} token sequences of length {t} (vocab {vocab}), rule: {rule}",
        extra={"vocab_size": vocab, "pad_index": PAD},
    )


def copy_task(request, params, rng, n: int) -> Generated:
    return _seq2seq(request, params, rng, n, reverse=False)


def reverse_task(request, params, rng, n: int) -> Generated:
    return _seq2seq(request, params, rng, n, reverse=True)


def _seq2seq(request, params, rng: np.random.Generator, n: int, reverse: bool) -> Generated:
    kind = "reverse" if reverse else "copy"
    vocab = params.int("vocab", 20, minimum=4, maximum=1_000_000)
    s = _length(request, 0, "source", 12)
    t = _length(request, 1, "target", s + 1)
    if t < 2:
        raise DataError(f"synthetic {kind} needs a target Input of at least 2 tokens (BOS/EOS plus content); it is {t}")
    longest = min(s, t - 1)
    length = params.int("length", longest, minimum=1, maximum=longest)
    min_length = params.int("min_length", length, minimum=1, maximum=length)
    lengths = rng.integers(min_length, length + 1, n)
    content = rng.integers(3, vocab, (n, length))
    positions = np.arange(length)
    content = np.where(positions < lengths[:, None], content, PAD)
    source = np.full((n, s), PAD, dtype=np.int64)
    source[:, :length] = content
    out = np.full((n, t), PAD, dtype=np.int64)
    if reverse:  # the first `lengths[i]` tokens, backwards
        index = np.clip(lengths[:, None] - 1 - positions, 0, length - 1)
        produced = np.where(positions < lengths[:, None], np.take_along_axis(content, index, 1), PAD)
    else:
        produced = content
    out[:, :length] = produced
    out[np.arange(n), lengths] = EOS
    target_in = np.concatenate([np.full((n, 1), BOS, dtype=np.int64), out[:, :-1]], axis=1)
    classes = ["<pad>", "<bos>", "<eos>"] + [str(i) for i in range(3, vocab)]
    return Generated(
        inputs=(torch.from_numpy(source), torch.from_numpy(target_in)),
        target=torch.from_numpy(out),
        task="sequence",
        names=("source", "target"),
        modality="tokens",
        classes=classes,
        description=f"{n} {kind} pairs: {min_length}-{length} tokens from a vocab of {vocab}, source [{s}], target [{t}]",
        extra={"vocab_size": vocab, "pad_index": PAD, "bos_index": BOS, "eos_index": EOS},
    )
