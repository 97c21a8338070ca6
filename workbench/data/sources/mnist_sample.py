"""`mnist_sample`: 10,000 real MNIST digits that ship with the app, so an MNIST model trains
offline out of the box (the full set, `torchvision` MNIST, needs a download).

The split is by `val_fraction`. Pixels are scaled to [0, 1], then normalised with the full
MNIST set's mean and std (as the `torchvision` source does), unless `normalize` is false or
the data is a reconstruction target: a model trained on the sample sees the same inputs as
one trained on the full set. Items are [1, 28, 28] float32 images. The file is made by
scripts/make_mnist_sample.py; resources/datasets/README.md gives its source and licence.
"""

from __future__ import annotations

import torch

from workbench.data.bundle import DataBundle
from workbench.data.request import Request, tensor_bundle
from workbench.data.sources.digits import read_bundled
from workbench.data.sources.images import convert
from workbench.data.sources.vision import DATASETS
from workbench.data.splits import split_tensors
from workbench.paths import RESOURCES

MNIST_SAMPLE_FILE = RESOURCES / "datasets" / "mnist_sample.npz"
CLASSES = [str(d) for d in range(10)]


def load(request: Request) -> DataBundle:
    params = request.params
    params.check_known({"normalize"})
    normalize = params.bool("normalize", True) and not request.reconstruction
    mean, std = DATASETS["MNIST"] if normalize else ([0.0], [1.0])
    images, labels = read_bundled(MNIST_SAMPLE_FILE, "scripts/make_mnist_sample.py")
    x = convert(torch.from_numpy(images).unsqueeze(1), None, mean, std)
    y = torch.from_numpy(labels.astype("int64"))
    train, val = split_tensors((x,), y, request.val_fraction, request.seed)
    return tensor_bundle(
        train,
        val,
        task="classification",
        names=("image",),
        source="mnist_sample",
        modality="images",
        classes=list(CLASSES),
        description=f"MNIST sample: {len(y):,} real 28x28 handwritten digits bundled with the app "
        f"({len(train[1]):,} train, {len(val[1]) if val else 0:,} validation); the full set is torchvision MNIST",
        extra={"mean": list(mean), "std": list(std)},
    )
