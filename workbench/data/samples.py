"""One data sample as something a person can look at: an image, a waveform, a line of text
or a few numbers. Views (the evaluation gallery) show these without knowing the source.

Only the first input of a sample is shown; a model with several inputs is shown by its
first one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Sample", "describe_sample", "TEXT_TOKENS", "VALUES_SHOWN"]

TEXT_TOKENS = 24  # tokens shown of a sequence
VALUES_SHOWN = 6  # features shown of a tabular row


@dataclass
class Sample:
    kind: str  # "image" | "waveform" | "text"
    data: object  # image: float array [H, W] or [C, H, W]; waveform: float array [S]; text: str


def describe_sample(bundle, dataset, index: int) -> Sample:
    """Item `index` of `dataset` (a split of `bundle`) for display."""
    inputs, _target = dataset[index]
    x = inputs[0]
    a = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x)
    modality = bundle.modality
    if modality == "images" and a.ndim in (2, 3):
        return Sample("image", a.astype(np.float32))
    if modality == "waveforms":
        return Sample("waveform", a.reshape(-1, a.shape[-1])[0].astype(np.float32))
    if modality == "tokens" or a.dtype.kind in "iu":
        return Sample("text", token_text(a.reshape(-1).tolist(), bundle.extra))
    values = a.reshape(-1)
    shown = " ".join(f"{v:.3g}" for v in values[:VALUES_SHOWN].tolist())
    return Sample("text", shown + (" …" if values.size > VALUES_SHOWN else ""))


def token_text(ids: list[int], extra: dict) -> str:
    """Token ids as text: decoded by the source's tokenizer when it has one (text corpora),
    as words when it has a vocabulary (characters joined without spaces when every token is
    one character), else the ids; padding dropped."""
    pad = extra.get("pad_index", 0)
    ids = [i for i in ids if i != pad]
    tokenizer = extra.get("tokenizer")
    if tokenizer is not None:
        return tokenizer.decode(ids[:TEXT_TOKENS]) + (" …" if len(ids) > TEXT_TOKENS else "")
    vocab = extra.get("vocab")
    if not vocab:
        words, sep = [str(i) for i in ids[:TEXT_TOKENS]], " "
    else:
        specials = {i for i in (pad, extra.get("unk_index")) if i is not None}
        sep = "" if all(len(t) == 1 for i, t in enumerate(vocab) if i not in specials) else " "
        words = [vocab[i] if 0 <= i < len(vocab) else "?" for i in ids[:TEXT_TOKENS]]
    return sep.join(words) + (" …" if len(ids) > TEXT_TOKENS else "")
