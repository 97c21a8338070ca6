"""`synthetic`: every kind, its shapes, its rule, and determinism."""

from __future__ import annotations

import pytest
import torch

from workbench.core.tensors import TensorInfo
from workbench.data import DataError, load_data

TOKENS = {"tokens": TensorInfo((16,), "int64")}
SEQ2SEQ = {"source": TensorInfo((8,), "int64"), "target": TensorInfo((6,), "int64")}


def synth(kind, inputs=None, seed=0, n=200, **params):
    section = {"source": "synthetic", "params": {"kind": kind, "n": n, **params}, "val_fraction": 0.25}
    return load_data(section, inputs or {}, seed, ".")


@pytest.mark.parametrize("kind, classes", [("moons", 2), ("circles", 2), ("spirals", 2)])
def test_point_clouds(kind, classes):
    bundle = synth(kind, {"xy": TensorInfo((2,))})
    (x,), y = bundle.train_tensors
    assert bundle.task == "classification" and bundle.num_classes == classes
    assert x.shape == (150, 2) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert len(bundle.val) == 50 and bundle.input_names == ("xy",)
    assert bundle.source == f"synthetic {kind}" and bundle.modality == "features"


def test_spirals_take_a_class_count():
    assert synth("spirals", classes=4).num_classes == 4


def test_sine_is_regression_of_one_value():
    bundle = synth("sine", noise=0.0)
    (x,), y = bundle.train_tensors
    assert bundle.task == "regression" and bundle.target_width == 1
    assert x.shape == y.shape == (150, 1) and y.dtype == torch.float32
    assert torch.allclose(torch.sin(x), y, atol=1e-6)


def test_waveforms_take_their_length_from_the_input():
    bundle = synth("waveforms", {"wave": TensorInfo((1, 400))}, n=40, sample_rate=8000)
    (x,), y = bundle.train_tensors
    assert x.shape == (30, 1, 400) and bundle.classes == ["sine", "square", "sawtooth", "noise"]
    assert float(x.abs().max()) < 1.2 and bundle.extra["sample_rate"] == 8000
    assert sorted(torch.bincount(torch.cat([y, bundle.val_tensors[1]])).tolist()) == [10, 10, 10, 10]
    square = x[y == 1][0, 0]
    assert ((square.abs() - square.abs().median()).abs() < 0.1).float().mean() > 0.9  # flat top and bottom


def test_waveforms_refuse_frequencies_above_nyquist():
    with pytest.raises(DataError, match="data.params.max_freq .* half the sample rate"):
        synth("waveforms", n=8, sample_rate=1000, max_freq=900.0)


def test_shapes_are_images_in_unit_range():
    bundle = synth("shapes", {"img": TensorInfo((3, 12, 10))}, n=30)
    (x,), _ = bundle.train_tensors
    assert x.shape[1:] == (3, 12, 10) and bundle.classes == ["circle", "square", "triangle"]
    assert float(x.min()) >= 0 and float(x.max()) <= 1


def test_shapes_as_reconstruction_targets():
    bundle = load_data({"source": "synthetic", "params": {"kind": "shapes", "n": 20}, "target": "input"}, {}, 0, ".")
    (x,), target = bundle.train_tensors
    assert bundle.task == "reconstruction" and torch.equal(x, target)


def test_sequences_follow_the_majority_rule():
    bundle = synth("sequences", TOKENS, vocab=12)
    (x,), y = bundle.train_tensors
    assert x.shape == (150, 16) and x.dtype == torch.int64
    assert int(x.min()) >= 1 and int(x.max()) < 12 and bundle.extra["vocab_size"] == 12
    more_threes = (x == 3).sum(1) > (x == 4).sum(1)
    assert torch.equal(more_threes.long(), y)
    assert ((x == 3).sum(1) != (x == 4).sum(1)).all()


def test_sequences_parity_rule():
    (x,), y = synth("sequences", TOKENS, rule="parity").train_tensors
    assert torch.equal(((x == 3).sum(1) % 2 == 0).long(), y)


@pytest.mark.parametrize("kind", ["copy", "reverse"])
def test_seq2seq_tasks(kind):
    bundle = synth(kind, SEQ2SEQ, vocab=10, min_length=2)
    (source, target_in), out = bundle.train_tensors
    assert bundle.task == "sequence" and bundle.num_classes == 10
    assert source.shape == (150, 8) and target_in.shape == out.shape == (150, 6)
    assert bundle.target_info == TensorInfo((6,), "int64")
    assert torch.equal(target_in[:, 0], torch.ones(150, dtype=torch.int64))  # BOS
    assert torch.equal(target_in[:, 1:], out[:, :-1])  # teacher forcing: shifted right
    for src, produced in zip(source[:20], out[:20]):
        length = int((src != 0).sum())
        content = src[:length]
        expected = content.flip(0) if kind == "reverse" else content
        assert 2 <= length <= 5
        assert torch.equal(produced[:length], expected) and int(produced[length]) == 2  # EOS
        assert (produced[length + 1 :] == 0).all()


def test_seq2seq_inputs_follow_the_graph_order():
    graph = {"target": TensorInfo((6,), "int64"), "source": TensorInfo((8,), "int64")}
    bundle = synth("copy", graph)
    assert bundle.input_names == ("target", "source")
    (first, second), _ = bundle.train_tensors
    assert first.shape[1] == 6 and second.shape[1] == 8
    (a, b), _ = bundle.train[0]
    assert a.shape == (6,) and int(a[0]) == 1


@pytest.mark.parametrize("kind", ["moons", "waveforms", "sequences", "copy", "shapes"])
def test_same_seed_same_tensors(kind):
    a, b, c = (synth(kind, n=24, seed=s) for s in (5, 5, 6))
    for x, y in zip(a.train_tensors[0], b.train_tensors[0]):
        assert torch.equal(x, y)
    assert torch.equal(a.val_tensors[1], b.val_tensors[1])
    assert not torch.equal(a.train_tensors[0][0], c.train_tensors[0][0])


@pytest.mark.parametrize(
    "params, message",
    [
        ({}, "data.params.kind is required"),
        ({"kind": "stars"}, "data.params.kind must be one of moons, circles"),
        ({"kind": "moons", "n": 0}, "data.params.n must be at least 2"),
        ({"kind": "moons", "n": 2.5}, "data.params.n must be a whole number"),
        ({"kind": "moons", "noise": "lots"}, "data.params.noise must be a number"),
        ({"kind": "moons", "vocab": 3}, "data.params.vocab is not a parameter of the synthetic source"),
        ({"kind": "sequences", "rule": "xor"}, "data.params.rule must be one of majority, parity"),
        ({"kind": "copy", "length": 99}, "data.params.length must be at most"),
    ],
)
def test_bad_params_name_the_field(params, message):
    with pytest.raises(DataError, match=message):
        load_data({"source": "synthetic", "params": params}, {}, 0, ".")
