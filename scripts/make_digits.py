"""Build resources/datasets/digits.npz: the UCI optical recognition of handwritten digits set.

The 1,797 8x8 greyscale images (pixel values 0..16) and their labels 0..9 are the copy that
scikit-learn bundles as `sklearn/datasets/data/digits.csv.gz` (64 pixel columns then the
label, no header). scikit-learn is not a dependency of the workbench: fetch its wheel once
and point this script at it (or at the extracted csv.gz):

    pip download --no-deps -d /tmp/skl scikit-learn
    python scripts/make_digits.py /tmp/skl/scikit_learn-*.whl

Source: E. Alpaydin, C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine
Learning Repository (CC BY 4.0), https://doi.org/10.24432/C50P49 (test set part).
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

MEMBER = "sklearn/datasets/data/digits.csv.gz"
OUT = Path(__file__).resolve().parent.parent / "resources" / "datasets" / "digits.npz"


def read_csv_gz(source: Path) -> bytes:
    """The gzip-compressed csv, from a scikit-learn wheel or a plain digits.csv.gz file."""
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as wheel:
            return wheel.read(MEMBER)
    return source.read_bytes()


def parse(compressed: bytes) -> tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(io.BytesIO(gzip.decompress(compressed)), delimiter=",", dtype=np.float64)
    if table.shape != (1797, 65):
        raise ValueError(f"expected 1797 rows of 65 columns, got {table.shape}")
    pixels, labels = table[:, :64], table[:, 64]
    if pixels.min() < 0 or pixels.max() > 16 or not np.array_equal(pixels, np.round(pixels)):
        raise ValueError("pixel values must be whole numbers 0..16")
    if set(np.unique(labels).tolist()) != set(range(10)):
        raise ValueError("labels must be the digits 0..9")
    return pixels.astype(np.uint8).reshape(-1, 8, 8), labels.astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a scikit-learn wheel or digits.csv.gz")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    images, labels = parse(read_csv_gz(args.source))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, images=images, labels=labels)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes): images {images.shape} uint8, labels {labels.shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
