"""`text_csv`: a text column and a label column -> token ids [T] and a class.

params: path (required), text ("text"), label ("label"), tokenizer ("word": split on
whitespace; "char": one token per character), lowercase (true), max_vocab (10000, the
two special ids included), delimiter (",").
The vocabulary is built on the training split only: id 0 pads, id 1 stands for any token
not in it, then tokens by falling frequency (ties alphabetical). Sequences are cut or
padded at the end to the Input length T (default 64). extra["vocab"][i] is token i.
"""

from __future__ import annotations

from collections import Counter

import torch

from workbench.data.bundle import DataBundle, DataError
from workbench.data.request import Request, tensor_bundle
from workbench.data.sources.csvfile import class_names, read_table
from workbench.data.sources.memory import require_fits
from workbench.data.splits import split_indices

PAD, UNK = 0, 1
SPECIALS = ["<pad>", "<unk>"]
TOKENIZERS = ("word", "char")


def tokenize(text: str, tokenizer: str, lowercase: bool) -> list[str]:
    if lowercase:
        text = text.lower()
    return text.split() if tokenizer == "word" else list(text)


def build_vocab(texts: list[list[str]], max_vocab: int) -> list[str]:
    counts = Counter(token for tokens in texts for token in tokens)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return SPECIALS + [token for token, _ in ranked[: max_vocab - len(SPECIALS)]]


def encode(tokens: list[str], ids: dict[str, int], length: int) -> list[int]:
    row = [ids.get(token, UNK) for token in tokens[:length]]
    return row + [PAD] * (length - len(row))


def load(request: Request) -> DataBundle:
    params = request.params
    params.check_known({"path", "text", "label", "tokenizer", "lowercase", "max_vocab", "delimiter"})
    path = params.path("path", request.base_dir)
    tokenizer = params.str("tokenizer", "word", choices=TOKENIZERS)
    lowercase = params.bool("lowercase", True)
    max_vocab = params.int("max_vocab", 10000, minimum=3)
    table = read_table(path, params.str("delimiter", ","))
    texts = table.column(params.str("text", "text"), params.field("text"))
    labels = table.column(params.str("label", "label"), params.field("label"))
    classes = class_names(labels)
    if len(classes) < 2:
        raise DataError(f"{path.name} has a single label ({classes[0]!r}); text classification needs two or more")
    info = request.input_info(0)
    length = int(info.shape[0]) if info is not None and len(info.shape) == 1 and info.shape[0] >= 1 else 64
    require_fits(len(texts), length * 16, f"texts of {length} tokens", "shorten the Input's length")  # list + tensor
    tokens = [tokenize(text, tokenizer, lowercase) for text in texts]
    train_idx, val_idx = split_indices(len(tokens), request.val_fraction, request.seed)
    vocab = build_vocab([tokens[i] for i in train_idx.tolist()], max_vocab)
    ids = {token: i for i, token in enumerate(vocab)}
    x = torch.tensor([encode(t, ids, length) for t in tokens], dtype=torch.int64)
    index = {name: i for i, name in enumerate(classes)}
    y = torch.tensor([index[label] for label in labels], dtype=torch.int64)
    val = ((x[val_idx],), y[val_idx]) if len(val_idx) else None
    return tensor_bundle(
        ((x[train_idx],), y[train_idx]),
        val,
        task="classification",
        names=("tokens",),
        source=f"text_csv '{path.name}'",
        modality="tokens",
        classes=classes,
        description=f"{path.name}: {len(y)} texts, {tokenizer} tokens, vocab {len(vocab)}, length {length}",
        extra={"vocab": vocab, "vocab_size": len(vocab), "pad_index": PAD, "unk_index": UNK,
               "split": tokenizer, "lowercase": lowercase},
    )
