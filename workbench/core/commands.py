"""Undoable edits as plain-Python commands that only call the graph's mutation API.

The GUI wraps each command in a QUndoCommand (ui/undo.py); the CLI and tests use the
UndoStack below. A command's `redo` may raise a GraphError the first time, in which
case nothing changed and it must not be pushed. Commands with equal `merge_key`
pushed one after another merge (typing into a field, dragging a node).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from workbench.core.graph import Edge, Graph, GraphError

__all__ = [
    "AddNode",
    "Command",
    "Connect",
    "Disconnect",
    "Macro",
    "MoveNodes",
    "RemoveNode",
    "SetParams",
    "UndoStack",
]


class Command:
    text = ""

    def redo(self, graph: Graph) -> None:
        raise NotImplementedError

    def undo(self, graph: Graph) -> None:
        raise NotImplementedError

    def merge_key(self) -> Any:
        """Commands with the same non-None key merge when pushed consecutively."""
        return None

    def merge(self, newer: "Command") -> bool:
        return False


@dataclass
class AddNode(Command):
    node_id: str
    type_name: str
    params: dict = field(default_factory=dict)
    pos: tuple[float, float] = (0.0, 0.0)

    @property
    def text(self) -> str:
        return f"Add {self.type_name}"

    def redo(self, graph: Graph) -> None:
        graph.add_node(self.node_id, self.type_name, self.params, self.pos)

    def undo(self, graph: Graph) -> None:
        graph.remove_node(self.node_id)


@dataclass
class RemoveNode(Command):
    """Removes a node with its edges; undo puts both back exactly, ports included."""

    node_id: str
    _saved: dict | None = None
    _edges: list[Edge] = field(default_factory=list)
    _edge_positions: list[int] = field(default_factory=list)
    _index: int = 0

    @property
    def text(self) -> str:
        return f"Delete {self.node_id}"

    def redo(self, graph: Graph) -> None:
        self._index = list(graph.nodes).index(self.node_id) if self.node_id in graph else 0
        self._edge_positions = [i for i, e in enumerate(graph.edges) if self.node_id in (e.source, e.target)]
        node, edges = graph.remove_node(self.node_id)
        self._saved = node.to_dict()
        self._edges = edges

    def undo(self, graph: Graph) -> None:
        saved = self._saved
        graph.add_node(saved["id"], saved["type"], saved["params"], saved["pos"], allow_missing=True)
        _reorder_last_node(graph, self._index)
        for position, edge in sorted(zip(self._edge_positions, self._edges)):
            graph.connect(edge.source, edge.target, edge.source_port, edge.target_port)
            graph.edges.insert(position, graph.edges.pop())


def _reorder_last_node(graph: Graph, index: int) -> None:
    """Put the most recently added node back at `index`, so undo restores node order."""
    nodes = graph.nodes
    items = list(nodes.items())
    last = items.pop()
    items.insert(index, last)
    nodes.clear()
    nodes.update(items)


@dataclass
class Connect(Command):
    source: str
    target: str
    source_port: int = 0
    target_port: int = 0

    text = "Connect"

    def redo(self, graph: Graph) -> None:
        graph.connect(self.source, self.target, self.source_port, self.target_port)

    def undo(self, graph: Graph) -> None:
        graph.disconnect(Edge(self.source, self.target, self.source_port, self.target_port))


@dataclass
class Disconnect(Command):
    edge: Edge
    _index: int = 0

    text = "Disconnect"

    def redo(self, graph: Graph) -> None:
        self._index = graph.edges.index(self.edge) if self.edge in graph.edges else 0
        graph.disconnect(self.edge)

    def undo(self, graph: Graph) -> None:
        e = self.edge
        graph.connect(e.source, e.target, e.source_port, e.target_port)
        graph.edges.insert(self._index, graph.edges.pop())


@dataclass
class SetParams(Command):
    """Set some parameters of one node; `None` as a value removes it (back to default)."""

    node_id: str
    changes: dict
    _before: dict | None = None

    @property
    def text(self) -> str:
        return f"Edit {self.node_id}." + ", ".join(sorted(self.changes))

    def redo(self, graph: Graph) -> None:
        node = graph.node(self.node_id)
        if not isinstance(self.changes, dict):
            raise GraphError(f"parameter changes for {self.node_id!r} must be an object")
        if self._before is None:
            self._before = copy.deepcopy(node.params)
        after = copy.deepcopy(self._before)
        for name, value in self.changes.items():
            if value is None:
                after.pop(name, None)
            else:
                after[name] = copy.deepcopy(value)
        graph.set_params(self.node_id, after)

    def undo(self, graph: Graph) -> None:
        graph.set_params(self.node_id, self._before)

    def merge_key(self):
        return ("params", self.node_id, tuple(sorted(self.changes)))

    def merge(self, newer: Command) -> bool:
        if not isinstance(newer, SetParams) or newer.merge_key() != self.merge_key():
            return False
        self.changes = dict(newer.changes)
        return True


@dataclass
class MoveNodes(Command):
    """Move several nodes at once: a whole drag is one undo step."""

    moves: dict[str, tuple[tuple[float, float], tuple[float, float]]]  # id -> (old, new)

    text = "Move"

    def redo(self, graph: Graph) -> None:
        graph.move_nodes({node_id: new for node_id, (_, new) in self.moves.items()})

    def undo(self, graph: Graph) -> None:
        graph.move_nodes({node_id: old for node_id, (old, _) in self.moves.items()})

    def merge_key(self):
        return ("move", tuple(sorted(self.moves)))

    def merge(self, newer: Command) -> bool:
        if not isinstance(newer, MoveNodes) or newer.merge_key() != self.merge_key():
            return False
        self.moves = {k: (self.moves[k][0], newer.moves[k][1]) for k in self.moves}
        return True


@dataclass
class Macro(Command):
    """Several commands as one undo step; if one fails, those already done are undone."""

    label: str
    commands: list[Command]

    @property
    def text(self) -> str:
        return self.label

    def redo(self, graph: Graph) -> None:
        done: list[Command] = []
        try:
            for command in self.commands:
                command.redo(graph)
                done.append(command)
        except Exception:
            for command in reversed(done):
                command.undo(graph)
            raise

    def undo(self, graph: Graph) -> None:
        for command in reversed(self.commands):
            command.undo(graph)


class UndoStack:
    """A minimal Qt-free undo stack with the same merge semantics as QUndoStack."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._done: list[Command] = []
        self._undone: list[Command] = []

    def push(self, command: Command) -> None:
        command.redo(self.graph)
        self._undone.clear()
        if self._done and command.merge_key() is not None and self._done[-1].merge(command):
            return
        self._done.append(command)

    def undo(self) -> bool:
        if not self._done:
            return False
        command = self._done.pop()
        command.undo(self.graph)
        self._undone.append(command)
        return True

    def redo(self) -> bool:
        if not self._undone:
            return False
        command = self._undone.pop()
        command.redo(self.graph)
        self._done.append(command)
        return True

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)
