"""The model graph: nodes (layers), edges (tensors), and the events views listen to.

The graph is the single source of truth. Every edit goes through the mutation methods
here, which refuse illegal edits with typed errors and announce legal ones as events;
the canvas, the inspector and shape inference subscribe and never hold state of their
own. Node ids are stable strings that double as Python identifiers, because compile
names submodules and forward arguments after them.
"""

from __future__ import annotations

import copy
import keyword
import math
import re
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from workbench.core.catalog import Catalog, LayerSpec, default_catalog

__all__ = [
    "CycleError",
    "DuplicateEdgeError",
    "DuplicateNodeError",
    "Edge",
    "Graph",
    "GraphError",
    "GraphEvent",
    "InvalidIdError",
    "Node",
    "PortError",
    "UnknownLayerError",
    "UnknownNodeError",
    "missing_layer_message",
    "missing_layer_spec",
]


class GraphError(Exception):
    """Base of every refused edit."""


class UnknownNodeError(GraphError):
    pass


class DuplicateNodeError(GraphError):
    pass


class InvalidIdError(GraphError):
    pass


class UnknownLayerError(GraphError):
    pass


class DuplicateEdgeError(GraphError):
    pass


class PortError(GraphError):
    """A port number out of range, or an input port that already has an edge."""


class CycleError(GraphError):
    pass


_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")  # \Z: "$" would let a trailing newline through
_RESERVED = frozenset({"self", "torch", "nn", "math", "F", "torchvision", "torchaudio"})


def _module_attributes() -> frozenset[str]:
    from torch import nn

    return frozenset(dir(nn.Module()))


_MODULE_ATTRS: frozenset[str] | None = None


def check_node_id(node_id: Any) -> None:
    """Ids become attribute and argument names in generated code, so they must be safe there."""
    global _MODULE_ATTRS
    if _MODULE_ATTRS is None:
        _MODULE_ATTRS = _module_attributes()
    if not isinstance(node_id, str) or not _ID.match(node_id):
        raise InvalidIdError(
            f"node id {node_id!r} must start with a letter or _ and contain only letters, digits and _"
        )
    if keyword.iskeyword(node_id) or node_id in _RESERVED or node_id in _MODULE_ATTRS:
        raise InvalidIdError(f"node id {node_id!r} is a reserved name in PyTorch code; choose another")


@dataclass
class Node:
    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    pos: tuple[float, float] = (0.0, 0.0)
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version doesn't know, kept

    def to_dict(self) -> dict:
        pos = [int(v) if float(v).is_integer() else v for v in self.pos]
        data = {"id": self.id, "type": self.type, "params": copy.deepcopy(self.params), "pos": pos}
        data.update(copy.deepcopy(self.extra))
        return data


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    source_port: int = 0
    target_port: int = 0

    def to_dict(self) -> dict:
        data: dict[str, Any] = {"source": self.source, "target": self.target}
        if self.source_port:
            data["source_port"] = self.source_port
        if self.target_port:
            data["target_port"] = self.target_port
        return data


@dataclass(frozen=True)
class GraphEvent:
    """kind is one of: node_added, node_removed, params_changed, node_moved,
    edge_added, edge_removed, reset."""

    kind: str
    node: str | None = None
    edge: Edge | None = None


Listener = Callable[[GraphEvent], None]


