"""`shapes`: synthetic images of a filled circle, square or triangle (3 classes).

Random centre, size and brightness (a random colour when C > 1), a little pixel noise,
values clipped to [0, 1] — so they suit both classifiers and autoencoders with a Sigmoid
output. [C, H, W] comes from the graph's Input shape, default [1, 28, 28].
"""

from __future__ import annotations

import numpy as np
import torch

from workbench.data.bundle import DataError
from workbench.data.request import IN_MEMORY_BYTES, Generated
from workbench.data.sources.images import image_shape

CLASSES = ["circle", "square", "triangle"]
_CHUNK = 256


def generate(request, params, rng: np.random.Generator, n: int) -> Generated:
    noise = params.float("noise", 0.05, minimum=0.0)
    c, h, w = image_shape(request)
    if min(h, w) < 4:
        raise DataError(f"synthetic shapes need images of at least 4x4 pixels; the Input is {h}x{w}")
    if n * c * h * w * 4 > IN_MEMORY_BYTES:
        raise DataError(f"{n} images of {c}x{h}x{w} need {n * c * h * w * 4 / 2**20:.0f} MiB; lower data.params.n")
    labels = np.arange(n) % len(CLASSES)
    size = min(h, w)
    radius = rng.uniform(0.15, 0.35, n) * size
    cx = rng.uniform(radius, w - radius)
    cy = rng.uniform(radius, h - radius)
    colour = rng.uniform(0.4, 1.0, (n, c))
    images = np.empty((n, c, h, w), dtype=np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    for start in range(0, n, _CHUNK):
        rows = slice(start, min(start + _CHUNK, n))
        r, x0, y0 = radius[rows, None, None], cx[rows, None, None], cy[rows, None, None]
        dx, dy = xs - x0, ys - y0
        circle = dx**2 + dy**2 <= r**2
        square = (np.abs(dx) <= r * 0.85) & (np.abs(dy) <= r * 0.85)
        triangle = (dy >= -r) & (dy <= r) & (np.abs(dx) <= (dy + r) / 2)
        kind = labels[rows, None, None]
        mask = np.where(kind == 0, circle, np.where(kind == 1, square, triangle)).astype(np.float32)
        block = mask[:, None] * colour[rows, :, None, None].astype(np.float32)
        if noise > 0:
            block += rng.normal(0.0, noise, block.shape).astype(np.float32)
        images[rows] = np.clip(block, 0.0, 1.0)
    return Generated(
        inputs=(torch.from_numpy(images),),
        target=torch.from_numpy(labels.astype(np.int64)),
        task="classification",
        names=("image",),
        modality="images",
        classes=list(CLASSES),
        description=f"{n} synthetic {c}x{h}x{w} images of circles, squares and triangles",
        extra={"mean": [0.0] * c, "std": [1.0] * c},
    )
