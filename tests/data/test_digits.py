"""The bundled UCI digits and the script that makes the file."""

from __future__ import annotations

import gzip
import importlib.util

import numpy as np
import pytest
import torch

from tests.data.makers import IMAGE_8
from workbench.data import load_data
from workbench.data.sources.digits import DIGITS_FILE
from workbench.paths import ROOT


def load(seed=0, **section):
    return load_data({"source": "digits", **section}, IMAGE_8, seed, ROOT)


def test_digits_is_the_full_uci_set():
    with np.load(DIGITS_FILE) as archive:
        images, labels = archive["images"], archive["labels"]
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8
    assert images.max() == 16 and images.min() == 0
    assert sorted(set(labels.tolist())) == list(range(10))
    assert DIGITS_FILE.stat().st_size < 100_000


def test_digits_bundle_shapes_split_and_standardisation():
    bundle = load()
    assert bundle.task == "classification" and bundle.num_classes == 10
    assert bundle.classes == [str(d) for d in range(10)]
    assert len(bundle.train) + len(bundle.val) == 1797
    assert len(bundle.val) == round(1797 * 0.2)
    (x,), y = bundle.train_tensors
    assert x.shape == (len(bundle.train), 1, 8, 8) and x.dtype == torch.float32
    assert y.dtype == torch.int64
    assert abs(float(x.mean())) < 1e-5 and abs(float(x.std()) - 1) < 1e-3
    (item,), label = bundle.train[0]
    assert item.shape == (1, 8, 8) and label.shape == ()
    assert bundle.input_names == ("image",) and bundle.source == "digits"


def test_digits_same_seed_same_split_other_seed_differs():
    a, b, c = load(seed=3), load(seed=3), load(seed=4)
    assert torch.equal(a.train_tensors[0][0], b.train_tensors[0][0])
    assert torch.equal(a.val_tensors[1], b.val_tensors[1])
    assert not torch.equal(a.train_tensors[1], c.train_tensors[1])


def test_digits_without_validation_or_standardisation():
    bundle = load(val_fraction=0, params={"normalize": False})
    assert bundle.val is None and bundle.val_tensors is None and len(bundle.train) == 1797
    x = bundle.train_tensors[0][0]
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0


def test_digits_as_autoencoder_data_stays_in_unit_range():
    bundle = load(target="input")
    assert bundle.task == "reconstruction" and bundle.classes is None
    (x,), target = bundle.train_tensors
    assert torch.equal(x, target) and float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert bundle.target_info == bundle.input_infos[0]


def test_make_digits_script_reads_a_csv_gz(tmp_path):
    spec = importlib.util.spec_from_file_location("make_digits", ROOT / "scripts" / "make_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    table = np.concatenate([rng.integers(0, 17, (1797, 64)), (np.arange(1797) % 10)[:, None]], axis=1)
    source = tmp_path / "digits.csv.gz"
    source.write_bytes(gzip.compress("\n".join(",".join(map(str, row)) for row in table).encode()))
    out = tmp_path / "digits.npz"
    assert module.main([str(source), "--out", str(out)]) == 0
    with np.load(out) as archive:
        assert np.array_equal(archive["images"].reshape(1797, 64), table[:, :64])
        assert np.array_equal(archive["labels"], table[:, 64])
    with pytest.raises(ValueError, match="1797 rows"):
        module.parse(gzip.compress(b"1,2,3\n"))
