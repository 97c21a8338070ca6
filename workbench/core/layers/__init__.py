"""The built-in layers, one module per family. Each family exposes `SPECS`."""

from __future__ import annotations

from workbench.core.catalog import Catalog

FAMILIES = (
    "io",
    "dense",
    "conv",
    "conv_nd",
    "pool",
    "pool_nd",
    "norm",
    "norm_nd",
    "activation",
    "activation_more",
    "regularisation",
    "regularisation_more",
    "resample",
    "padding",
    "shape",
    "tensor_ops",
    "merge",
    "reduce",
    "similarity",
    "recurrent",
    "sequence",
    "vit",
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
