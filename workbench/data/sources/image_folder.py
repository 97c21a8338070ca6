"""`image_folder`: a folder of class sub-folders of images (torchvision ImageFolder layout).

params: path (required), val_path (optional: a second folder, same classes, used for
validation instead of val_fraction), normalize ("none": pixels in [0, 1]; "imagenet":
the ImageNet mean/std, for pretrained backbones).
Every image is converted to greyscale or RGB to match the Input's C (1 or 3) and resized
to its H x W (default [3, 64, 64]). Sets small enough are decoded once, up front.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from workbench.core.tensors import INT, TensorInfo
from workbench.data.bundle import DataBundle, DataError
from workbench.data.request import EAGER_FILE_BYTES, Request, dataset_bundle, tensor_bundle
from workbench.data.sources.images import IMAGENET_MEAN, IMAGENET_STD, convert, fits_in_memory, image_shape
from workbench.data.splits import split_indices
from workbench import lazy

NORMALIZE = ("none", "imagenet")


def read_image(path: str, mode: str, size: tuple[int, int]) -> torch.Tensor:
    """uint8 [C, H, W]; DataError naming the file when it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert(mode).resize((size[1], size[0]), Image.Resampling.BILINEAR)
            array = np.asarray(image, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DataError(f"cannot read image {path}: {exc}") from exc
    array = array[:, :, None] if array.ndim == 2 else array
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


class FileImageSet(Dataset):
    """Images read from disk per item: samples are (path, class index)."""

    def __init__(self, samples: list[tuple[str, int]], mode: str, size, mean=None, std=None) -> None:
        self.samples = samples
        self.mode = mode
        self.size = tuple(size)
        self.mean = mean
        self.std = std

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        image = convert(read_image(path, self.mode, self.size), None, self.mean, self.std)
        return (image,), torch.tensor(label, dtype=torch.int64)


def list_folder(root: Path, field: str):
    ImageFolder = lazy.load("torchvision.datasets").ImageFolder

    try:
        folder = ImageFolder(str(root))
    except (FileNotFoundError, OSError) as exc:
        raise DataError(f"{field} {root} holds no class sub-folders of images ({exc})") from exc
    return folder.samples, folder.classes


def load(request: Request) -> DataBundle:
    params = request.params
    params.check_known({"path", "val_path", "normalize"})
    root = params.path("path", request.base_dir, kind="folder")
    val_root = params.path("val_path", request.base_dir, kind="folder") if "val_path" in params else None
    normalize = params.raw("normalize", "none")
    normalize = "none" if normalize is False else normalize
    if normalize not in NORMALIZE:
        raise params.error("normalize", f'must be "none" or "imagenet", got {normalize!r}')
    c, h, w = image_shape(request, default=(3, 64, 64))
    if c not in (1, 3):
        raise DataError(f"image_folder makes greyscale (1 channel) or RGB (3 channels) images; the Input asks for {c}")
    mode = "L" if c == 1 else "RGB"
    mean, std = None, None
    if normalize == "imagenet" and not request.reconstruction:
        mean, std = (IMAGENET_MEAN, IMAGENET_STD) if c == 3 else ([sum(IMAGENET_MEAN) / 3], [sum(IMAGENET_STD) / 3])
    samples, classes = list_folder(root, params.field("path"))
    if val_root is not None:
        val_samples, val_classes = list_folder(val_root, params.field("val_path"))
        missing = sorted(set(val_classes) - set(classes))
        if missing:
            raise DataError(f"{params.field('val_path')} has classes the training folder lacks: {', '.join(missing)}")
        index = {name: i for i, name in enumerate(classes)}
        val_samples = [(path, index[val_classes[label]]) for path, label in val_samples]
    else:
        train_idx, val_idx = split_indices(len(samples), request.val_fraction, request.seed)
        val_samples = [samples[i] for i in val_idx.tolist()]
        samples = [samples[i] for i in train_idx.tolist()]
    common = dict(
        task="classification",
        names=("image",),
        source=f"image_folder '{root.name}'",
        modality="images",
        classes=list(classes),
        description=f"{root}: {len(samples)} training and {len(val_samples)} validation images, {c}x{h}x{w}",
        extra={"mean": list(mean or [0.0] * c), "std": list(std or [1.0] * c)},
    )
    if fits_in_memory(len(samples) + len(val_samples), (c, h, w), EAGER_FILE_BYTES):

        def decode(items):
            images = torch.stack([read_image(path, mode, (h, w)) for path, _ in items])
            return (convert(images, None, mean, std),), torch.tensor([label for _, label in items], dtype=torch.int64)

        return tensor_bundle(decode(samples), decode(val_samples) if val_samples else None, **common)
    return dataset_bundle(
        FileImageSet(samples, mode, (h, w), mean, std),
        FileImageSet(val_samples, mode, (h, w), mean, std) if val_samples else None,
        input_infos=(TensorInfo((c, h, w)),),
        target_info=TensorInfo((), INT),
        **common,
    )
