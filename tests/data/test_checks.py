"""check_compatibility: data against the graph's Inputs, its output, and the loss."""

from __future__ import annotations

import pytest

from tests.data.makers import IMAGE_8
from workbench.core.tensors import TensorInfo
from workbench.data import check_compatibility, load_data

F = TensorInfo


@pytest.fixture(scope="module")
def digits():
    return load_data({"source": "digits"}, IMAGE_8, 0, ".")


def synth(kind, inputs, **params):
    return load_data({"source": "synthetic", "params": {"kind": kind, "n": 40, **params}}, inputs, 0, ".")


def test_a_good_fit_has_no_messages(digits):
    assert check_compatibility(digits, IMAGE_8, F((10,)), "CrossEntropyLoss") == []
    assert check_compatibility(digits, IMAGE_8, None, "CrossEntropyLoss") == []


def test_input_shape(digits):
    messages = check_compatibility(digits, {"x": F((3, 32, 32))}, F((10,)), "CrossEntropyLoss")
    assert messages == ["digits gives [1, 8, 8] images but Input 'x' expects [3, 32, 32]"]


def test_input_dtype():
    bundle = synth("sequences", {"tokens": F((16,), "int64")})
    messages = check_compatibility(bundle, {"tokens": F((16,))}, F((2,)), "CrossEntropyLoss")
    assert messages == ["synthetic sequences gives int64 token ids but Input 'tokens' is float32; set its dtype to int64"]
    moons = synth("moons", {"xy": F((2,))})
    messages = check_compatibility(moons, {"xy": F((2,), "int64")}, F((2,)), "CrossEntropyLoss")
    assert messages == ["synthetic moons gives float32 features but Input 'xy' takes int64 token ids; set its dtype to float32"]


def test_input_count(digits):
    graph = {"a": F((1, 8, 8)), "b": F((1, 8, 8))}
    messages = check_compatibility(digits, graph, F((10,)), "CrossEntropyLoss")
    assert messages == ["digits gives 1 input (image [1, 8, 8]) but the graph has 2 Input nodes ('a', 'b')"]


def test_number_of_classes(digits):
    messages = check_compatibility(digits, IMAGE_8, F((5,)), "CrossEntropyLoss")
    assert messages == ["digits has 10 classes but the model outputs 5 values per sample; set the last layer's out_features to 10"]
    messages = check_compatibility(digits, IMAGE_8, F((10, 4, 4)), "CrossEntropyLoss")
    assert messages[0].startswith("digits has 10 classes, so the model should output [N, 10], but it outputs [N, 10, 4, 4]")


def test_loss_against_the_labels(digits):
    assert check_compatibility(digits, IMAGE_8, F((10,)), "MSELoss") == [
        "MSELoss needs regression or reconstruction targets but digits gives class labels; use CrossEntropyLoss"
    ]
    assert check_compatibility(digits, IMAGE_8, F((10,)), "BCEWithLogitsLoss") == [
        "BCEWithLogitsLoss is for 2 classes with one output each; digits has 10 classes: use CrossEntropyLoss"
    ]
    sine = synth("sine", {"x": F((1,))})
    assert check_compatibility(sine, {"x": F((1,))}, F((1,)), "CrossEntropyLoss") == [
        "CrossEntropyLoss needs class labels but synthetic sine gives regression targets; use MSELoss"
    ]
    assert check_compatibility(sine, {"x": F((1,))}, F((1,)), "L1Loss") == []


def test_binary_classification_with_one_logit():
    moons = synth("moons", {"xy": F((2,))})
    assert check_compatibility(moons, {"xy": F((2,))}, F((1,)), "BCEWithLogitsLoss") == []
    assert check_compatibility(moons, {"xy": F((2,))}, F((2,)), "BCEWithLogitsLoss") == [
        "BCEWithLogitsLoss on 2 classes needs one output per sample ([N, 1]) but the model outputs [N, 2]"
    ]


def test_regression_width():
    sine = synth("sine", {"x": F((1,))})
    assert check_compatibility(sine, {"x": F((1,))}, F((3,)), "MSELoss") == [
        "synthetic sine has 1 regression target per sample, so the model should output [N, 1], but it outputs [N, 3]"
    ]


def test_sequence_outputs():
    graph = {"source": F((8,), "int64"), "target": F((6,), "int64")}
    bundle = synth("copy", graph, vocab=12)
    assert check_compatibility(bundle, graph, F((6, 12)), "CrossEntropyLoss") == []
    assert check_compatibility(bundle, graph, F((6, 1000)), "CrossEntropyLoss") == [
        "synthetic copy needs 6 positions of 12 classes, so the model should output [N, 6, 12], but it outputs [N, 6, 1000]"
    ]
    assert "MSELoss needs regression or reconstruction targets" in check_compatibility(bundle, graph, F((6, 12)), "MSELoss")[0]


def test_reconstruction_outputs():
    bundle = load_data({"source": "digits", "target": "input"}, IMAGE_8, 0, ".")
    assert check_compatibility(bundle, IMAGE_8, F((1, 8, 8)), "MSELoss") == []
    assert check_compatibility(bundle, IMAGE_8, F((1, 8, 8)), "BCEWithLogitsLoss") == []
    assert check_compatibility(bundle, IMAGE_8, F((64,)), "MSELoss") == [
        "reconstruction needs the output to match the input [N, 1, 8, 8] but the model outputs [N, 64]"
    ]
    assert check_compatibility(bundle, IMAGE_8, F((1, 8, 8)), "CrossEntropyLoss") == [
        "CrossEntropyLoss needs class labels but digits gives reconstruction targets (the input itself); use MSELoss"
    ]
