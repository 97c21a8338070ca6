"""Sets that need a download: the offline message, the one-flag / one-click download (from
a local mirror: file:// addresses stand in for torchvision's), progress, damage and cancel."""

from __future__ import annotations

import gzip
import hashlib
import shutil

import pytest

from tests.data.makers import fake_mnist
from tests.test_cli import assert_user_error, run
from workbench.core.project import project_from_dict, save_project
from workbench.data import DataError, load_data
from workbench.data.download import SIZES, DownloadCancelled, fetch, needed_download, pending_download
from workbench.data.paths import default_datasets_root

MNIST = {"source": "torchvision", "params": {"name": "MNIST", "root": "sets"}}


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A folder of gzipped fake MNIST idx files that torchvision's MNIST class fetches from."""
    import torchvision.datasets

    raw = fake_mnist(tmp_path / "made", n_train=30, n_test=10) / "MNIST" / "raw"
    folder = tmp_path / "mirror"
    folder.mkdir()
    resources = []
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        packed = gzip.compress((raw / name).read_bytes())
        (folder / f"{name}.gz").write_bytes(packed)
        resources.append((f"{name}.gz", hashlib.md5(packed).hexdigest()))
    shutil.rmtree(tmp_path / "made")
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [folder.as_uri() + "/"])
    monkeypatch.setattr(torchvision.datasets.MNIST, "resources", resources)
    return folder


def test_what_needs_a_download(tmp_path):
    download = pending_download(MNIST, tmp_path)
    assert download.name == "MNIST" and download.root == tmp_path / "sets" and download.size == SIZES["MNIST"]
    assert download.label == "needs a download (12 MB)"
    cifar = pending_download({"source": "torchvision", "params": {"name": "CIFAR10"}}, tmp_path)
    assert cifar.root == default_datasets_root() and cifar.label == "needs a download (170 MB)"
    fake_mnist(tmp_path / "sets")
    assert pending_download(MNIST, tmp_path) is None and needed_download(MNIST, tmp_path).present
    for section in ({"source": "digits"}, {"source": "mnist_sample"}, {"source": "torchvision", "params": "x"},
                    {"source": "torchvision", "params": {"name": "ImageNet"}}, None):
        assert pending_download(section, tmp_path) is None


def test_fetch_writes_only_under_the_root_and_reports_progress(tmp_path, mirror):
    download = pending_download(MNIST, tmp_path)
    seen = []
    fetch(download, lambda done, total: seen.append((done, total)))
    assert seen[-1] == (SIZES["MNIST"], SIZES["MNIST"])
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert pending_download(MNIST, tmp_path) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mirror", "sets"]
    assert not list((tmp_path / "sets").rglob("*.part"))
    bundle = load_data(MNIST, {}, 0, tmp_path)
    assert len(bundle.train) == 30 and len(bundle.val) == 10
    fetch(download)  # everything verified on disk: nothing is fetched again
    assert load_data(MNIST, {}, 0, tmp_path).num_classes == 10


def test_a_damaged_archive_is_an_error_and_leaves_nothing_half_written(tmp_path, mirror):
    (mirror / "t10k-images-idx3-ubyte.gz").write_bytes(b"not the archive")
    with pytest.raises(DataError, match=r"could not download MNIST to .*sets: t10k-images-idx3-ubyte.gz arrived damaged"):
        fetch(pending_download(MNIST, tmp_path))
    assert not list((tmp_path / "sets").rglob("*.part"))
    assert not (tmp_path / "sets" / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz").exists()


def test_cancel_stops_between_chunks(tmp_path, mirror):
    with pytest.raises(DownloadCancelled, match="the download of MNIST was cancelled"):
        fetch(pending_download(MNIST, tmp_path), cancelled=lambda: True)
    assert not list((tmp_path / "sets").rglob("*.part"))


def mnist_project(tmp_path):
    doc = {
        "format": "model-workbench-project", "version": 1, "name": "mnist-mlp",
        "graph": {
            "nodes": [{"id": "x", "type": "Input", "params": {"shape": [1, 28, 28]}, "pos": [0, 0]},
                      {"id": "flat", "type": "Flatten", "params": {}, "pos": [0, 100]},
                      {"id": "fc", "type": "Linear", "params": {"out_features": 10}, "pos": [0, 200]},
                      {"id": "out", "type": "Output", "params": {}, "pos": [0, 300]}],
            "edges": [{"source": "x", "target": "flat"}, {"source": "flat", "target": "fc"}, {"source": "fc", "target": "out"}],
        },
        "data": {**MNIST, "val_fraction": 0.2, "augment": []},
        "training": {"epochs": 1, "batch_size": 8, "optimizer": {"type": "Adam", "lr": 0.01},
                     "loss": {"type": "CrossEntropyLoss"}, "device": "cpu", "seed": 0},
    }
    return save_project(project_from_dict(doc), tmp_path / "mnist.wbproj")


def test_train_says_how_to_download_then_download_trains(tmp_path, mirror, capsys):
    path = mnist_project(tmp_path)
    line = assert_user_error(*run(["train", path, "--runs-dir", tmp_path / "runs"], capsys))
    assert line == (f"error: MNIST not found in {tmp_path / 'sets'}; run `workbench train --download PROJECT` "
                    "or press Download in the Data dock")
    code, out, err = run(["train", path, "--download", "--runs-dir", tmp_path / "runs"], capsys)
    assert code == 0, err
    assert f"downloading MNIST (12 MB) to {tmp_path / 'sets'}" in err and "100%" in err
    assert "epoch 1" in out.lower() or "1/1" in out
    code, out, err = run(["train", path, "--download", "--runs-dir", tmp_path / "runs"], capsys)
    assert code == 0 and "downloading" not in err  # already there: straight to training
