"""`digits`: the UCI optical digits bundled with the app (1,797 8x8 images, 10 classes).

Pixels 0..16 are scaled to [0, 1], then standardised with the training split's mean and
std (one value for all pixels) unless `normalize` is false or the data is a reconstruction
target. Items are [1, 8, 8] float32 images. The file is made by scripts/make_digits.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from workbench.data.bundle import DataBundle, DataError
from workbench.data.request import Request, standardise, tensor_bundle
from workbench.data.splits import split_tensors
from workbench.paths import RESOURCES

DIGITS_FILE = RESOURCES / "datasets" / "digits.npz"
CLASSES = [str(d) for d in range(10)]


def read_bundled(path: Path, script: str) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) of a dataset file that ships with the app (made by `script`)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return archive["images"], archive["labels"]
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"the bundled data file {path} is missing or damaged ({exc}); rebuild it with {script}") from exc


def read_digits(path=DIGITS_FILE) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [1797, 8, 8] with values 0..16, labels uint8 [1797])."""
    return read_bundled(path, "scripts/make_digits.py")


def load(request: Request) -> DataBundle:
    params = request.params
    params.check_known({"normalize"})
    normalize = params.bool("normalize", True) and not request.reconstruction
    images, labels = read_digits()
    x = torch.from_numpy(images.astype(np.float32) / 16.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    train, val = split_tensors((x,), y, request.val_fraction, request.seed)
    extra = {"mean": [0.0], "std": [1.0]}
    if normalize:
        x_train, x_val, mean, std = standardise(train[0][0], val[0][0] if val else torch.empty(0, 1, 8, 8))
        train, val = ((x_train,), train[1]), (((x_val,), val[1]) if val else None)
        extra = {"mean": [float(mean)], "std": [float(std)]}
    return tensor_bundle(
        train,
        val,
        task="classification",
        names=("image",),
        source="digits",
        modality="images",
        classes=list(CLASSES),
        description="UCI optical digits: 1,797 8x8 greyscale images of the digits 0-9",
        extra=extra,
    )
