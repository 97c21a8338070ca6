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
    "GroupIntoBlock",
    "Macro",
    "MoveNodes",
    "RemoveNode",
    "SetParams",
    "UndoStack",
    "Ungroup",
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
        order = list(graph.nodes)
        order.insert(self._index, order.pop())
        graph.set_order(node_ids=order)
        _put_back_edges(graph, sorted(zip(self._edge_positions, self._edges)))


def _put_back_edges(graph: Graph, placed: list[tuple[int, Edge]]) -> None:
    """Restore removed edges at their old positions (sorted (position, edge) pairs).

    `restore_edge`, not `connect`: undo puts back what was there, even a loop that a
    hand-edited file brought in, so an undo can never be refused halfway."""
    if not placed:
        return
    for _, edge in placed:
        graph.restore_edge(edge.to_dict())
    rest = iter(graph.edges[: len(graph.edges) - len(placed)])
    order: list[Edge] = []
    for position, edge in placed:
        order.extend(next(rest) for _ in range(position - len(order)))
        order.append(edge)
    order.extend(rest)
    graph.set_order(edges=order)


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
        self._index = graph.edge_index(self.edge)  # refuses a port like 1.0 that only equals 1
        graph.disconnect(self.edge)

    def undo(self, graph: Graph) -> None:
        _put_back_edges(graph, [(self._index, self.edge)])


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


def _restore(graph: Graph, before: dict, blocks: dict) -> None:
    """Bring `graph` back to the serialised state `before` (node and edge order included),
    touching only what differs, so views get fine-grained events."""
    wanted = {n["id"]: n for n in before["nodes"]}
    want_edges = [Edge(e["source"], e["target"], e.get("source_port", 0), e.get("target_port", 0)) for e in before["edges"]]
    wanted_set = set(want_edges)
    for edge in [e for e in graph.edges if e not in wanted_set]:
        graph.disconnect(edge)
    for node_id in [n for n in graph.nodes if n not in wanted]:
        graph.remove_node(node_id)
    for node_id, data in wanted.items():
        if node_id not in graph:
            graph.restore_node(data)
        elif graph.nodes[node_id].to_dict() != data:
            graph.set_params(node_id, data.get("params") or {})
            graph.move_node(node_id, data.get("pos", (0, 0)))
    present = set(graph.edges)
    for edge, data in zip(want_edges, before["edges"]):
        if edge not in present:
            graph.restore_edge(data)
    graph.set_order(node_ids=wanted, edges=want_edges)
    graph.blocks.clear()
    graph.blocks.update(copy.deepcopy(blocks))


def _centre(positions) -> tuple[float, float]:
    positions = list(positions)
    if not positions:
        return (0.0, 0.0)
    return (
        round(sum(p[0] for p in positions) / len(positions)),
        round(sum(p[1] for p in positions) / len(positions)),
    )


@dataclass
class GroupIntoBlock(Command):
    """Replace the selected nodes by one Block node wired the same way, defining block
    `name` from them: each distinct tensor entering the selection becomes an inner Input
    (a block input port), each distinct tensor leaving it an inner Output."""

    node_ids: list[str]
    name: str
    block_id: str | None = None
    _before: dict | None = None
    _blocks_before: dict | None = None

    @property
    def text(self) -> str:
        return f"Group into block {self.name}"

    def redo(self, graph: Graph) -> None:
        from workbench.core.blocks import block_ports, make_definition
        from workbench.core.shapes import infer_shapes

        chosen = list(dict.fromkeys(self.node_ids))
        if not chosen:
            raise GraphError("select the nodes to group into a block")
        if not isinstance(self.name, str) or not self.name.strip():
            raise GraphError("a block needs a name")
        if self.name in graph.blocks:
            raise GraphError(f"a block named {self.name!r} already exists; choose another name")
        for node_id in chosen:
            if graph.node(node_id).type in ("Input", "Output"):
                raise GraphError(f"{node_id} is an {graph.node(node_id).type}; a block cannot contain model inputs or outputs")
        selected = set(chosen)
        outside_children = {e.target for e in graph.edges if e.source in selected and e.target not in selected}
        if graph.downstream(outside_children) & selected:
            raise GraphError("the selected nodes are not contiguous: a path leaves the selection and comes back")
        before = graph.to_dict()
        blocks_before = copy.deepcopy(graph.blocks)
        result = infer_shapes(graph)
        selected_order = [n for n in graph.nodes if n in selected]

        # the inner graph: Inputs, the selected nodes in graph order, Outputs
        from workbench.core.graph import Graph as _Graph

        inner = _Graph(graph.catalog)
        inner.blocks = graph.blocks
        incoming = [e for e in graph.edges if e.target in selected and e.source not in selected]
        outgoing = [e for e in graph.edges if e.source in selected and e.target not in selected]
        positions = [graph.nodes[n].pos for n in selected_order]
        top = min(p[1] for p in positions) - 120
        bottom = max(p[1] for p in positions) + 120
        reserved = set(selected)
        input_of: dict[tuple[str, int], str] = {}
        for e in incoming:
            key = (e.source, e.source_port)
            if key in input_of:
                continue
            info = result.output(e.source, e.source_port)
            params = {"shape": list(info.shape), "dtype": info.dtype} if info is not None else {}
            node_id = _fresh("input", reserved)
            x = graph.nodes[e.target].pos[0]
            inner.add_node(node_id, "Input", params, (x, top))
            input_of[key] = node_id
        for node_id in selected_order:
            node = graph.nodes[node_id]
            inner.add_node(node_id, node.type, node.params, node.pos, allow_missing=True)
        output_of: dict[tuple[str, int], str] = {}
        for e in outgoing:
            key = (e.source, e.source_port)
            if key in output_of:
                continue
            node_id = _fresh("output", reserved)
            inner.add_node(node_id, "Output", {}, (graph.nodes[e.source].pos[0], bottom))
            output_of[key] = node_id
        for e in graph.edges:
            if e.source in selected and e.target in selected:
                inner.restore_edge(e.to_dict())
        for e in incoming:
            inner.restore_edge({**e.to_dict(), "source": input_of[(e.source, e.source_port)], "source_port": 0})
        for key, out_id in output_of.items():
            inner.restore_edge({"source": key[0], "source_port": key[1], "target": out_id})
        in_ids, out_ids = block_ports(inner)

        # the outer graph: the selection becomes one Block node
        block_id = self.block_id or graph.unique_id(self.name)
        self._before, self._blocks_before = before, blocks_before
        try:
            for node_id in selected_order:
                graph.remove_node(node_id)
            graph.blocks[self.name] = make_definition(self.name, inner.to_dict())
            graph.add_node(block_id, "Block", {"block": self.name}, _centre(positions))
            for key, in_id in input_of.items():
                graph.connect(key[0], block_id, key[1], in_ids.index(in_id))
            for e in outgoing:
                port = out_ids.index(output_of[(e.source, e.source_port)])
                graph.connect(block_id, e.target, port, e.target_port)
        except Exception:
            _restore(graph, before, blocks_before)
            raise
        self.block_id = block_id

    def undo(self, graph: Graph) -> None:
        _restore(graph, self._before, self._blocks_before)


