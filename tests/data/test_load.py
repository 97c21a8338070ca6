"""load_data: the data section itself, and how data inputs meet the graph's Inputs."""

from __future__ import annotations

import pytest

from tests.data.makers import IMAGE_8
from workbench.core.tensors import TensorInfo
from workbench.data import SOURCES, DataError, load_data
from workbench.core.project import DEFAULT_DATA


def test_the_default_data_section_loads_the_digits():
    bundle = load_data(dict(DEFAULT_DATA), IMAGE_8, 0, ".")
    assert bundle.source == "digits" and len(bundle.train) == 1438


def test_the_issue_lists_every_source():
    assert set(SOURCES) == {"digits", "mnist_sample", "synthetic", "torchvision", "image_folder", "csv", "audio_folder", "speechcommands", "text_csv", "text_corpus"}


@pytest.mark.parametrize(
    "section, message",
    [
        ([], "the data section must be an object"),
        ({}, "data.source None is not a known source; choose one of digits, mnist_sample, synthetic"),
        ({"source": "mnist"}, "data.source 'mnist' is not a known source"),
        ({"source": "digits", "params": [1]}, "data.params must be an object of named values"),
        ({"source": "digits", "val_fraction": 1}, "data.val_fraction must be a number from 0"),
        ({"source": "digits", "val_fraction": "0.2"}, "data.val_fraction must be a number from 0"),
        ({"source": "digits", "target": "labels"}, 'data.target must be "label" .* or "input"'),
        ({"source": "synthetic", "params": {"kind": "copy", "n": 10}, "target": "input"}, 'data.target "input" needs a source with one float input'),
        ({"source": "csv", "params": {"target": "y"}}, "data.params.path is required for the csv source"),
    ],
)
def test_section_errors_name_the_field(section, message):
    with pytest.raises(DataError, match=message):
        load_data(section, {}, 0, ".")


def test_inputs_take_the_graph_names_in_order():
    bundle = load_data({"source": "digits"}, {"pixels": TensorInfo((1, 8, 8))}, 0, ".")
    assert bundle.input_names == ("pixels",)


def test_a_different_input_count_keeps_the_data_names_for_the_check():
    graph = {"a": TensorInfo((2,)), "b": TensorInfo((2,))}
    bundle = load_data({"source": "synthetic", "params": {"kind": "moons", "n": 10}}, graph, 0, ".")
    assert bundle.input_names == ("features",)


def test_tiny_sets_keep_one_sample_on_each_side():
    bundle = load_data({"source": "synthetic", "params": {"kind": "moons", "n": 2}, "val_fraction": 0.01}, {}, 0, ".")
    assert len(bundle.train) == 1 and len(bundle.val) == 1
