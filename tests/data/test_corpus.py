"""The text_corpus source: windows shifted by one, stride, a contiguous split, the memmap
cache, and clear errors for text that is not text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.core.tensors import INT, TensorInfo
from workbench.data import DataError, load_data
from workbench.data.tokenizer import TextTokenizer

LINES = "".join(f"line {i:04d}: the quick brown fox jumps over the lazy dog.\n" for i in range(400))


def section(path="book.txt", val_fraction=0.1, **params):
    return {"source": "text_corpus", "params": {"path": path, **params}, "val_fraction": val_fraction}


def tokens(t: int) -> dict:
    return {"tokens": TensorInfo((t,), INT)}


@pytest.fixture
def book(tmp_path):
    (tmp_path / "book.txt").write_text(LINES, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_targets_are_the_window_shifted_by_one(book, kind):
    bundle = load_data(section(tokenizer=kind, vocab_size=300), tokens(16), 0, book)
    assert bundle.task == "sequence" and bundle.classes is None and bundle.extra["objective"] == "causal_lm"
    assert bundle.input_infos == (TensorInfo((16,), INT),) and bundle.target_info == TensorInfo((16,), INT)
    stream = np.asarray(bundle.extra["tokens_train"], dtype=np.int64)
    for i in (0, 1, len(bundle.train) - 1):
        (x,), y = bundle.train[i]
        assert x.dtype == y.dtype == __import__("torch").int64 and x.shape == y.shape == (16,)
        assert x[1:].tolist() == y[:-1].tolist()
        assert x.tolist() == stream[i * 16:i * 16 + 16].tolist() and y[-1] == stream[i * 16 + 16]
    tok = bundle.extra["tokenizer"]
    assert tok.decode(stream.tolist()) == LINES[:len(tok.decode(stream.tolist()))]
    assert bundle.extra["vocab_size"] == tok.vocab_size and TextTokenizer.from_json(bundle.extra["tokenizer_json"]).vocab_size == tok.vocab_size


def test_stride_sets_where_windows_start(book):
    plain = load_data(section(), tokens(32), 0, book)
    dense = load_data(section(stride=5), tokens(32), 0, book)
    n = len(plain.extra["tokens_train"])
    assert len(plain.train) == (n - 33) // 32 + 1 and len(dense.train) == (n - 33) // 5 + 1
    assert dense.train[3][0][0].tolist() == plain.extra["tokens_train"][15:47].astype(np.int64).tolist()
    assert len(dense.val) == len(plain.val)  # validation windows never overlap
    with pytest.raises(DataError, match="data.params.stride must be at least 1"):
        load_data(section(stride=0), tokens(32), 0, book)


def test_validation_is_the_unseen_end_of_the_text(book):
    bundle = load_data(section(val_fraction=0.25), tokens(24), 0, book)
    tok = bundle.extra["tokenizer"]
    train_text = "".join(tok.decode(bundle.train[i][0][0].tolist()) for i in range(len(bundle.train)))
    val_text = tok.decode(bundle.extra["tokens_val"].astype(np.int64).tolist())
    assert val_text.startswith("line 0300:") and val_text.endswith("line 0399: the quick brown fox jumps over the lazy dog.\n")
    assert "line 0299" in train_text and "line 03" not in train_text
    assert len(bundle.val) == (len(bundle.extra["tokens_val"]) - 25) // 24 + 1


def test_a_folder_is_its_txt_files_in_name_order_each_split(tmp_path):
    (tmp_path / "b.txt").write_text("B" * 100 + "\n" + "b" * 20, encoding="utf-8")
    (tmp_path / "a.txt").write_text("A" * 100 + "\n" + "a" * 20, encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored", encoding="utf-8")
    bundle = load_data(section(".", val_fraction=0.2, tokenizer="bpe", vocab_size=300), tokens(2), 0, tmp_path)
    tok = bundle.extra["tokenizer"]
    ids = lambda key: bundle.extra[key].astype(np.int64).tolist()
    assert tok.decode(ids("tokens_train")) == "A" * 100 + "\n" + "B" * 100 + "\n"
    assert tok.decode(ids("tokens_val")) == "a" * 20 + "b" * 20
    assert ids("tokens_train").count(tok.eos_id) == 2  # each file's part ends with <eos>
    chars = load_data(section(".", val_fraction=0.2), tokens(8), 0, tmp_path)  # a, b: only in validation
    assert any("40 validation token(s) are not in the vocabulary" in w for w in chars.extra["warnings"])


def test_the_second_load_reads_the_cache_and_tokenizes_nothing(book, monkeypatch):
    first = load_data(section(tokenizer="bpe", vocab_size=300), tokens(16), 0, book)
    calls = []
    for name in ("train", "encode_array"):
        original = getattr(TextTokenizer, name)
        monkeypatch.setattr(TextTokenizer, name, lambda *a, _o=original, _n=name, **k: calls.append(_n) or _o(*a, **k))
    again = load_data(section(tokenizer="bpe", vocab_size=300), tokens(16), 0, book)
    assert calls == [] and isinstance(again.extra["tokens_train"], np.memmap)
    assert again.extra["tokens_train"].dtype == np.uint16 and again.extra["tokens_train"].filename == first.extra["tokens_train"].filename
    assert [again.train[i][1].tolist() for i in range(5)] == [first.train[i][1].tolist() for i in range(5)]
    (book / "book.txt").write_text(LINES + "one more line\n", encoding="utf-8")  # a changed file is tokenized again
    load_data(section(tokenizer="bpe", vocab_size=300), tokens(16), 0, book)
    assert calls.count("train") == 1


def test_windows_pickle_without_the_memmap(book):
    import pickle

    bundle = load_data(section(), tokens(16), 0, book)
    bundle.train[0]
    copy = pickle.loads(pickle.dumps(bundle.train))
    assert len(pickle.dumps(bundle.train)) < 2000 and copy[7][1].tolist() == bundle.train[7][1].tolist()


def test_fewer_distinct_tokens_than_the_vocab_size_is_a_warning(book):
    bundle = load_data(section(tokenizer="bpe", vocab_size=50_000), tokens(16), 0, book)
    assert bundle.extra["vocab_size"] < 50_000
    assert any("too little text for 50000 BPE tokens" in w for w in bundle.extra["warnings"])


@pytest.mark.parametrize(
    "payload, message",
    [
        ("good start\n".encode() + b"caf\xe9 au lait", r"book.txt is not UTF-8 text: byte 0xe9 at byte offset 14"),
        (b"", "book.txt: the corpus is empty"),
        (b" \n\n\t ", "book.txt: the corpus is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "book.txt is binary, not text: it has a NUL byte at byte offset 8"),
    ],
)
def test_text_that_is_not_usable_text_is_named(tmp_path, payload, message):
    (tmp_path / "book.txt").write_bytes(payload)
    with pytest.raises(DataError, match=message):
        load_data(section(), tokens(16), 0, tmp_path)


def test_setting_errors_name_the_field(book):
    cases = [
        (section("missing.txt"), "data.params.path names a file or folder that does not exist"),
        (section(tokenizer="word"), "data.params.tokenizer must be one of char, bpe"),
        (section(tokenizer="bpe", vocab_size=10), "data.params.vocab_size must be at least 260"),
        (section(colour="red"), "data.params.colour is not a parameter"),
        (section(tokenizer_file="nope.json"), "data.params.tokenizer_file names a file that does not exist"),
    ]
    for data, message in cases:
        with pytest.raises(DataError, match=message):
            load_data(data, tokens(16), 0, book)
    (book / "empty").mkdir()
    with pytest.raises(DataError, match="a folder with no .txt files"):
        load_data(section("empty"), tokens(16), 0, book)
    with pytest.raises(DataError, match="a window of 30000 needs 30001"):
        load_data(section(), tokens(30000), 0, book)


def test_a_tokenizer_file_is_used_instead_of_training_one(book):
    trained = load_data(section(tokenizer="bpe", vocab_size=300), tokens(16), 0, book)
    trained.extra["tokenizer"].save(book / "tokenizer.json")
    (book / "other.txt").write_text("completely different text, with other merges " * 50, encoding="utf-8")
    reused = load_data(section("other.txt", tokenizer_file="tokenizer.json"), tokens(16), 0, book)
    assert reused.extra["tokenizer_json"] == trained.extra["tokenizer_json"]
    (book / "bad.json").write_text("{}", encoding="utf-8")
    with pytest.raises(DataError, match="data.params.tokenizer_file: .*bad.json is not a tokenizer file"):
        load_data(section(tokenizer_file="bad.json"), tokens(16), 0, book)


def test_the_cache_keeps_the_latest_versions_only(book, monkeypatch):
    from workbench.data.sources import corpus

    monkeypatch.setattr(corpus, "CACHE_ENTRIES", 2)
    folders = []
    for n in range(3):
        (book / "book.txt").write_text(LINES + "extra\n" * n, encoding="utf-8")
        folders.append(Path(load_data(section(), tokens(16), 0, book).extra["tokens_train"].filename).parent)
    assert [f.is_dir() for f in folders] == [False, True, True]
    assert sorted(p.name for p in folders[0].parent.iterdir()) == sorted(f.name for f in folders[1:])


def test_a_corpus_that_is_not_a_regular_file_is_refused_without_reading_it(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.txt")  # reading it would block forever
    (tmp_path / "zero.txt").symlink_to("/dev/zero")  # reading it would never end
    for name, message in (("pipe.txt", "pipe.txt: is a FIFO"), ("zero.txt", "/dev/zero: is a character device")):
        with pytest.raises(DataError, match=message):
            load_data(section(name), tokens(16), 0, tmp_path)
