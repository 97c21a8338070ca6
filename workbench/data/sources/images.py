"""Shared image plumbing: uint8 [N, C, H, W] -> float [0, 1] (resized, normalised), either
all at once (in memory, offered to the Trainer) or per item (large sets)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from workbench.data.request import IN_MEMORY_BYTES

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
_CHUNK = 1024


def image_shape(request, default=(1, 28, 28)) -> tuple[int, int, int]:
    """[C, H, W] of the first Input when it is an image, else `default`."""
    info = request.input_info(0)
    if info is not None and len(info.shape) == 3 and all(d >= 1 for d in info.shape):
        return tuple(int(d) for d in info.shape)  # type: ignore[return-value]
    return default


def fits_in_memory(n: int, shape, limit: int = IN_MEMORY_BYTES) -> bool:
    """Whether n float32 items of `shape` take at most `limit` bytes."""
    size = 4 * n
    for d in shape:
        size *= int(d)
    return size <= limit


def convert(images: torch.Tensor, size=None, mean=None, std=None) -> torch.Tensor:
    """uint8 [N, C, H, W] (or one image [C, H, W]) -> float32, optionally resized to
    size=(H, W) (bilinear, antialiased) and normalised per channel."""
    single = images.dim() == 3
    x = images.unsqueeze(0) if single else images
    out = []
    for start in range(0, len(x), _CHUNK):
        block = x[start : start + _CHUNK].float().div_(255.0)
        if size is not None and tuple(block.shape[-2:]) != tuple(size):
            block = F.interpolate(block, size=tuple(size), mode="bilinear", antialias=True, align_corners=False)
        if mean is not None:
            m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
            s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
            block = (block - m) / s
        out.append(block)
    result = torch.cat(out) if out else x.float()
    return result[0] if single else result


class UInt8ImageSet(Dataset):
    """uint8 images kept as they are, converted one item at a time."""

    def __init__(self, images: torch.Tensor, targets: torch.Tensor, size=None, mean=None, std=None) -> None:
        self.images = images
        self.targets = targets
        self.size = size
        self.mean = mean
        self.std = std

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        return (convert(self.images[index], self.size, self.mean, self.std),), self.targets[index]

    def output_shape(self) -> tuple[int, ...]:
        c, h, w = self.images.shape[1:]
        return (int(c), *(self.size or (int(h), int(w))))
