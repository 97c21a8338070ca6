"""File sources: image_folder, csv, text_csv and audio_folder, on files made in tmp_path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.data.makers import png_folder, wav_folder, write_csv
from workbench.core.tensors import TensorInfo
from workbench.data import DataError, load_data


def load(source, params, inputs, base, **section):
    return load_data({"source": source, "params": params, **section}, inputs, 0, base)


# image_folder -----------------------------------------------------------------------


def test_image_folder_resizes_and_matches_channels(tmp_path):
    png_folder(tmp_path / "pets")
    grey = load("image_folder", {"path": "pets"}, {"img": TensorInfo((1, 6, 7))}, tmp_path)
    (x,), y = grey.train_tensors
    assert x.shape == (8, 1, 6, 7) and grey.classes == ["cat", "dog"] and len(grey.val) == 2
    assert float(x.min()) >= 0 and float(x.max()) <= 1
    assert (x.mean((1, 2, 3)) > 0.45).long().tolist() == y.tolist()  # dogs are the bright ones
    rgb = load("image_folder", {"path": "pets"}, {"img": TensorInfo((3, 4, 4))}, tmp_path)
    assert rgb.train_tensors[0][0].shape == (8, 3, 4, 4) and rgb.source == "image_folder 'pets'"


def test_image_folder_with_its_own_validation_folder_and_imagenet_stats(tmp_path):
    png_folder(tmp_path / "train")
    png_folder(tmp_path / "val", classes=("dog",), per_class=2)
    params = {"path": "train", "val_path": "val", "normalize": "imagenet"}
    bundle = load("image_folder", params, {"img": TensorInfo((3, 4, 4))}, tmp_path)
    assert len(bundle.train) == 10 and bundle.val_tensors[1].tolist() == [1, 1]
    assert bundle.extra["std"] == [0.229, 0.224, 0.225]


def test_image_folder_lazy_path_reads_per_item(tmp_path, monkeypatch):
    monkeypatch.setattr("workbench.data.sources.image_folder.fits_in_memory", lambda *args: False)
    png_folder(tmp_path / "pets")
    bundle = load("image_folder", {"path": "pets"}, {"img": TensorInfo((3, 5, 5))}, tmp_path)
    assert bundle.train_tensors is None and bundle.input_infos == (TensorInfo((3, 5, 5)),)
    (x,), y = bundle.train[0]
    assert x.shape == (3, 5, 5) and y.dtype == torch.int64
    path, _ = bundle.train.samples[0]
    open(path, "wb").close()  # the file became unreadable after loading
    with pytest.raises(DataError, match="cannot read image"):
        bundle.train[0]


def test_image_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="data.params.path names a folder that does not exist"):
        load("image_folder", {"path": "missing"}, {}, tmp_path)
    with pytest.raises(DataError, match="data.params.path .* holds no class sub-folders"):
        load("image_folder", {"path": "empty"}, {}, tmp_path)
    png_folder(tmp_path / "pets")
    with pytest.raises(DataError, match="greyscale .* or RGB"):
        load("image_folder", {"path": "pets"}, {"img": TensorInfo((2, 4, 4))}, tmp_path)


# csv --------------------------------------------------------------------------------


def test_csv_classification_with_string_labels(tmp_path):
    rows = [[i, (i * 3) % 7, ["setosa", "virginica"][i % 2]] for i in range(40)]
    write_csv(tmp_path / "iris.csv", ["length", "width", "species"], rows)
    bundle = load("csv", {"path": "iris.csv", "target": "species"}, {"f": TensorInfo((2,))}, tmp_path)
    assert bundle.task == "classification" and bundle.classes == ["setosa", "virginica"]
    (x,), _ = bundle.train_tensors
    assert x.shape == (32, 2) and torch.allclose(x.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(x.std(0), torch.ones(2), atol=1e-5)
    # the validation rows are scaled with the training statistics, not their own
    mean, std = torch.tensor(bundle.extra["feature_mean"]), torch.tensor(bundle.extra["feature_std"])
    raw_val = (bundle.val_tensors[0][0] * std) + mean
    assert torch.allclose(raw_val.round(), raw_val, atol=1e-3)
    assert bundle.source == "csv 'iris.csv'" and bundle.extra["features"] == ["length", "width"]


def test_csv_task_inference_and_feature_choice(tmp_path):
    rows = [[i, i % 3, i * 0.5, i % 2] for i in range(30)]
    write_csv(tmp_path / "t.csv", ["a", "b", "y", "flag"], rows)
    few_ints = load("csv", {"path": "t.csv", "target": "flag", "features": ["a"]}, {}, tmp_path)
    assert few_ints.task == "classification" and few_ints.classes == ["0", "1"]
    assert few_ints.input_infos == (TensorInfo((1,)),)
    floats = load("csv", {"path": "t.csv", "target": "y"}, {}, tmp_path)
    assert floats.task == "regression" and floats.target_width == 1 and floats.input_infos == (TensorInfo((3,)),)
    forced = load("csv", {"path": "t.csv", "target": "flag", "task": "regression"}, {}, tmp_path)
    assert forced.task == "regression" and forced.train_tensors[1].dtype == torch.float32
    multi = load("csv", {"path": "t.csv", "target": ["y", "b"]}, {}, tmp_path)
    assert multi.task == "regression" and multi.target_width == 2


@pytest.mark.parametrize(
    "text, params, message",
    [
        ("a,y\n1,2\n", {"target": "z"}, "data.params.target names a column 'z' that t.csv does not have"),
        ("a,y\n1,2\n3\n", {"target": "y"}, "t.csv line 3 has 1 values but the header has 2"),
        ("a,y\n1,2\nx,3\n", {"target": "y"}, "t.csv line 3: column 'a' has 'x', not a number"),
        ("a,y\n1,2\n,3\n", {"target": "y"}, "column 'a' is empty"),
        ("a,y\n", {"target": "y"}, "t.csv has no data rows"),
        ("a,y\n1,2\n2,2\n", {"target": "y"}, "holds a single class"),
        ("a,y\n1,2\n", {}, "data.params.target is required"),
        ("a,y\n1,2\n", {"target": "y", "features": ["y"]}, "data.params.features includes the target column 'y'"),
        ("a,y\n1,2\n", {"target": "y", "task": "ranking"}, "data.params.task must be one of classification, regression"),
    ],
)
def test_csv_errors(tmp_path, text, params, message):
    (tmp_path / "t.csv").write_text(text)
    with pytest.raises(DataError, match=message):
        load("csv", {"path": "t.csv", **params}, {}, tmp_path)


def test_csv_missing_file(tmp_path):
    with pytest.raises(DataError, match="data.params.path names a file that does not exist"):
        load("csv", {"path": "nope.csv", "target": "y"}, {}, tmp_path)


# text_csv ---------------------------------------------------------------------------


def test_text_csv_word_tokens_vocab_and_padding(tmp_path):
    rows = [[f"Great film number{i}", "pos"] if i % 2 else [f"awful plot again{i} and again", "neg"] for i in range(20)]
    write_csv(tmp_path / "reviews.csv", ["text", "label"], rows)
    bundle = load("text_csv", {"path": "reviews.csv"}, {"tokens": TensorInfo((4,), "int64")}, tmp_path, val_fraction=0.25)
    vocab = bundle.extra["vocab"]
    assert vocab[:2] == ["<pad>", "<unk>"] and "great" in vocab and "Great" not in vocab
    assert bundle.classes == ["neg", "pos"] and bundle.modality == "tokens"
    (x,), y = bundle.train_tensors
    assert x.shape == (15, 4) and x.dtype == torch.int64
    for row, label in zip(x, y):
        words = [vocab[i] for i in row]
        if label == 1:
            assert words[:2] == ["great", "film"] and words[3] == "<pad>"
        else:
            assert words[0] == "awful" and words[1] == "plot"  # cut to 4 tokens
    # the vocabulary is built on the training rows: each row's numbered word is its own, so
    # the 15 training rows add 15 words and every validation row's numbered word is unknown
    assert len(vocab) == 2 + len({"great", "film", "awful", "plot", "and", "again"}) + 15
    assert bundle.val_tensors[0][0][:, 2].tolist() == [1] * 5


def test_text_csv_char_tokens_and_vocab_cap(tmp_path):
    write_csv(tmp_path / "t.csv", ["body", "topic"], [["abcab", "x"], ["cab", "y"]] * 5)
    params = {"path": "t.csv", "text": "body", "label": "topic", "tokenizer": "char", "max_vocab": 4}
    bundle = load("text_csv", params, {"t": TensorInfo((6,), "int64")}, tmp_path)
    assert bundle.extra["vocab"] == ["<pad>", "<unk>", "a", "b"] and bundle.extra["vocab_size"] == 4
    (x,), _ = bundle.train_tensors
    assert set(x.flatten().tolist()) <= {0, 1, 2, 3}


def test_text_csv_errors(tmp_path):
    write_csv(tmp_path / "t.csv", ["text", "label"], [["a", "x"], ["b", "y"]])
    with pytest.raises(DataError, match="data.params.text names a column 'body'"):
        load("text_csv", {"path": "t.csv", "text": "body"}, {}, tmp_path)
    with pytest.raises(DataError, match="data.params.tokenizer must be one of word, char"):
        load("text_csv", {"path": "t.csv", "tokenizer": "bpe"}, {}, tmp_path)


# audio_folder -----------------------------------------------------------------------


def test_audio_folder_resamples_and_fits_the_input_length(tmp_path):
    wav_folder(tmp_path / "clips", rate=8000, frames=400)  # 50 ms at 8 kHz
    inputs = {"wave": TensorInfo((1, 1000))}
    bundle = load("audio_folder", {"path": "clips", "sample_rate": 16000}, inputs, tmp_path, val_fraction=0.25)
    (x,), y = bundle.train_tensors
    assert x.shape == (6, 1, 1000) and bundle.classes == ["high", "low"] and len(bundle.val) == 2
    assert float(x[:, :, :780].abs().max()) > 0.4  # 400 samples at 8 kHz -> 800 at 16 kHz
    assert float(x[:, :, 820:].abs().max()) == 0.0  # then zero padding
    spectrum = torch.fft.rfft(x[:, 0, :800]).abs()
    peak_hz = spectrum.argmax(1).float() * 16000 / 800
    assert torch.allclose(peak_hz, torch.where(y == 0, 2000.0, 200.0), atol=30)
    assert bundle.extra["sample_rate"] == 16000 and bundle.modality == "waveforms"


def test_audio_folder_crops_and_stays_lazy_when_large(tmp_path, monkeypatch):
    monkeypatch.setattr("workbench.data.sources.audio.EAGER_FILE_BYTES", 0)
    wav_folder(tmp_path / "clips", rate=8000, frames=400)
    bundle = load("audio_folder", {"path": "clips", "sample_rate": 8000}, {"w": TensorInfo((2, 100))}, tmp_path)
    assert bundle.train_tensors is None and bundle.input_infos == (TensorInfo((2, 100)),)
    (x,), _ = bundle.train[0]
    assert x.shape == (2, 100) and torch.equal(x[0], x[1])


def test_audio_folder_errors(tmp_path):
    wav_folder(tmp_path / "clips")
    np.zeros(4).tofile(tmp_path / "clips" / "low" / "broken.wav")
    with pytest.raises(DataError, match="cannot read audio file .*broken.wav"):
        load("audio_folder", {"path": "clips"}, {}, tmp_path)
    (tmp_path / "one" / "only").mkdir(parents=True)
    with pytest.raises(DataError, match="needs two or more class sub-folders of .wav files"):
        load("audio_folder", {"path": "one"}, {}, tmp_path)
