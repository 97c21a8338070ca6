"""`torchvision`: MNIST, FashionMNIST or CIFAR10 from a local folder.

params: name (required), root (relative to the project's folder; default: the per-user
datasets folder that every project shares, see data/paths.default_datasets_root),
download (false: never fetches unless asked; when asked, writes only under the root; the
Data dock's Download button and `workbench train --download` fetch with progress, see
data/download.py),
use_test_split (true: validate on the dataset's own test set; false: split the training set
by val_fraction), resize ([H, W], a number, or true for the
Input's H x W; default: the native size), normalize (true: the dataset's usual per-channel
mean/std; false, or a reconstruction target: [0, 1]).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from workbench.core.tensors import INT, TensorInfo
from workbench.data.bundle import DataBundle, DataError
from workbench.data.paths import check_download_root, default_datasets_root
from workbench.data.request import Request, dataset_bundle, tensor_bundle
from workbench.data.sources.images import UInt8ImageSet, convert, fits_in_memory
from workbench.data.splits import split_indices
from workbench import lazy

# name -> (mean, std) per channel
DATASETS = {
    "MNIST": ([0.1307], [0.3081]),
    "FashionMNIST": ([0.2860], [0.3530]),
    "CIFAR10": ([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]),
}
# name -> what a download writes under the root (torchvision's raw_folder, or filename and base_folder)
DOWNLOAD_WRITES = {
    "MNIST": ("MNIST/raw",),
    "FashionMNIST": ("FashionMNIST/raw",),
    "CIFAR10": ("cifar-10-python.tar.gz", "cifar-10-batches-py"),
}


def open_dataset(name: str, root: Path, train: bool, download: bool):
    cls = getattr(lazy.load("torchvision.datasets"), name)
    try:
        return cls(str(root), train=train, download=download)
    except Exception as exc:  # torchvision raises RuntimeError, URLError, OSError...
        if not download:
            from workbench.data.download import download_hint

            raise DataError(download_hint(name, root)) from exc
        raise DataError(f"could not download {name} to {root}: {exc}") from exc


def arrays(dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 [N, C, H, W], int64 [N]) from MNIST-style tensors or CIFAR-style HWC arrays."""
    data = dataset.data
    images = torch.from_numpy(np.ascontiguousarray(data)) if isinstance(data, np.ndarray) else data
    if images.dim() == 3:
        images = images.unsqueeze(1)
    elif images.shape[-1] in (1, 3):
        images = images.permute(0, 3, 1, 2)
    return images.contiguous(), torch.as_tensor(dataset.targets, dtype=torch.int64)


def read_resize(request: Request) -> tuple[int, int] | None:
    params = request.params
    value = params.raw("resize", None)
    if value is None or value is False:
        return None
    if value is True:
        info = request.input_info(0)
        if info is None or len(info.shape) != 3:
            raise params.error("resize", "is true, but the graph has no [C, H, W] image Input to take the size from")
        return int(info.shape[1]), int(info.shape[2])
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value, value
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        return int(value[0]), int(value[1])
    raise params.error("resize", f"must be [height, width], a number or true, got {value!r}")


def load(request: Request) -> DataBundle:
    params = request.params
    params.check_known({"name", "root", "download", "use_test_split", "resize", "normalize"})
    name = params.str("name", choices=list(DATASETS))
    root = params.path("root", request.base_dir, default=str(default_datasets_root()), kind="folder", exists=False)
    download = params.bool("download", False)
    if download:
        check_download_root(root, DOWNLOAD_WRITES[name], params.field("root"))
    use_test_split = params.bool("use_test_split", True)
    size = read_resize(request)
    normalize = params.bool("normalize", True) and not request.reconstruction
    mean, std = DATASETS[name] if normalize else (None, None)
    dataset = open_dataset(name, root, True, download)
    images, labels = arrays(dataset)
    if use_test_split:
        val_images, val_labels = arrays(open_dataset(name, root, False, download))
    else:
        train_idx, val_idx = split_indices(len(labels), request.val_fraction, request.seed)
        val_images, val_labels = images[val_idx], labels[val_idx]
        images, labels = images[train_idx], labels[train_idx]
    has_val = len(val_labels) > 0
    c = int(images.shape[1])
    shape = (c, *(size or tuple(int(d) for d in images.shape[2:])))
    extra = {"mean": list(mean or [0.0] * c), "std": list(std or [1.0] * c), "root": str(root)}
    common = dict(
        task="classification",
        names=("image",),
        source=name,
        modality="images",
        classes=list(dataset.classes),
        description=f"torchvision {name} from {root}: {len(labels)} training images"
        + (f", {len(val_labels)} for validation ({'test split' if use_test_split else 'val_fraction'})" if has_val else ""),
        extra=extra,
    )
    if fits_in_memory(len(labels) + len(val_labels), shape):
        train = ((convert(images, size, mean, std),), labels)
        val = ((convert(val_images, size, mean, std),), val_labels) if has_val else None
        return tensor_bundle(train, val, **common)
    return dataset_bundle(
        UInt8ImageSet(images, labels, size, mean, std),
        UInt8ImageSet(val_images, val_labels, size, mean, std) if has_val else None,
        input_infos=(TensorInfo(shape),),
        target_info=TensorInfo((), INT),
        **common,
    )
