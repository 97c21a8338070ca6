"""A private catalog per test, so plugins loaded here never leak into the process-wide one."""

from __future__ import annotations

import textwrap
from pathlib import Path

from workbench.core.catalog import Catalog, default_catalog


def fresh_catalog() -> Catalog:
    catalog = Catalog()
    for spec in default_catalog():
        if spec.category not in ("Plugins", "imported"):
            catalog.register(spec)
    return catalog


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


LAYER = '''
    from torch import nn

    from workbench.core.catalog import Constructor, LayerSpec


    class {cls}(nn.Module):
        def forward(self, x):
            return x * 2


    SPEC = LayerSpec(name="{name}", category="Plugins", doc="doubles", construct=lambda i, p: Constructor({cls}))


    def register(catalog):
        catalog.register(SPEC)
'''


def layer_source(name: str, cls: str = "Twice") -> str:
    return LAYER.format(name=name, cls=cls)
