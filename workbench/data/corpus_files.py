"""Reading a text corpus: one UTF-8 .txt file or a folder of them, split for validation.

Shared by the `text_corpus` source (which tokenizes it) and `data_facts` (which only
counts its characters). The split is contiguous: the last `val_fraction` of every file
(moved forward to the next line start) is validation, so validation text is never seen in
training, not even as overlapping windows. `signature` names the files by (path, size,
mtime) so a cache can tell when the corpus changed without reading it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from workbench.core.jsonfile import JsonFileError, read_regular
from workbench.data.bundle import DataError

__all__ = ["CorpusText", "corpus_files", "read_corpus", "signature", "split_text"]

BYTES_PER_CHAR_WORST = 16  # str (up to 4) + its UTF-32 copy (4) + int64 ids (8) while tokenizing


@dataclass
class CorpusText:
    names: list[str]  # file names, for messages
    train: list[str]  # per file: the training part
    val: list[str]  # per file: the validation part (may be "")

    @property
    def train_chars(self) -> int:
        return sum(len(t) for t in self.train)


def corpus_files(path: Path, field: str) -> list[Path]:
    """The corpus's files: `path` itself, or the .txt files in the folder `path`, by name."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".txt" and not p.is_dir())
        if not files:
            raise DataError(f"{field} names a folder with no .txt files: {path}")
        return files
    if not path.exists():
        raise DataError(f"{field} names a file or folder that does not exist: {path}")
    return [path]


def signature(files: list[Path]) -> list:
    """(path, size, mtime) of every file: changes whenever a file is edited, added or removed."""
    out = []
    for f in files:
        try:
            info = os.stat(f)
        except OSError as exc:
            raise DataError(f"cannot read {f}: {exc.strerror}") from None
        out.append([str(f.resolve()), info.st_size, info.st_mtime_ns])
    return out


def read_corpus(files: list[Path], val_fraction: float) -> CorpusText:
    """Every file decoded and split; DataError naming the file for anything that is not text."""
    budget = _memory_budget()
    names, train, val = [], [], []
    for f in files:
        try:
            raw = read_regular(f, budget, "text corpus")
        except JsonFileError as exc:
            raise DataError(str(exc)) from None
        budget -= len(raw)
        nul = raw.find(b"\0")
        if nul >= 0:
            raise DataError(f"{f.name} is binary, not text: it has a NUL byte at byte offset {nul}")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{f.name} is not UTF-8 text: byte 0x{raw[exc.start]:02x} at byte offset {exc.start} "
                            f"cannot be decoded (save the file as UTF-8)") from None
        text = text.removeprefix("\ufeff")
        head, tail = split_text(text, val_fraction)
        names.append(f.name)
        train.append(head)
        val.append(tail)
    if not any(t.strip() for t in train + val):
        which = files[0].name if len(files) == 1 else f"all {len(files)} files of the corpus"
        raise DataError(f"{which}: the corpus is empty (no text to learn from)")
    return CorpusText(names, train, val)


def split_text(text: str, val_fraction: float) -> tuple[str, str]:
    """(train, validation): the validation part is the last `val_fraction` of the text,
    starting at a line start when there is one after the cut."""
    if val_fraction <= 0 or len(text) < 2:
        return text, ""
    cut = min(max(round(len(text) * (1 - val_fraction)), 1), len(text) - 1)
    newline = text.find("\n", cut - 1)
    if 0 <= newline < len(text) - 1:
        cut = newline + 1
    return text[:cut], text[cut:]


def _memory_budget() -> int:
    import psutil

    return max(psutil.virtual_memory().available // BYTES_PER_CHAR_WORST, 1 << 20)
