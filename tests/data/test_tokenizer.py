"""TextTokenizer: char and byte-level BPE vocabularies, exact round trips, fixed special ids,
and tokenizer.json files (written by us, or anything else handed to `load`)."""

from __future__ import annotations

import json
import os

import pytest

from workbench.data.tokenizer import SPECIALS, TextTokenizer, TokenizerError, tokenizer_for_run

TRICKY = "Hello  wörld\n\n\tindent  trailing \r\nemoji 😀👍🏽 👨‍👩‍👧 e\u0301 中文字 <eos> <pad>x\n"
ENGLISH = ("It was the best of times, it was the worst of times, it was the age of wisdom, "
           "it was the age of foolishness.\n") * 40


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_decode_of_encode_is_the_text_exactly(kind):
    tok = TextTokenizer.train(kind, [ENGLISH, TRICKY], 400)
    for text in (TRICKY, ENGLISH[:300], "", " ", "\n\n\n"):
        assert tok.decode(tok.encode(text)) == text


def test_bpe_encodes_text_it_never_saw_and_merges_what_it_did():
    tok = TextTokenizer.train("bpe", [ENGLISH], 400)
    unseen = "Ελληνικά, русский, 🦀 and\ttabs"
    assert tok.decode(tok.encode(unseen)) == unseen and tok.unk_id not in tok.encode(unseen)
    assert len(tok.encode(ENGLISH)) < len(ENGLISH) / 2  # merges learned


def test_special_ids_are_fixed_and_their_spelling_in_text_is_ordinary_text():
    for kind in ("char", "bpe"):
        tok = TextTokenizer.train(kind, [TRICKY], 300)
        assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id) == (0, 1, 2, 3)
        assert tok.token_texts([0, 1, 2, 3]) == list(SPECIALS)
        assert not set(tok.encode("<eos><pad>")) & {0, 1, 2, 3}
        assert tok.decode([tok.bos_id, *tok.encode("He"), tok.eos_id, tok.pad_id]) == "He"


def test_char_vocabulary_is_every_character_of_the_text_plus_the_specials():
    tok = TextTokenizer.train("char", [TRICKY], 2)  # vocab_size does not cut a char vocabulary
    assert tok.vocab_size == len(set(TRICKY)) + 4
    assert tok.encode("Z") == [tok.unk_id]  # not in the training text


def test_char_fast_path_gives_the_librarys_ids():
    tok = TextTokenizer.train("char", [TRICKY + ENGLISH], 0)
    text = TRICKY + "unseen: ☃ q" + ENGLISH
    assert tok.encode(text) == tok._tok.encode(text, add_special_tokens=False).ids


def test_a_bpe_vocabulary_smaller_than_the_bytes_is_refused():
    with pytest.raises(TokenizerError, match="260"):
        TextTokenizer.train("bpe", [ENGLISH], 100)
    with pytest.raises(TokenizerError, match="char, bpe"):
        TextTokenizer.train("word", [ENGLISH], 1000)


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_save_and_load_give_the_same_ids(tmp_path, kind):
    tok = TextTokenizer.train(kind, [ENGLISH, TRICKY], 500)
    path = tok.save(tmp_path / "tokenizer.json")
    again = TextTokenizer.load(path)
    assert again.kind == kind and again.vocab_size == tok.vocab_size
    assert again.encode(TRICKY + ENGLISH) == tok.encode(TRICKY + ENGLISH)
    assert tokenizer_for_run(tmp_path).encode(TRICKY) == tok.encode(TRICKY)
    assert tokenizer_for_run(tmp_path / "elsewhere") is None


def test_bad_tokenizer_files_give_one_clear_error(tmp_path):
    good = json.loads(TextTokenizer.train("char", [ENGLISH], 0).to_json())
    cases = {
        "garbage.json": b"\x00\x01 not json",
        "latin1.json": "{\"a\": \"caf\xe9\"}".encode("latin-1"),
        "list.json": b"[1, 2, 3]",
        "unigram.json": json.dumps({**good, "model": {"type": "Unigram", "vocab": []}}).encode(),
        "ids.json": json.dumps({**good, "model": {**good["model"], "vocab": {"<bos>": 0, "<pad>": 1}}}).encode(),
    }
    for name, payload in cases.items():
        (tmp_path / name).write_bytes(payload)
        with pytest.raises(TokenizerError, match=name):
            TextTokenizer.load(tmp_path / name)
    with pytest.raises(TokenizerError, match="folder"):
        TextTokenizer.load(tmp_path)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(TokenizerError, match="FIFO"):
        TextTokenizer.load(fifo)


def test_a_word_level_file_of_another_shape_encodes_through_the_library(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = Tokenizer(models.WordLevel({**{s: i for i, s in enumerate(SPECIALS)}, "hello": 4, "world": 5}, unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    words.save(str(tmp_path / "words.json"))
    tok = TextTokenizer.load(tmp_path / "words.json")
    assert tok.kind == "char" and tok.encode("hello world hi") == [4, 5, 3]


def test_deeply_nested_json_is_refused_not_a_recursion_error(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(TokenizerError, match="deep.json is not a tokenizer file"):
        TextTokenizer.load(tmp_path / "deep.json")