def _fresh(stem: str, taken: set[str]) -> str:
    i = 0
    while True:
        candidate = stem if i == 0 else f"{stem}{i}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate
        i += 1


@dataclass
class Ungroup(Command):
    """Replace a Block node by the nodes of its definition, wired the same way (inner ids
    that clash with the graph's get fresh ones); the definition stays in the project."""

    node_id: str
    _before: dict | None = None
    _blocks_before: dict | None = None
    added: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return f"Ungroup {self.node_id}"

    def redo(self, graph: Graph) -> None:
        from workbench.core.blocks import block_ports, inner_graph

        node = graph.node(self.node_id)
        name = node.params.get("block")
        if node.type != "Block" or name not in graph.blocks:
            raise GraphError(f"{self.node_id} is not a block with a definition in this project")
        inner = inner_graph(graph.blocks[name], graph.catalog, graph.blocks)
        in_ids, out_ids = block_ports(inner)
        before = graph.to_dict()
        blocks_before = copy.deepcopy(graph.blocks)
        feeds = {e.target_port: (e.source, e.source_port) for e in graph.in_edges(self.node_id)}
        uses: dict[int, list] = {}
        for e in graph.out_edges(self.node_id):
            uses.setdefault(e.source_port, []).append((e.target, e.target_port))
        body = [n for n in inner if n.type not in ("Input", "Output")]
        centre = _centre(n.pos for n in body)
        offset = (node.pos[0] - centre[0], node.pos[1] - centre[1])
        self._before, self._blocks_before = before, blocks_before
        try:
            graph.remove_node(self.node_id)
            mapping: dict[str, str] = {}
            for n in body:
                new_id = n.id if n.id not in graph else graph.unique_id(n.id)
                mapping[n.id] = new_id
                graph.add_node(new_id, n.type, n.params, (n.pos[0] + offset[0], n.pos[1] + offset[1]), allow_missing=True)

            def source(inner_source: str, port: int):
                if inner_source in mapping:
                    return mapping[inner_source], port
                if inner_source in in_ids:
                    return feeds.get(in_ids.index(inner_source))
                return None

            for e in inner.edges:
                if e.target in mapping:
                    src = source(e.source, e.source_port)
                    if src is not None:
                        graph.connect(src[0], mapping[e.target], src[1], e.target_port)
            for port, out_id in enumerate(out_ids):
                edges = inner.in_edges(out_id)
                src = source(edges[0].source, edges[0].source_port) if edges else None
                if src is None:
                    continue
                for target, target_port in uses.get(port, ()):
                    graph.connect(src[0], target, src[1], target_port)
        except Exception:
            _restore(graph, before, blocks_before)
            raise
        self.added = list(mapping.values())

    def undo(self, graph: Graph) -> None:
        _restore(graph, self._before, self._blocks_before)


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
        """Undo the last command; if its undo raises, the history is left as it was."""
        if not self._done:
            return False
        self._done[-1].undo(self.graph)
        self._undone.append(self._done.pop())
        return True

    def redo(self) -> bool:
        """Redo the last undone command; if its redo raises, the history is left as it was."""
        if not self._undone:
            return False
        self._undone[-1].redo(self.graph)
        self._done.append(self._undone.pop())
        return True

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)
