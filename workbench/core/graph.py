"""The model graph: nodes (layers), edges (tensors), and the events views listen to.

The graph is the single source of truth. Every edit goes through the mutation methods
here, which refuse illegal edits with typed errors and announce legal ones as events;
the canvas, the inspector and shape inference subscribe and never hold state of their
own. Node ids are stable strings that double as Python identifiers, because compile
names submodules and forward arguments after them.
"""

from __future__ import annotations

import copy
import gc
import keyword
import math
import re
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from workbench.core.catalog import Catalog, LayerSpec, default_catalog
from workbench.core.module_names import NN_MODULE_ATTRIBUTES

__all__ = [
    "IO_TYPES",
    "count_layers",
    "CycleError",
    "DuplicateEdgeError",
    "DuplicateNodeError",
    "Edge",
    "Graph",
    "GraphError",
    "GraphEvent",
    "InvalidIdError",
    "MAX_PORT",
    "Node",
    "PortError",
    "UnknownLayerError",
    "UnknownNodeError",
    "collector_paused",
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
    """A port that is not a whole number in range, or an input port that already has an edge."""


class CycleError(GraphError):
    pass


# Ports are numbered 0 .. MAX_PORT: a bound, so a file cannot make a view draw (or a
# placeholder spec list) a billion ports of a variadic or missing layer.
MAX_PORT = 65_535

_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")  # \Z: "$" would let a trailing newline through
_RESERVED = frozenset({"self", "torch", "nn", "math", "F", "torchvision", "torchaudio"})


def check_node_id(node_id: Any) -> None:
    """Ids become attribute and argument names in generated code, so they must be safe there."""
    if not isinstance(node_id, str) or not _ID.match(node_id):
        raise InvalidIdError(
            f"node id {node_id!r} must start with a letter or _ and contain only letters, digits and _"
        )
    if keyword.iskeyword(node_id) or node_id in _RESERVED or node_id in NN_MODULE_ATTRIBUTES:
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
    """Nodes and edges with adjacency kept per node, so reading a node's edges, refusing a
    duplicate or a taken port, and the cycle check cost what the node's neighbourhood
    costs, not what the whole graph does: a 20,000-node file loads in linear time."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog or default_catalog()
        self._nodes: dict[str, Node] = {}
        self._edges: dict[Edge, None] = {}  # every edge, in order (an ordered set)
        self._edge_list: list[Edge] | None = []  # `edges` as a list; None once stale
        self._in: dict[str, dict[int, Edge]] = {}  # node -> target port -> its edge
        self._out: dict[str, dict[Edge, None]] = {}  # node -> its out-edges, in edge order
        self._listeners: list[Callable[[], Listener | None]] = []
        # block definitions by name (core/blocks.py); the project loader fills it
        self.blocks: dict[str, dict] = {}

    # ---- reading -------------------------------------------------------------
    @property
    def nodes(self) -> dict[str, Node]:
        return self._nodes

    @property
    def edges(self) -> list[Edge]:
        """Every edge in order. Read-only: edit through connect/disconnect, reorder with `set_order`."""
        if self._edge_list is None:
            self._edge_list = list(self._edges)
        return self._edge_list

    def node(self, node_id: str) -> Node:
        node = self._nodes.get(node_id) if isinstance(node_id, str) else None
        if node is None:
            raise UnknownNodeError(f"no node with id {node_id!r}")
        return node

    def __contains__(self, node_id: object) -> bool:
        return isinstance(node_id, str) and node_id in self._nodes

    def __iter__(self) -> Iterator[Node]:
        return iter(self._nodes.values())

    def __len__(self) -> int:
        return len(self._nodes)

    def in_edges(self, node_id: str) -> list[Edge]:
        """The node's incoming edges by target port."""
        ports = self._in.get(node_id) if isinstance(node_id, str) else None
        return [ports[p] for p in sorted(ports)] if ports else []

    def out_edges(self, node_id: str) -> list[Edge]:
        """The node's outgoing edges, in edge order."""
        edges = self._out.get(node_id) if isinstance(node_id, str) else None
        return list(edges) if edges else []

    def successors(self, node_id: str) -> set[str]:
        return {e.target for e in self.out_edges(node_id)}

    def downstream(self, node_ids: Iterable[str]) -> set[str]:
        """The given nodes and everything reachable from them."""
        seen: set[str] = set()
        stack = [n for n in node_ids if n in self]
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            stack.extend(e.target for e in self._out[n])
        return seen

    def _reaches(self, start: str, goal: str) -> bool:
        """Whether `goal` is `start` or downstream of it; stops as soon as it is found."""
        seen, stack = {start}, [start]
        while stack:
            if stack[-1] == goal:
                return True
            for e in self._out[stack.pop()]:
                if e.target not in seen:
                    seen.add(e.target)
                    stack.append(e.target)
        return False

    def is_missing(self, node_id: str) -> bool:
        """True when the node's layer type is not in the catalog (a plugin that is not
        installed): the node keeps its params and edges but cannot compile."""
        return self.node(node_id).type not in self.catalog

    def spec(self, node_id: str) -> LayerSpec:
        """The node's LayerSpec, or for a missing layer type a placeholder (category
        "missing") with as many ports as its edges use, for views to draw."""
        return self._spec(self.node(node_id))

    def _spec(self, node: Node) -> LayerSpec:
        if node.type in self.catalog:
            spec = self.catalog.get(node.type)
            if node.type == "Block":
                from workbench.core.blocks import bound_spec

                return bound_spec(spec, node.params.get("block"), self.blocks, self.catalog)
            return spec
        inputs = max(self._in[node.id], default=0) + 1
        outputs = max((e.source_port + 1 for e in self._out[node.id]), default=1)
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
        if not self._listeners:
            return
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
        node = Node(node_id, type_name, copy.deepcopy(params) if params else {}, _pos(pos))
        self._nodes[node_id] = node
        self._in[node_id] = {}
        self._out[node_id] = {}
        self._emit(GraphEvent("node_added", node=node_id))
        return node

    def remove_node(self, node_id: str) -> tuple[Node, list[Edge]]:
        """Removes the node and its edges; returns both so undo can restore them."""
        node = self.node(node_id)
        touching = {*self._in[node_id].values(), *self._out[node_id]}
        removed = [e for e in self._edges if e in touching] if touching else []
        for edge in removed:
            self.disconnect(edge)
        del self._nodes[node_id], self._in[node_id], self._out[node_id]
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
        self._add_edge(edge)
        return edge

    def check_connect(self, edge: Edge) -> None:
        """Raise the typed error that connecting `edge` would cause, if any."""
        self._check_links(edge)
        # s -> t closes a loop exactly when s is already reachable from t
        if self._reaches(edge.target, edge.source):
            raise CycleError(f"connecting {edge.source} to {edge.target} would make a cycle")

    def _check_links(self, edge: Edge) -> None:
        """Every check of `check_connect` but the cycle check, each O(1)."""
        src, dst = self.node(edge.source), self.node(edge.target)
        _check_ports(edge)
        # A node of a missing layer type accepts any port in range: its spec is unknown.
        src_outputs = self._spec(src).outputs if src.type in self.catalog else None
        dst_spec = self._spec(dst) if dst.type in self.catalog else None
        if src_outputs is not None and edge.source_port >= src_outputs:
            raise PortError(f"{src.id} ({src.type}) has no output port {edge.source_port}")
        if dst_spec is not None and not dst_spec.accepts_input_port(edge.target_port):
            raise PortError(f"{dst.id} ({dst.type}) has no input port {edge.target_port}")
        if edge in self._edges:
            raise DuplicateEdgeError(f"{edge.source} is already connected to {edge.target}")
        feeder = self._in[dst.id].get(edge.target_port)
        if feeder is not None:
            label = dst_spec.input_label(edge.target_port) if dst_spec else f"input {edge.target_port}"
            raise PortError(f"{dst.id} {label} is already fed by {feeder.source}; disconnect it first")

    def _add_edge(self, edge: Edge) -> None:
        self._edges[edge] = None
        if self._edge_list is not None:
            self._edge_list.append(edge)
        self._in[edge.target][edge.target_port] = edge
        self._out[edge.source][edge] = None
        self._emit(GraphEvent("edge_added", edge=edge))

    def disconnect(self, edge: Edge) -> None:
        """Remove the edge equal to `edge`; its ports must be ints (1.0 or True match nothing)."""
        self._require_edge(edge)
        del self._edges[edge], self._in[edge.target][edge.target_port], self._out[edge.source][edge]
        self._edge_list = None
        self._emit(GraphEvent("edge_removed", edge=edge))

    def _require_edge(self, edge) -> None:
        """GraphError unless `edge` is an Edge of this graph (PortError for a port that is not an int)."""
        if not isinstance(edge, Edge):
            raise GraphError(f"not an edge: {edge!r}")
        _check_ends(edge)
        _check_ports(edge)
        if edge not in self._edges:
            raise GraphError(f"no edge from {edge.source} to {edge.target}")

    def edge_index(self, edge: Edge) -> int:
        """The position of `edge` in `edges`; GraphError (PortError for a bad port) when absent."""
        self._require_edge(edge)
        return self.edges.index(edge)

    def set_order(self, node_ids: Iterable[str] | None = None, edges: Iterable[Edge] | None = None) -> None:
        """Put the nodes and/or edges in the given order (the same members, so undo can
        restore a graph's exact order). Emits nothing: the graph's content is unchanged."""
        if node_ids is not None:
            order = list(node_ids)
            if len(order) != len(self._nodes) or set(order) != self._nodes.keys():
                raise GraphError("a new node order must list every node once")
            items = [(n, self._nodes[n]) for n in order]
            self._nodes.clear()
            self._nodes.update(items)
        if edges is not None:
            order_e = list(edges)
            if len(order_e) != len(self._edges) or set(order_e) != self._edges.keys():
                raise GraphError("a new edge order must list every edge once")
            self._edges = dict.fromkeys(order_e)
            self._edge_list = None
            for out in self._out.values():
                out.clear()
            for e in order_e:
                self._out[e.source][e] = None

    def clear(self) -> None:
        self._nodes.clear()
        self._edges.clear()
        self._edge_list = []
        self._in.clear()
        self._out.clear()
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
        if not isinstance(data, dict):
            raise GraphError(f"a graph must be an object, got {type(data).__name__}")
        with collector_paused():
            for node in _items(data, "nodes"):
                graph.restore_node(node)
            for edge in _items(data, "edges"):
                graph.restore_edge(edge)
        return graph

    def restore_node(self, data: dict) -> Node:
        """Add a node from its serialised form, keeping keys this version doesn't know.

        A layer type the catalog lacks is accepted (see `is_missing`), so a project that
        uses an uninstalled plugin still opens and keeps that node's params verbatim."""
        _require(data, "node", ("id", "type"))
        node = self.add_node(
            data["id"], data["type"], data.get("params") or {}, data.get("pos", (0, 0)), allow_missing=True
        )
        node.extra = {k: copy.deepcopy(v) for k, v in data.items() if k not in _NODE_KEYS}
        return node

    def restore_edge(self, data: dict) -> Edge:
        """Add an edge from its serialised form. Unlike `connect`, a cycle is accepted, so a
        hand-edited file still opens and shape inference can point at the loop; so there is
        no reachability search here, and loading is linear in the size of the file."""
        _require(data, "edge", ("source", "target"))
        edge = Edge(data["source"], data["target"], data.get("source_port", 0), data.get("target_port", 0))
        self._check_links(edge)
        self._add_edge(edge)
        return edge

    def copy(self) -> "Graph":
        graph = Graph.from_dict(self.to_dict(), self.catalog)
        graph.blocks = copy.deepcopy(self.blocks)
        return graph


_NODE_KEYS = frozenset({"id", "type", "params", "pos"})


def _check_ends(edge: Edge) -> None:
    for end in (edge.source, edge.target):
        if not isinstance(end, str):
            raise UnknownNodeError(f"no node with id {end!r}")


def _check_ports(edge: Edge) -> None:
    """Ports are ints in 0..MAX_PORT; bool, 1.0 and "1" are refused (Python holds 1 == 1.0
    == True, so a lax port would match, and later clash with, the edge at port 1)."""
    for port in (edge.source_port, edge.target_port):
        if not isinstance(port, int) or isinstance(port, bool):
            raise PortError(f"port numbers must be whole numbers, got {port!r}")
        if not 0 <= port <= MAX_PORT:
            raise PortError(f"port {port} is out of range (ports are numbered 0 to {MAX_PORT})")


def _require(data: Any, what: str, keys: tuple[str, ...]) -> None:
    if not isinstance(data, dict):
        raise GraphError(f"a serialised {what} must be an object, got {type(data).__name__}")
    for key in keys:
        if key not in data:
            raise GraphError(f"a serialised {what} lacks {key!r}")


def _items(data: dict, key: str) -> list:
    items = data.get(key, [])
    if not isinstance(items, list):
        raise GraphError(f"graph {key} must be a list, got {type(items).__name__}")
    return items


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector around a bulk build. Loading a 20,000-node
    graph allocates ~10^5 objects, none in a reference cycle, and every full collection
    they trigger walks each live object (torch's too): measured, a third of the load."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


IO_TYPES = frozenset({"Input", "Output"})


def count_layers(types: Iterable[str]) -> int:
    """How many of these node types are layers: Input and Output mark the model's ends, they
    are not layers (every view that counts layers counts them the same way)."""
    return sum(1 for t in types if t not in IO_TYPES)


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

