"""Plugins load when a project needs them, because loading them imports torch.

Plugin files define torch modules (and imported models need FxModule, which is torch
too), so loading them up front would cost every command and the window's start the
seconds torch takes to import. `workbench summary/validate/code` and the window load a
project with the built-in layers first and load the plugins only when it names a layer
type the catalog lacks (`unknown_types`), then read it again.
"""

from __future__ import annotations

from workbench.core.graph import Graph

__all__ = ["unknown_types"]


def unknown_types(graph: Graph) -> set[str]:
    """Layer types the graph or one of its blocks uses that its catalog does not hold."""
    types = {node.type for node in graph.nodes.values()}
    for body in graph.blocks.values():  # a block's layers are the project's too
        nodes = body.get("nodes") if isinstance(body, dict) else None
        types.update(n.get("type") for n in (nodes or []) if isinstance(n, dict))
    return {t for t in types if isinstance(t, str) and t not in graph.catalog}
