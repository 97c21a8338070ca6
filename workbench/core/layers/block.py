"""The generic Block layer: a project's named sub-graph used as one node (see core/blocks.py)."""

from __future__ import annotations

from workbench.core.blocks import BLOCK

SPECS = (BLOCK,)
