"""torchvision and SpeechCommands sets from a local root: never fetched unless asked."""

from __future__ import annotations

import pytest

from tests.data.makers import fake_mnist, fake_speechcommands
from workbench.core.tensors import TensorInfo
from workbench.data import DataError, load_data

MNIST_INPUT = {"image": TensorInfo((1, 28, 28))}


def vision(base, inputs=MNIST_INPUT, **params):
    params = {"name": "MNIST", "root": "data", **params}
    return load_data({"source": "torchvision", "params": params, "val_fraction": 0.25}, inputs, 0, base)


@pytest.mark.parametrize("name", ["MNIST", "FashionMNIST", "CIFAR10"])
def test_missing_files_say_where_to_put_them(tmp_path, name):
    section = {"source": "torchvision", "params": {"name": name, "root": "datasets"}}
    with pytest.raises(DataError) as info:
        load_data(section, {}, 0, tmp_path)
    assert str(info.value) == (f"{name} not found in {tmp_path / 'datasets'}; run `workbench train --download PROJECT` "
                               "or press Download in the Data dock")
    assert not (tmp_path / "datasets").exists() or not any((tmp_path / "datasets").rglob("*.gz"))


def test_mnist_uses_its_test_split_and_standard_normalisation(tmp_path):
    fake_mnist(tmp_path / "data")
    bundle = vision(tmp_path)
    (x,), y = bundle.train_tensors
    assert x.shape == (20, 1, 28, 28) and len(bundle.val) == 6 and bundle.num_classes == 10
    assert bundle.classes[0] == "0 - zero" and bundle.source == "MNIST"
    assert bundle.extra["mean"] == [0.1307]
    assert abs(float(x.mean()) - (0.5 - 0.1307) / 0.3081) < 0.05  # uniform random pixels


def test_mnist_split_by_fraction_resized_unnormalised(tmp_path):
    fake_mnist(tmp_path / "data")
    bundle = vision(tmp_path, {"image": TensorInfo((1, 14, 14))}, use_test_split=False, resize=True, normalize=False)
    (x,), _ = bundle.train_tensors
    assert x.shape == (15, 1, 14, 14) and len(bundle.val) == 5
    assert float(x.min()) >= 0 and float(x.max()) <= 1


def test_mnist_large_sets_stay_lazy(tmp_path, monkeypatch):
    monkeypatch.setattr("workbench.data.sources.vision.fits_in_memory", lambda *args: False)
    fake_mnist(tmp_path / "data")
    bundle = vision(tmp_path, resize=[16, 12])
    assert bundle.train_tensors is None and bundle.input_infos == (TensorInfo((1, 16, 12)),)
    (x,), y = bundle.train[3]
    assert x.shape == (1, 16, 12) and int(y) == 3


def test_torchvision_param_errors(tmp_path):
    with pytest.raises(DataError, match="data.params.name must be one of MNIST, FashionMNIST, CIFAR10"):
        load_data({"source": "torchvision", "params": {"name": "ImageNet"}}, {}, 0, tmp_path)
    with pytest.raises(DataError, match="data.params.download must be true or false"):
        load_data({"source": "torchvision", "params": {"name": "MNIST", "download": "yes"}}, {}, 0, tmp_path)
    fake_mnist(tmp_path / "data")
    with pytest.raises(DataError, match=r"data.params.resize must be \[height, width\]"):
        vision(tmp_path, resize=[1, 2, 3])


def test_speechcommands_missing(tmp_path):
    with pytest.raises(DataError, match=r"SpeechCommands not found under .*sc; put the files there .* or set download: true"):
        load_data({"source": "speechcommands", "params": {"root": "sc"}}, {}, 0, tmp_path)


def test_speechcommands_from_a_local_tree(tmp_path):
    fake_speechcommands(tmp_path / "data")
    inputs = {"wave": TensorInfo((1, 1000))}
    bundle = load_data({"source": "speechcommands", "params": {"root": "data", "labels": ["yes", "no"]}}, inputs, 0, tmp_path)
    assert bundle.classes == ["no", "yes"] and bundle.source == "SpeechCommands"
    (x,), y = bundle.train_tensors
    assert x.shape == (2, 1, 1000) and sorted(y.tolist()) == [0, 1]  # the third clip of each word trains
    assert len(bundle.val) == 2  # the first clip of each word validates
    everything = load_data({"source": "speechcommands", "params": {"root": "data", "use_test_split": False}, "val_fraction": 0.5},
                           inputs, 0, tmp_path)
    assert everything.classes == ["no", "up", "yes"] and len(everything.train) + len(everything.val) == 3
    with pytest.raises(DataError, match="data.params.labels names words SpeechCommands does not have: maybe"):
        load_data({"source": "speechcommands", "params": {"root": "data", "labels": ["maybe"]}}, inputs, 0, tmp_path)
