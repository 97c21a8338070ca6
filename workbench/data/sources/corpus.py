"""`text_corpus`: your own .txt for a language model — next-token windows over a token stream.

params: path (a .txt file or a folder of them, relative to the project's folder),
tokenizer ("char" | "bpe"), vocab_size (2000; bpe only: char keeps every character),
stride (null: the context length, windows do not overlap), tokenizer_file (optional: use
this tokenizer.json instead of training one — a run's own file decodes it exactly).

Items are `(tokens[T],) -> tokens[T]` with the target the window shifted by one, T the
graph Input's length (int64 [T]). Train windows start every `stride` tokens; validation
windows every T. Each file's training and validation parts end with `<eos>`.

The token ids are written once per corpus and settings into the user cache folder
(`<cache>/corpus/<key>/tokens.bin`, uint16 below 65536 tokens else uint32, beside its
tokenizer.json and meta.json; key = the files' (path, size, mtime) + tokenizer settings)
and read back as a numpy memmap: a second load tokenizes nothing, and the windows are
sliced from the memmap per item.

extra: tokenizer (TextTokenizer), tokenizer_json, vocab_size, tokens_train / tokens_val
(read-only memmaps of the two streams), pad/bos/eos_index, objective "causal_lm",
warnings (things worth saying that do not stop training), context, stride.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from workbench.core.tensors import INT, TensorInfo
from workbench.data.bundle import DataBundle, DataError
from workbench.data.corpus_files import corpus_files, read_corpus, signature
from workbench.data.request import Request, dataset_bundle
from workbench.data.tokenizer import KINDS, MAX_VOCAB, MIN_BPE_VOCAB, TextTokenizer, TokenizerError

__all__ = ["CorpusSettings", "WindowSet", "load", "read_settings", "cache_dir", "cached_meta", "resumed_data"]

PARAMS = {"path", "tokenizer", "vocab_size", "stride", "tokenizer_file"}
DEFAULT_CONTEXT = 64
CACHE_VERSION = 1
CACHE_ENTRIES = 16  # corpus versions kept in the cache folder


@dataclass
class CorpusSettings:
    """What decides the token stream: the files, the tokenizer and the split."""

    files: list[Path]
    kind: str
    vocab_size: int
    val_fraction: float
    tokenizer_file: Path | None

    def key(self) -> str:
        """Names the cache entry; stats the files, reads none of them."""
        tok = signature([self.tokenizer_file]) if self.tokenizer_file is not None else None
        settings = {"v": CACHE_VERSION, "files": signature(self.files), "kind": self.kind, "val": self.val_fraction,
                    "vocab": self.vocab_size if self.kind == "bpe" else None, "tokenizer_file": tok}
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:32]

    def tokenizer(self) -> TextTokenizer:
        try:
            return TextTokenizer.load(self.tokenizer_file)
        except TokenizerError as exc:
            raise DataError(f"data.params.tokenizer_file: {exc}") from None


def read_settings(params, base_dir: Path, val_fraction: float) -> CorpusSettings:
    params.check_known(PARAMS)
    path = params.path("path", base_dir, exists=False)
    files = corpus_files(path, params.field("path"))
    tokenizer_file = params.path("tokenizer_file", base_dir) if "tokenizer_file" in params else None
    kind = params.str("tokenizer", "char", choices=KINDS)
    vocab_size = params.int("vocab_size", 2000, minimum=MIN_BPE_VOCAB, maximum=MAX_VOCAB)
    return CorpusSettings(files, kind, vocab_size, val_fraction, tokenizer_file)


def resumed_data(data: dict, run_dir) -> dict:
    """The data section a resumed run reads: a text corpus keeps the vocabulary the run
    trained with (its tokenizer.json), whatever the corpus has become, unless the section
    names a tokenizer file itself."""
    from workbench.data.tokenizer import TOKENIZER_FILE

    params = data.get("params") if isinstance(data, dict) else None
    if run_dir is None or data.get("source") != "text_corpus" or not isinstance(params, dict) or params.get("tokenizer_file"):
        return data
    saved = Path(run_dir) / TOKENIZER_FILE
    return {**data, "params": {**params, "tokenizer_file": str(saved.resolve())}} if saved.is_file() else data


def cache_dir(key: str) -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("model-workbench")) / "corpus" / key


def cached_meta(key: str) -> dict | None:
    """meta.json of a complete cache entry, or None (missing, or not what it should be)."""
    folder = cache_dir(key)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        itemsize = np.dtype(meta["dtype"]).itemsize
        complete = (folder / "tokens.bin").stat().st_size == (meta["train"] + meta["val"]) * itemsize
        return meta if complete and (folder / "tokenizer.json").is_file() else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _build_cache(settings: CorpusSettings, key: str) -> dict:
    """Tokenize the corpus once and write tokens.bin, tokenizer.json and meta.json."""
    text = read_corpus(settings.files, settings.val_fraction)
    warnings = []
    if settings.tokenizer_file is not None:
        tokenizer = settings.tokenizer()
    else:
        tokenizer = TextTokenizer.train(settings.kind, iter(text.train), settings.vocab_size)
        if settings.kind == "bpe" and tokenizer.vocab_size < settings.vocab_size:
            warnings.append(f"the corpus has too little text for {settings.vocab_size} BPE tokens: the vocabulary has "
                            f"{tokenizer.vocab_size} (sizes taken from the data follow it)")
    eos = np.array([tokenizer.eos_id], dtype=np.int64)
    streams = []
    for parts in (text.train, text.val):
        pieces = [np.concatenate([tokenizer.encode_array(part), eos]) for part in parts if part]
        streams.append(np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64))
    unknown = int((streams[1] == tokenizer.unk_id).sum())
    if unknown:
        warnings.append(f"{unknown} validation token(s) are not in the vocabulary (characters the training text "
                        f"lacks) and became <unk>")
    dtype = np.uint16 if tokenizer.vocab_size < 2**16 else np.uint32
    folder = cache_dir(key)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=folder.parent))  # one per writer: threads too
    np.concatenate(streams).astype(dtype).tofile(staging / "tokens.bin")
    tokenizer.save(staging / "tokenizer.json")
    meta = {"dtype": np.dtype(dtype).name, "train": len(streams[0]), "val": len(streams[1]), "files": text.names,
            "vocab_size": tokenizer.vocab_size, "kind": tokenizer.kind, "warnings": warnings}
    (staging / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    if cached_meta(key) is None:  # else another writer finished the same entry first: use theirs
        shutil.rmtree(folder, ignore_errors=True)  # an incomplete entry a crash left
        try:
            staging.rename(folder)
        except OSError:
            pass
    shutil.rmtree(staging, ignore_errors=True)
    _prune(folder.parent, keep=folder)
    return meta


def _prune(root: Path, keep: Path) -> None:
    """Drop the least recently written entries beyond CACHE_ENTRIES (a corpus edited often
    leaves one per version)."""
    entries = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p != keep),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[CACHE_ENTRIES - 1:]:
        shutil.rmtree(old, ignore_errors=True)


class WindowSet(Dataset):
    """Windows of `context` tokens from a token memmap; item i starts at i * stride and its
    target is the same window one token later. Picklable: the memmap reopens per process."""

    def __init__(self, path: Path, dtype: str, offset: int, length: int, context: int, stride: int) -> None:
        self.path, self.dtype, self.offset, self.length = Path(path), dtype, offset, length
        self.context, self.stride = context, stride
        self._tokens: np.ndarray | None = None

    def __len__(self) -> int:
        if self.length < self.context + 1:
            return 0
        return (self.length - self.context - 1) // self.stride + 1

    def tokens(self) -> np.ndarray:
        if self._tokens is None and self.length == 0:
            self._tokens = np.zeros(0, dtype=self.dtype)
        elif self._tokens is None:
            self._tokens = np.memmap(self.path, dtype=self.dtype, mode="r", offset=self.offset * np.dtype(self.dtype).itemsize,
                                     shape=(self.length,))
        return self._tokens

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(index)
        start = index * self.stride
        chunk = torch.from_numpy(self.tokens()[start:start + self.context + 1].astype(np.int64))
        return (chunk[:-1],), chunk[1:]

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_tokens": None}


def load(request: Request) -> DataBundle:
    params = request.params
    settings = read_settings(params, request.base_dir, request.val_fraction)
    info = request.input_info(0)
    context = int(info.shape[0]) if info is not None and len(info.shape) == 1 and info.shape[0] >= 1 else DEFAULT_CONTEXT
    stride = params.int("stride", context, minimum=1, maximum=1 << 40)
    key = settings.key()
    meta = cached_meta(key) or _build_cache(settings, key)
    folder = cache_dir(key)
    try:
        tokenizer = TextTokenizer.load(folder / "tokenizer.json")
    except TokenizerError as exc:
        raise DataError(f"the corpus cache is damaged ({exc}); delete {folder}") from None
    bin_path = folder / "tokens.bin"
    train = WindowSet(bin_path, meta["dtype"], 0, meta["train"], context, stride)
    val = WindowSet(bin_path, meta["dtype"], meta["train"], meta["val"], context, context)
    name = settings.files[0].name if len(settings.files) == 1 else f"{settings.files[0].parent.name}/ ({len(settings.files)} files)"
    if len(train) == 0:
        raise DataError(f"{name} has {meta['train']} training tokens; a window of {context} needs {context + 1}: "
                        f"use a shorter Input length or more text")
    warnings = list(meta["warnings"])
    if request.val_fraction > 0 and len(val) == 0:
        warnings.append(f"the validation part ({meta['val']} tokens) is shorter than one window of {context}: "
                        f"no validation; raise data.val_fraction or use a shorter Input")
    tokens = train.tokens()
    return dataset_bundle(
        train,
        val if len(val) else None,
        input_infos=(TensorInfo((context,), INT),),
        target_info=TensorInfo((context,), INT),
        task="sequence",
        names=("tokens",),
        source=f"text_corpus '{name}'",
        modality="tokens",
        description=f"{name}: {meta['train'] + meta['val']} {tokenizer.kind} tokens ({meta['train']} train, "
                    f"{meta['val']} validation), vocabulary {tokenizer.vocab_size}, windows of {context} every {stride}",
        extra={
            "tokenizer": tokenizer, "tokenizer_json": tokenizer.to_json(), "vocab_size": tokenizer.vocab_size,
            "tokens_train": tokens, "tokens_val": val.tokens(), "pad_index": tokenizer.pad_id,
            "bos_index": tokenizer.bos_id, "eos_index": tokenizer.eos_id, "objective": "causal_lm",
            "warnings": warnings, "context": context, "stride": stride,
        },
    )
