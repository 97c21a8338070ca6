"""Editing a block's definition in place, as one undoable step on the project.

The block window (ui/block_view.py) edits a copy of the block's inner graph with its own
undo history and writes each result back here. Consecutive writes to one block merge into
one step of the project's history ("Edit block NAME"), so after the window closes one undo
in the main window takes the whole edit back. Every Block node is told its spec changed
(a params_changed event with the same params), so shapes, ports and the summary follow.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from workbench.core.commands import Command
from workbench.core.graph import Graph, GraphError

__all__ = ["SetBlockDefinition"]


@dataclass
class SetBlockDefinition(Command):
    name: str
    definition: dict
    _before: dict | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return f"Edit block {self.name}"

    def redo(self, graph: Graph) -> None:
        if self.name not in graph.blocks:
            raise GraphError(f"no block named {self.name!r} in this project")
        if not isinstance(self.definition, dict) or not isinstance(self.definition.get("graph"), dict):
            raise GraphError(f"a definition of block {self.name!r} must hold a graph")
        if self._before is None:
            self._before = copy.deepcopy(graph.blocks[self.name])
        _set(graph, self.name, self.definition)

    def undo(self, graph: Graph) -> None:
        _set(graph, self.name, self._before)

    def merge_key(self):
        return ("block", self.name)

    def merge(self, newer: Command) -> bool:
        if not isinstance(newer, SetBlockDefinition) or newer.name != self.name:
            return False
        self.definition = copy.deepcopy(newer.definition)
        return True


def _set(graph: Graph, name: str, definition: dict) -> None:
    graph.blocks[name] = copy.deepcopy({**definition, "name": name})
    for node in graph.nodes_of_type("Block"):  # blocks may nest: every Block node's spec may have changed
        graph.set_params(node.id, node.params)
