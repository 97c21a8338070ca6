"""`TextTokenizer`: a Hugging Face `tokenizers` tokenizer with the four ids every model
here relies on, saved as one `tokenizer.json` (the JSON file *is* the vocabulary).

Kinds:
  - "char": one token per Unicode character seen in the training text (models.WordLevel
    over a pre-tokenizer that splits every character); `vocab_size` is not a limit.
  - "bpe": byte-level BPE (GPT-2 style: ByteLevel pre-tokenizer and decoder) trained with
    BpeTrainer to at most `vocab_size` tokens; any text encodes, nothing is unknown.

Ids 0..3 are always `<pad>`, `<bos>`, `<eos>`, `<unk>`. They are plain vocabulary entries,
not "added tokens", so a corpus that contains the text "<eos>" encodes it as ordinary
characters; `decode` drops them. `decode(encode(text)) == text` for any text whose
characters the vocabulary holds (every text, for "bpe").
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Iterable

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from workbench.core.jsonfile import JsonFileError, parse_json, read_regular

__all__ = ["KINDS", "SPECIALS", "TOKENIZER_FILE", "TextTokenizer", "TokenizerError", "tokenizer_for_run"]

KINDS = ("char", "bpe")
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
PAD_ID, BOS_ID, EOS_ID, UNK_ID = range(4)
TOKENIZER_FILE = "tokenizer.json"
MAX_FILE_BYTES = 64 * 2**20  # a 1M-token BPE vocabulary is ~40 MB of JSON
MIN_BPE_VOCAB = len(SPECIALS) + 256  # the specials and every byte
MAX_VOCAB = 4_000_000  # ids are stored as uint32
LINES_PER_CALL = 256
CHAR_SPLIT = {"type": "Split", "pattern": {"Regex": "(?m)."}, "behavior": "Isolated", "invert": False}


class TokenizerError(Exception):
    """A tokenizer cannot be trained or read; the message says why."""


class TextTokenizer:
    def __init__(self, tokenizer: Tokenizer, kind: str) -> None:
        self._tok = tokenizer
        self.kind = kind
        # the numpy lookup stands in for the library only where it gives the same ids
        self._chars_alone = kind == "char" and tokenizer.normalizer is None and \
            json.loads(tokenizer.to_str()).get("pre_tokenizer") == CHAR_SPLIT
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = PAD_ID, BOS_ID, EOS_ID, UNK_ID
        self._char_table: tuple[np.ndarray, np.ndarray] | None = None

    # ---- making one -------------------------------------------------------------------
    @classmethod
    def train(cls, kind: str, texts: Iterable[str], vocab_size: int = 2000) -> "TextTokenizer":
        """Learn a vocabulary from `texts` (the training split only)."""
        if kind not in KINDS:
            raise TokenizerError(f"tokenizer must be one of {', '.join(KINDS)}, got {kind!r}")
        if kind == "char":  # the vocabulary is just the characters, by falling frequency: no trainer needed
            counts: Counter = Counter()
            for text in texts:
                counts.update(text)
            ranked = sorted(counts, key=lambda c: (-counts[c], c))
            vocab = {token: i for i, token in enumerate((*SPECIALS, *ranked))}
            tok = Tokenizer(models.WordLevel(vocab, unk_token=SPECIALS[UNK_ID]))
            tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"(?m)."), behavior="isolated")  # (?m): "." matches \n too
            tok.decoder = decoders.Fuse()
            return cls(tok, kind)
        if not isinstance(vocab_size, int) or not MIN_BPE_VOCAB <= vocab_size <= MAX_VOCAB:
            raise TokenizerError(f"a byte-level BPE vocabulary needs {MIN_BPE_VOCAB} to {MAX_VOCAB} tokens "
                                 f"(4 special tokens and the 256 bytes come first), got {vocab_size!r}")
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS), show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator((block for text in texts for block in text_blocks(text)), trainer=trainer)
        return cls(_without_added_tokens(tok), kind)

    @classmethod
    def from_json(cls, text: str, where: str = "tokenizer.json") -> "TextTokenizer":
        """A tokenizer from its JSON text; TokenizerError unless it is one this class wrote."""
        try:
            doc = parse_json(text)
            model = doc["model"]
            kind = {"WordLevel": "char", "BPE": "bpe"}[model["type"]]
            vocab = model["vocab"]
            ids_ok = all(vocab.get(token) == i for i, token in enumerate(SPECIALS))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise TokenizerError(f"{where} is not a tokenizer file (a tokenizers JSON with a WordLevel or BPE model)") from None
        if not ids_ok:
            raise TokenizerError(f"{where} does not give {', '.join(SPECIALS)} the ids 0 to 3")
        if len(vocab) > MAX_VOCAB:
            raise TokenizerError(f"{where} has {len(vocab)} tokens; at most {MAX_VOCAB} are supported")
        try:
            tok = Tokenizer.from_str(text)
        except Exception as exc:  # the Rust side reports any malformed field as a plain Exception
            raise TokenizerError(f"{where} is not a valid tokenizer file: {exc}") from None
        return cls(_without_added_tokens(tok), kind)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TextTokenizer":
        path = Path(path)
        try:
            raw = read_regular(path, MAX_FILE_BYTES, "tokenizer file")
            return cls.from_json(raw.decode("utf-8"), str(path))
        except JsonFileError as exc:
            raise TokenizerError(str(exc)) from None
        except UnicodeDecodeError as exc:
            raise TokenizerError(f"{path} is not UTF-8 text (byte {exc.start})") from None

    # ---- using one ----------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size(with_added_tokens=False)

    def encode(self, text: str) -> list[int]:
        return self.encode_array(text).tolist()

    def encode_array(self, text: str) -> np.ndarray:
        """Token ids of `text` as an int64 array. Long text is encoded a block of lines at a
        time: one call on a megabyte string is several times slower than on its lines."""
        if self._chars_alone:
            return self._char_ids(text)
        parts = self._tok.encode_batch(list(text_blocks(text)), add_special_tokens=False)
        return np.fromiter((i for part in parts for i in part.ids), dtype=np.int64)

    def _char_ids(self, text: str) -> np.ndarray:
        """The WordLevel lookup done in numpy: one id per code point (measured ~100x faster
        than the library on a 1 MB text, with the same ids; a test holds them equal)."""
        if self._char_table is None:
            vocab = self._tok.get_vocab(with_added_tokens=False)
            pairs = sorted((ord(t), i) for t, i in vocab.items() if len(t) == 1 and i >= len(SPECIALS))
            self._char_table = (np.array([c for c, _ in pairs], dtype=np.uint32), np.array([i for _, i in pairs], dtype=np.int64))
        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        keys, ids = self._char_table
        if not len(keys):
            return np.full(len(points), UNK_ID, dtype=np.int64)
        where = np.minimum(np.searchsorted(keys, points), len(keys) - 1)
        return np.where(keys[where] == points, ids[where], UNK_ID)

    def decode(self, ids: Iterable[int]) -> str:
        """Text of `ids`; the four special ids and ids outside the vocabulary are dropped."""
        n = self.vocab_size
        return self._tok.decode([int(i) for i in ids if len(SPECIALS) <= int(i) < n], skip_special_tokens=False)

    def token_texts(self, ids: Iterable[int]) -> list[str]:
        """Each id's own text (for showing token boundaries); specials by their names."""
        return [SPECIALS[i] if 0 <= i < len(SPECIALS) else self.decode([i]) for i in (int(i) for i in ids)]

    def to_json(self) -> str:
        return self._tok.to_str()

    def save(self, path: str | os.PathLike) -> Path:
        from workbench.core.project import atomic_write_text

        path = Path(path)
        atomic_write_text(path, self.to_json())
        return path


def tokenizer_for_run(run_dir: str | os.PathLike) -> TextTokenizer | None:
    """The tokenizer a run was trained with (its `tokenizer.json`), or None when it has none.
    A file that is there but unreadable raises TokenizerError."""
    path = Path(run_dir) / TOKENIZER_FILE
    if not path.exists():
        return None
    return TextTokenizer.load(path)


def text_blocks(text: str):
    """`text` in blocks of LINES_PER_CALL lines (the library is several times faster on
    those than on one long string)."""
    lines = text.splitlines(keepends=True)
    for i in range(0, len(lines), LINES_PER_CALL):
        yield "".join(lines[i:i + LINES_PER_CALL])


def _without_added_tokens(tok: Tokenizer) -> Tokenizer:
    """The same tokenizer with its specials as plain vocabulary entries only, so text that
    spells "<pad>" is never matched as the special token."""
    doc = json.loads(tok.to_str())
    if not doc.get("added_tokens"):
        return tok
    doc["added_tokens"] = []
    return Tokenizer.from_str(json.dumps(doc))
