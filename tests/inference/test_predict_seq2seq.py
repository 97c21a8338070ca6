"""Seq2seq decoding: greedy and beam search on a known distribution, the CLI on the
encoder-decoder example, and (slow) a trained model reversing sequences."""

from __future__ import annotations

import io
import json
import math

import pytest
import torch

from tests.inference.predict_runs import example, train
from workbench.cli import main
from workbench.inference.predict import PredictError, Predictor
from workbench.inference.seq2seq import decode

PAD, BOS, EOS, A, B = 0, 1, 2, 3, 4


def toy_step(source, target):
    """First token A (0.6) or B (0.4); after A: EOS 0.34 or A/B 0.33 each; after B: EOS 0.98."""
    batch, window = target.shape
    logits = torch.full((batch, window, 5), -30.0)
    for row in range(batch):
        logits[row, 0, A], logits[row, 0, B] = math.log(0.6), math.log(0.4)
        if window > 1 and int(target[row, 1]) == A:
            logits[row, 1, EOS], logits[row, 1, A], logits[row, 1, B] = math.log(0.34), math.log(0.33), math.log(0.33)
        elif window > 1 and int(target[row, 1]) == B:
            logits[row, 1, EOS], logits[row, 1, A] = math.log(0.98), math.log(0.02)
        logits[row, 2:, EOS] = 0.0
    return logits


def test_beam_search_finds_what_greedy_misses():
    source = torch.tensor([5, 6, 0])
    greedy = decode(toy_step, source, window=4, bos=BOS, eos=EOS, pad=PAD, max_len=4, beam=1)
    beam = decode(toy_step, source, window=4, bos=BOS, eos=EOS, pad=PAD, max_len=4, beam=4)
    assert greedy.ids == [A] and greedy.finished and greedy.score == pytest.approx(math.log(0.6 * 0.34), abs=1e-6)
    assert beam.ids == [B] and beam.finished and beam.score == pytest.approx(math.log(0.4 * 0.98), abs=1e-6)
    cut = decode(toy_step, source, window=4, bos=BOS, eos=EOS, pad=PAD, max_len=1, beam=1)
    assert cut.ids == [A] and not cut.finished


@pytest.fixture(scope="module")
def reverse(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reverse")
    project = example(tmp, "seq2seq_transformer", data={"params": {"kind": "reverse", "vocab": 20, "n": 200}}, epochs=1)
    run, _ = train(project, tmp / "runs")
    return project, run


def test_cli_decodes_each_stdin_line(reverse, capsys, monkeypatch):
    project, run = reverse
    monkeypatch.setattr("sys.stdin", io.StringIO("5 6 7\n8 9\n"))
    assert main(["predict", str(project.path), "--weights", str(run), "-", "--beam", "3", "--max-len", "4", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["source"] for r in rows] == ["line 1", "line 2"] and all(r["kind"] == "sequence" for r in rows)
    names = ["<pad>", "<bos>", "<eos>"] + [str(i) for i in range(3, 20)]
    for row in rows:
        words = row["text"].split()
        assert len(words) <= 4 and all(w in names and w != "<eos>" for w in words)


def test_seq2seq_input_errors(reverse, capsys, monkeypatch):
    project, run = reverse
    predictor = Predictor.open(project, run)
    assert predictor.modality == "seq2seq"
    with pytest.raises(PredictError, match="'20' is not a token id from 0 to 19"):
        predictor.decode("5 20")
    with pytest.raises(PredictError, match="beam must be"):
        predictor.decode("5 6", beam=0)
    monkeypatch.setattr("sys.stdin", io.StringIO("five six\n"))
    assert main(["predict", str(project.path), "--weights", str(run), "-"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "line 1: 'five' is not a token id" in err[0]


@pytest.mark.slow
def test_a_trained_model_reverses_sequences(tmp_path):
    """~3 minutes on 2 cores: 2000 pairs of 2-6 tokens, 12 epochs; greedy and beam-4 exact match."""
    project = example(tmp_path, "seq2seq_transformer",
                      data={"params": {"kind": "reverse", "vocab": 20, "n": 2000, "length": 6, "min_length": 2}},
                      epochs=12, optimizer={"type": "AdamW", "lr": 0.002, "weight_decay": 0.01})
    run, bundle = train(project, tmp_path / "runs")
    predictor = Predictor.open(project, run)
    (source, _), target = bundle.val_tensors
    rates = {}
    for beam in (1, 4):
        hits = 0
        for src, tgt in zip(source[:100], target[:100]):
            out = predictor.decode([int(i) for i in src if i != PAD], beam=beam)
            hits += [int(v) for v in out.values] == [int(i) for i in tgt if i not in (PAD, EOS)]
        rates[beam] = hits / min(100, len(target))
    print(f"seq2seq reverse exact match: greedy {rates[1]:.2f}, beam 4 {rates[4]:.2f}")
    assert rates[1] >= 0.9 and rates[4] >= 0.9
