"""`workbench predict` on text: a text_csv classifier (the run's own vocabulary), token ids."""

from __future__ import annotations

import io
import json
import shutil

import pytest

from tests.inference.predict_runs import example, train
from workbench.cli import main
from workbench.data.sources.text import encode, tokenize
from workbench.inference.predict import PredictError, Predictor

GOOD = ["a lovely warm day", "what a great film", "lovely and great", "warm great smile", "a great lovely song"]
BAD = ["a cold grey day", "what an awful film", "awful and cold", "grey awful frown", "an awful cold song"]


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reviews")
    rows = [(text, "good") for text in GOOD] + [(text, "bad") for text in BAD]
    (tmp / "reviews.csv").write_text("text,label\n" + "".join(f"{t},{label}\n" for t, label in rows * 8))
    project = example(tmp, "transformer_text_classifier", data={"source": "text_csv", "params": {"path": "reviews.csv"}},
                      epochs=8, batch_size=16)
    run, bundle = train(project, tmp / "runs")
    return tmp, project, run, bundle


def test_text_goes_through_the_training_vocabulary(reviews, capsys):
    tmp, project, run, bundle = reviews
    predictor = Predictor.open(project, run)
    assert predictor.modality == "text" and predictor.classes == ["bad", "good"]
    vocab = bundle.extra["vocab"]
    p = predictor.predict_text("What a GREAT film, unseen-word")
    ids = {t: i for i, t in enumerate(vocab)}
    assert p.model_input.tolist() == encode(tokenize("What a GREAT film, unseen-word", "word", True), ids, 32)
    (tmp / "one.txt").write_text("lovely warm great\n")
    (tmp / "two.txt").write_text("awful cold grey\n")
    assert main(["predict", str(project.path), "--weights", str(run), str(tmp / "one.txt"), str(tmp / "two.txt"),
                 "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["source"] for r in rows] == ["one.txt", "two.txt"]
    assert [r["top"][0]["class"] for r in rows] == ["good", "bad"]


def test_stdin_gives_one_prediction_per_line(reviews, capsys, monkeypatch):
    _, project, run, _ = reviews
    monkeypatch.setattr("sys.stdin", io.StringIO("lovely great\n\nawful cold\n"))
    assert main(["predict", str(project.path), "--weights", str(run), "-", "--top-k", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("line 1: good") and lines[1].startswith("line 3: bad")


def test_an_old_run_without_preprocess_json_rebuilds_the_same_vocabulary(reviews, tmp_path):
    _, project, run, _ = reviews
    old = tmp_path / "old-run"
    shutil.copytree(run, old)
    (old / "preprocess.json").unlink()
    fresh, rebuilt = Predictor.open(project, run), Predictor.open(project, old)
    assert "missing" in rebuilt.note and "rebuilt" in rebuilt.note
    text = "a lovely cold film"
    assert fresh.predict_text(text).model_input.tolist() == rebuilt.predict_text(text).model_input.tolist()


def test_a_damaged_or_foreign_record_is_refused_by_name(reviews, tmp_path):
    _, project, run, _ = reviews
    other = tmp_path / "run"
    shutil.copytree(run, other)
    record = json.loads((other / "preprocess.json").read_text())
    record["inputs"][0]["shape"] = [99]
    (other / "preprocess.json").write_text(json.dumps(record))
    with pytest.raises(PredictError, match=r"preprocess.json: input 'tokens' was shaped \[99\]"):
        Predictor.open(project, other)
    for entry, message in (({**record["inputs"][0], "shape": [32], "kind": "image"}, "the 'image' entry cannot feed it"),
                           ({**record["inputs"][0], "shape": [32], "pad_index": "x"}, "pad_index must be")):
        (other / "preprocess.json").write_text(json.dumps({**record, "inputs": [entry]}))
        with pytest.raises(PredictError, match=message):
            Predictor.open(project, other)
    (other / "preprocess.json").write_text("[" * 5000)
    with pytest.raises(PredictError, match="preprocess.json"):
        Predictor.open(project, other)


def test_binary_file_for_a_text_model(reviews, capsys):
    tmp, project, run, _ = reviews
    (tmp / "blob.txt").write_bytes(b"\xff\xfe\x00\x01binary")
    assert main(["predict", str(project.path), "--weights", str(run), str(tmp / "blob.txt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "blob.txt: not a UTF-8 text file" in err[0]


def test_token_ids_for_a_synthetic_sequence_model(tmp_path):
    project = example(tmp_path, "lstm_text_classifier", data={"params": {"kind": "sequences", "n": 200}}, epochs=1)
    run, bundle = train(project, tmp_path / "runs")
    predictor = Predictor.open(project, run)
    assert predictor.modality == "tokens"
    (x,), _ = bundle.val_tensors
    text = " ".join(str(int(i)) for i in x[0])
    p = predictor.predict_text(text)
    assert p.model_input.tolist() == x[0].tolist()
    assert p.top[0][0] == predictor.predict_tensors(x[:1])[0].top[0][0]
    with pytest.raises(PredictError, match="'25' is not a token id from 0 to 19"):
        predictor.predict_text("3 4 25")
    with pytest.raises(PredictError, match="not a token id"):
        predictor.predict_text("3 four")
