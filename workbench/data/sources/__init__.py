"""Data sources by name. Each module has `load(request) -> DataBundle`; modules are
imported on first use, so reading the bundled digits never pays for torchvision."""

from __future__ import annotations

import importlib

SOURCES = {
    "digits": "digits",
    "mnist_sample": "mnist_sample",
    "synthetic": "synthetic",
    "torchvision": "vision",
    "image_folder": "image_folder",
    "csv": "tabular",
    "audio_folder": "audio",
    "speechcommands": "speechcommands",
    "text_csv": "text",
    "text_corpus": "corpus",
}


def loader(name: str):
    module = importlib.import_module(f"{__name__}.{SOURCES[name]}")
    return module.load
