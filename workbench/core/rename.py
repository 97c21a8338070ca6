"""Renaming a node: the id changes, everything that names it follows, and the node remembers.

A node id is what edges, weight ties (a Linear's `tie_weight`) and generated code call the
node, so a rename rewires the node's edges (same ports, same order), renames the ties that
point at it, and keeps the node's place in the file. The node records its earlier ids in
`renamed_from` (oldest first, kept in the project file with the node), so comparing two
runs (core/diff.py) shows "fc1 renamed to classifier" instead of a node removed and another
added.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from workbench.core.commands import Command
from workbench.core.graph import DuplicateNodeError, Edge, Graph, GraphError, check_node_id
from workbench.core.tying import TIE_PARAM

__all__ = ["RENAMED_FROM", "MAX_HISTORY", "RenameNode", "rename_problem"]

RENAMED_FROM = "renamed_from"
MAX_HISTORY = 16  # earlier ids a node remembers (a bound: a node's history is data in a file)


def rename_problem(graph: Graph, old: str, new: str) -> str | None:
    """Why `old` cannot become `new`, or None when it can."""
    if old not in graph:
        return f"no node with id {old!r}"
    if new == old:
        return None
    try:
        check_node_id(new)
    except GraphError as exc:
        return str(exc)
    if new in graph:
        return f"a node with id {new!r} already exists"
    return None


def _rename(graph: Graph, old: str, new: str, history: list[str] | None) -> None:
    """Move node `old` to id `new` in place: its edges, its position in the node and edge
    order, and the ties that name it; `history` becomes its `renamed_from` (None: drop it)."""
    node_order = [new if n == old else n for n in graph.nodes]
    edge_order = [_moved(e, old, new) for e in graph.edges]
    node, edges = graph.remove_node(old)
    added = graph.add_node(new, node.type, node.params, node.pos, allow_missing=True)
    added.extra = copy.deepcopy(node.extra)
    if history:
        added.extra[RENAMED_FROM] = history
    else:
        added.extra.pop(RENAMED_FROM, None)
    for edge in edges:
        graph.restore_edge(_moved(edge, old, new).to_dict())
    graph.set_order(node_ids=node_order, edges=edge_order)
    for other in graph:
        if other.params.get(TIE_PARAM) == old and other.id != new:
            graph.set_params(other.id, {**other.params, TIE_PARAM: new})


def _moved(edge: Edge, old: str, new: str) -> Edge:
    return Edge(new if edge.source == old else edge.source, new if edge.target == old else edge.target,
                edge.source_port, edge.target_port)


@dataclass
class RenameNode(Command):
    old: str
    new: str
    _history: list[str] | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return f"Rename {self.old} to {self.new}"

    def redo(self, graph: Graph) -> None:
        problem = rename_problem(graph, self.old, self.new)
        if problem is not None:
            raise DuplicateNodeError(problem) if self.new in graph else GraphError(problem)
        if self.new == self.old:
            return
        before = graph.node(self.old).extra.get(RENAMED_FROM)
        self._history = copy.deepcopy(before) if isinstance(before, list) else None
        earlier = [h for h in (self._history or []) if isinstance(h, str) and h != self.new]
        _rename(graph, self.old, self.new, (earlier + [self.old])[-MAX_HISTORY:])

    def undo(self, graph: Graph) -> None:
        if self.new != self.old:
            _rename(graph, self.new, self.old, self._history)