class Graph:
    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog or default_catalog()
        self._nodes: dict[str, Node] = {}
        self._edges: list[Edge] = []
        self._listeners: list[Callable[[], Listener | None]] = []
        # block definitions by name (core/blocks.py); the project loader fills it
        self.blocks: dict[str, dict] = {}

    # ---- reading -------------------------------------------------------------
    @property
    def nodes(self) -> dict[str, Node]:
        return self._nodes

    @property
    def edges(self) -> list[Edge]:
        return self._edges

    def node(self, node_id: str) -> Node:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise UnknownNodeError(f"no node with id {node_id!r}") from None

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __iter__(self) -> Iterator[Node]:
        return iter(self._nodes.values())

    def __len__(self) -> int:
        return len(self._nodes)

    def in_edges(self, node_id: str) -> list[Edge]:
        return sorted((e for e in self._edges if e.target == node_id), key=lambda e: e.target_port)

    def out_edges(self, node_id: str) -> list[Edge]:
        return [e for e in self._edges if e.source == node_id]

    def successors(self, node_id: str) -> set[str]:
        return {e.target for e in self._edges if e.source == node_id}

    def downstream(self, node_ids: Iterable[str]) -> set[str]:
        """The given nodes and everything reachable from them."""
        children: dict[str, list[str]] = {}
        for e in self._edges:
            children.setdefault(e.source, []).append(e.target)
        seen: set[str] = set()
        stack = [n for n in node_ids if n in self._nodes]
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            stack.extend(children.get(n, ()))
        return seen

    def is_missing(self, node_id: str) -> bool:
        """True when the node's layer type is not in the catalog (a plugin that is not
        installed): the node keeps its params and edges but cannot compile."""
        return self.node(node_id).type not in self.catalog

    def spec(self, node_id: str) -> LayerSpec:
        """The node's LayerSpec, or for a missing layer type a placeholder (category
        "missing") with as many ports as its edges use, for views to draw."""
        node = self.node(node_id)
        if node.type in self.catalog:
            spec = self.catalog.get(node.type)
            if node.type == "Block":
                from workbench.core.blocks import bound_spec

                return bound_spec(spec, node.params.get("block"), self.blocks, self.catalog)
            return spec
        inputs = max((e.target_port + 1 for e in self._edges if e.target == node_id), default=1)
        outputs = max((e.source_port + 1 for e in self._edges if e.source == node_id), default=1)
        return missing_layer_spec(node.type, inputs, outputs)

    def nodes_of_type(self, type_name: str) -> list[Node]:
        return [n for n in self._nodes.values() if n.type == type_name]

    def unique_id(self, base: str, taken=()) -> str:
        """A fresh node id derived from `base` (a layer type or an existing id), also avoiding
        `taken` (ids chosen earlier in the same edit)."""
        stem = re.sub(r"[^A-Za-z0-9_]", "_", base).lower() or "node"
        if not re.match(r"[A-Za-z_]", stem):
            stem = "n_" + stem
        stem = re.sub(r"\d+$", "", stem) or stem
        i = 1
        while True:
            candidate = f"{stem}{i}"
            if candidate not in self._nodes and candidate not in taken and _is_valid_id(candidate):
                return candidate
            i += 1

    # ---- events ----------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Bound methods are held weakly, so a closed view stops listening by itself."""
        if hasattr(listener, "__self__") and hasattr(listener, "__func__"):
            self._listeners.append(weakref.WeakMethod(listener))
        else:
            self._listeners.append(lambda fn=listener: fn)

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners = [ref for ref in self._listeners if ref() not in (None, listener)]

    def _emit(self, event: GraphEvent) -> None:
        alive = []
        for ref in list(self._listeners):
            fn = ref()
            if fn is None:
                continue
            alive.append(ref)
            fn(event)
        if len(alive) != len(self._listeners):
            self._listeners = [r for r in self._listeners if r() is not None]

    # ---- mutation --------------------------------------------------------------
    def add_node(
        self, node_id: str, type_name: str, params: dict | None = None, pos=(0.0, 0.0), *, allow_missing: bool = False
    ) -> Node:
        """Add a node. An unknown layer type is refused unless `allow_missing` (loading a
        project or undoing a delete: the node is kept, marked missing, and cannot compile)."""
        check_node_id(node_id)
        if node_id in self._nodes:
            raise DuplicateNodeError(f"a node with id {node_id!r} already exists")
        if not isinstance(type_name, str) or not type_name:
            raise UnknownLayerError(f"a layer type must be a name, got {type_name!r}")
        if type_name not in self.catalog and not allow_missing:
            raise UnknownLayerError(f"unknown layer type {type_name!r}")
        if params is not None and not isinstance(params, dict):
            raise GraphError(f"params of {node_id!r} must be an object")
        node = Node(node_id, type_name, copy.deepcopy(params or {}), _pos(pos))
        self._nodes[node_id] = node
        self._emit(GraphEvent("node_added", node=node_id))
        return node

    def remove_node(self, node_id: str) -> tuple[Node, list[Edge]]:
        """Removes the node and its edges; returns both so undo can restore them."""
        node = self.node(node_id)
        removed = [e for e in self._edges if node_id in (e.source, e.target)]
        for edge in removed:
            self.disconnect(edge)
        del self._nodes[node_id]
        self._emit(GraphEvent("node_removed", node=node_id))
        return node, removed

    def set_params(self, node_id: str, params: dict) -> None:
        """Replace the node's explicit params (validation is shape inference's job)."""
        node = self.node(node_id)
        if not isinstance(params, dict):
            raise GraphError(f"params of {node_id!r} must be an object")
        node.params = copy.deepcopy(params)
        self._emit(GraphEvent("params_changed", node=node_id))

    def move_node(self, node_id: str, pos) -> None:
        self.move_nodes({node_id: pos})

    def move_nodes(self, positions: dict) -> None:
        """Move several nodes; all ids and positions are checked before any moves."""
        checked = {self.node(node_id).id: _pos(pos) for node_id, pos in positions.items()}
        for node_id, pos in checked.items():
            self._nodes[node_id].pos = pos
            self._emit(GraphEvent("node_moved", node=node_id))

    def connect(self, source: str, target: str, source_port: int = 0, target_port: int = 0) -> Edge:
        edge = Edge(source, target, source_port, target_port)
        self.check_connect(edge)
        self._edges.append(edge)
        self._emit(GraphEvent("edge_added", edge=edge))
        return edge

    def check_connect(self, edge: Edge) -> None:
        """Raise the typed error that connecting `edge` would cause, if any."""
        src, dst = self.node(edge.source), self.node(edge.target)
        for port in (edge.source_port, edge.target_port):
            if not isinstance(port, int) or isinstance(port, bool):
                raise PortError(f"port numbers must be whole numbers, got {port!r}")
        # A node of a missing layer type accepts any port >= 0: its spec is unknown.
        src_outputs = self.spec(src.id).outputs if src.type in self.catalog else None
        dst_spec = self.spec(dst.id) if dst.type in self.catalog else None
        if edge.source_port < 0 or (src_outputs is not None and edge.source_port >= src_outputs):
            raise PortError(f"{src.id} ({src.type}) has no output port {edge.source_port}")
        if edge.target_port < 0 or (dst_spec is not None and not dst_spec.accepts_input_port(edge.target_port)):
            raise PortError(f"{dst.id} ({dst.type}) has no input port {edge.target_port}")
        if edge in self._edges:
            raise DuplicateEdgeError(f"{edge.source} is already connected to {edge.target}")
        for e in self._edges:
            if e.target == edge.target and e.target_port == edge.target_port:
                label = dst_spec.input_label(edge.target_port) if dst_spec else f"input {edge.target_port}"
                raise PortError(
                    f"{dst.id} {label} is already fed by {e.source}; "
                    "disconnect it first"
                )
        if edge.source == edge.target or edge.source in self.downstream([edge.target]):
            raise CycleError(f"connecting {edge.source} to {edge.target} would make a cycle")

    def disconnect(self, edge: Edge) -> None:
        try:
            self._edges.remove(edge)
        except ValueError:
            raise GraphError(f"no edge from {edge.source} to {edge.target}") from None
        self._emit(GraphEvent("edge_removed", edge=edge))

    def clear(self) -> None:
        self._nodes.clear()
        self._edges.clear()
        self._emit(GraphEvent("reset"))

    # ---- serialisation ------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "nodes": [n.to_dict() for n in self._nodes.values()],
            "edges": [e.to_dict() for e in self._edges],
        }

    @classmethod
    def from_dict(cls, data: dict, catalog: Catalog | None = None) -> "Graph":
        """Build a graph from its serialised form. Raises GraphError naming the culprit.

        Cycles are loaded, not refused, so a hand-edited file still opens and shape
        inference can point at the nodes involved.
        """
        graph = cls(catalog)
        for node in data.get("nodes", []):
            graph.restore_node(node)
        for edge in data.get("edges", []):
            graph.restore_edge(edge)
        return graph

    def restore_node(self, data: dict) -> Node:
        """Add a node from its serialised form, keeping keys this version doesn't know.

        A layer type the catalog lacks is accepted (see `is_missing`), so a project that
        uses an uninstalled plugin still opens and keeps that node's params verbatim."""
        node = self.add_node(
            data["id"], data["type"], data.get("params") or {}, data.get("pos", (0, 0)), allow_missing=True
        )
        node.extra = {k: copy.deepcopy(v) for k, v in data.items() if k not in _NODE_KEYS}
        return node

    def restore_edge(self, data: dict) -> Edge:
        """Add an edge from its serialised form. Unlike `connect`, a cycle is accepted, so a
        hand-edited file still opens and shape inference can point at the loop."""
        edge = Edge(data["source"], data["target"], data.get("source_port", 0), data.get("target_port", 0))
        try:
            self.check_connect(edge)
        except CycleError:
            pass
        self._edges.append(edge)
        self._emit(GraphEvent("edge_added", edge=edge))
        return edge

    def copy(self) -> "Graph":
        graph = Graph.from_dict(self.to_dict(), self.catalog)
        graph.blocks = copy.deepcopy(self.blocks)
        return graph


_NODE_KEYS = frozenset({"id", "type", "params", "pos"})


def missing_layer_message(type_name: str) -> str:
    return f"missing layer type {type_name!r} (no installed plugin provides it)"


def missing_layer_spec(type_name: str, inputs: int = 1, outputs: int = 1) -> LayerSpec:
    """A stand-in for a layer type no installed plugin provides: it builds nothing."""

    def infer(inputs_, params):
        from workbench.core.tensors import ShapeError

        raise ShapeError(missing_layer_message(type_name))

    return LayerSpec(
        name=type_name,
        category="missing",
        doc=missing_layer_message(type_name),
        infer=infer,
        inputs=0,
        variadic=True,
        outputs=outputs,
        input_names=tuple(f"input {i}" for i in range(inputs)),
    )


def _is_valid_id(node_id: str) -> bool:
    try:
        check_node_id(node_id)
    except InvalidIdError:
        return False
    return True


def _pos(pos) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in pos)
    except (TypeError, ValueError, OverflowError):
        raise GraphError(f"a position must be two numbers [x, y], got {pos!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise GraphError(f"a position must be two finite numbers, got {pos!r}")
    return (x, y)

