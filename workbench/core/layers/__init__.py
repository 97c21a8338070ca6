"""The built-in layers, one module per family. Each family exposes `SPECS`."""

from __future__ import annotations

from workbench.core.catalog import Catalog

FAMILIES = (
    "io",
    "dense",
    "conv",
    "pool",
    "norm",
    "activation",
    "regularisation",
    "shape",
    "merge",
    "recurrent",
    "sequence",
    "gpt",
    "audio",
    "vision_backbones",
    "block",
)


def register_builtins(catalog: Catalog) -> None:
    """Register every built-in LayerSpec through the public API, family by family."""
    import importlib

    for family in FAMILIES:
        module = importlib.import_module(f"workbench.core.layers.{family}")
        for spec in module.SPECS:
            catalog.register(spec)
