"""Turning a classified fx graph into graph nodes: catalog layers where they fit, FxModule
nodes elsewhere, aliases dropped, dead branches pruned, ids readable and unique.

A catalog layer is kept only if its shape inference, given the traced input shapes,
reproduces the traced output shape exactly (a Linear on [N, H, W, C] is valid PyTorch but
not a catalog Linear); otherwise the call becomes an FxModule.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field

import torch
from torch import fx, nn

from workbench.core import fx_mapping
from workbench.core.catalog import Catalog
from workbench.core.fx_expr import BATCHED, LITERAL, ExprBuilder, Unsupported, describe
from workbench.core.fx_trace import ImportFailure
from workbench.core.graph import Graph, check_node_id
from workbench.core.shapes import infer_node
from workbench.core.tensors import FLOAT, INT, TensorInfo

__all__ = ["GraphNode", "NodeBuilder", "leaves", "to_graph"]


@dataclass
class GraphNode:
    id: str
    type: str
    params: dict
    inputs: list  # graph node ids, in port order
    fx_node: fx.Node | None
    moves: list = field(default_factory=list)  # (key prefix in the node, module path or tensor path)
    native: bool = False


class NodeBuilder(fx_mapping.MapContext):
    def __init__(self, gm: fx.GraphModule, kinds: dict, values: dict, dtypes: list[str], catalog: Catalog) -> None:
        self.gm, self.kinds, self.values, self.dtypes, self.catalog = gm, kinds, values, dtypes, catalog
        self.ref: dict[fx.Node, str] = {}

    # MapContext
    def batched(self, node) -> bool:
        return self.kinds.get(node) == BATCHED

    def literal(self, value):
        if isinstance(value, fx.Node):
            if self.kinds.get(value) != LITERAL:
                raise fx_mapping.NotNative
            return self.values[value]
        if isinstance(value, (list, tuple)):
            return type(value)(self.literal(v) for v in value)
        return value

    def shape(self, node) -> tuple[int, ...]:
        return self.values[node].shape[1:]

    def module(self, target: str) -> nn.Module:
        return self.gm.get_submodule(target)

    # building
    def _id(self, name: str) -> str:
        """A provisional id; `_rename` gives the final ones once dead nodes are gone."""
        self.counter += 1
        return f"{name}#{self.counter}"

    @staticmethod
    def _rename(nodes: list[GraphNode], outputs: list[str]) -> list[str]:
        used: set[str] = set()
        final = {n.id: _final_id(n.id.rsplit("#", 1)[0], used) for n in nodes}
        for n in nodes:
            n.id = final[n.id]
            n.inputs = [final[i] for i in n.inputs]
        return [final[o] for o in outputs]

    def build(self) -> tuple[list[GraphNode], list[str]]:
        nodes: list[GraphNode] = []
        inputs = 0
        self.counter = 0
        self.ref.clear()
        outputs: list[fx.Node] = []
        for n in self.gm.graph.nodes:
            if n.op == "placeholder" and self.batched(n):
                node_id = self._id(n.name)
                info_dtype = self.dtypes[inputs]
                shape = list(self.shape(n))
                nodes.append(GraphNode(node_id, "Input", {"shape": shape, "dtype": info_dtype}, [], n))
                inputs += 1
                self.ref[n] = node_id
            elif n.op == "output":
                outputs = leaves(n.args[0])
            elif n.op != "placeholder" and self.batched(n):
                made = self._layer(n)
                if isinstance(made, fx_mapping.Alias):
                    self.ref[n] = self.ref[made.source]
                else:
                    nodes.append(made)
                    self.ref[n] = made.id
        names = []
        for i, leaf in enumerate(outputs):
            if not isinstance(leaf, fx.Node) or not self.batched(leaf):
                raise ImportFailure(f"output {i} of the model is not a tensor with the batch first ({leaf})")
            node_id = self._id("output" if len(outputs) == 1 else f"output_{i}")
            nodes.append(GraphNode(node_id, "Output", {}, [self.ref[leaf]], None))
            names.append(node_id)
        nodes = _live(nodes)
        return nodes, self._rename(nodes, names)

    def info(self, node: fx.Node) -> TensorInfo:
        traced = self.values[node]
        return TensorInfo(tuple(traced.shape[1:]), INT if traced.dtype == torch.int64 else FLOAT)

    def _reproduces(self, native: fx_mapping.Native, n: fx.Node) -> bool:
        """Does the catalog layer infer exactly the traced output from the traced inputs?"""
        if native.type not in self.catalog:
            return False
        outcome = infer_node(self.catalog.get(native.type), native.params, tuple(self.info(x) for x in native.inputs))
        return outcome.message is None and tuple(outcome.outputs) == (self.info(n),)

    def _layer(self, n: fx.Node):
        native = fx_mapping.map_native(n, self)
        if isinstance(native, fx_mapping.Alias):
            return native
        if native is not None and self._reproduces(native, n):
            params = _without_defaults(self.catalog, native.type, native.params)
            name = native.weights or n.name  # an LSTM read through getitem is named after the LSTM
            node = GraphNode(self._id(name), native.type, params, [self.ref[x] for x in native.inputs], n)
            node.native = True
            if native.weights is not None:
                node.moves.append((native.weights_prefix, native.weights))
            node.moves.extend((name + ".", path, shape) for name, path, shape in native.tensors)
            return node
        builder = ExprBuilder(self.gm, self.kinds, self.values, lambda x: self.ref[x])
        try:
            params = builder.params(n)
        except Unsupported as exc:
            raise ImportFailure(f"cannot import {n.name} ({describe(n, self.gm)}): {exc}") from None
        params = _without_defaults(self.catalog, "FxModule", params)
        node = GraphNode(self._id(_module_source(n) or n.name), "FxModule", params, builder.ports, n)
        node.moves = [(name + ".", path) for name, path in builder.moves]
        return node


def _module_source(n: fx.Node) -> str | None:
    """The module path behind `module(...)[i][j]`, so such a node is named after it."""
    if not (n.op == "call_function" and n.target is operator.getitem):
        return None
    while n.op == "call_function" and n.target is operator.getitem and isinstance(n.args[1], int):
        n = n.args[0]
    return n.target if n.op == "call_module" else None


def _final_id(name: str, used: set[str]) -> str:
    """An unused, valid node id from an fx name or module path ("layer1.0.conv1" -> "layer1_0_conv1")."""
    stem = re.sub(r"\W", "_", name).strip("_") or "node"
    if not _valid_id(stem):
        stem = "n_" + stem
    candidate, i = stem, 1
    while candidate in used or not _valid_id(candidate):
        i += 1
        candidate = f"{stem}_{i}"
    used.add(candidate)
    return candidate


def _valid_id(node_id: str) -> bool:
    try:
        check_node_id(node_id)
    except Exception:
        return False
    return True


def _without_defaults(catalog: Catalog, type_name: str, params: dict) -> dict:
    """Params as a user would leave them: those equal to the layer's default are omitted."""
    from workbench.core.params import ParamError

    if type_name not in catalog:
        return params
    spec = catalog.get(type_name)
    kept = {}
    for key, value in params.items():
        try:
            p = spec.param(key)
            same = p.validate(value) == p.validate(p.default)
        except (KeyError, ParamError):
            same = False
        if not same:
            kept[key] = value
    return kept


def leaves(value) -> list:
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in leaves(v)]
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v)]
    return [value]


def _live(nodes: list[GraphNode]) -> list[GraphNode]:
    """Only the nodes an Output depends on (Inputs are always kept)."""
    by_id = {n.id: n for n in nodes}
    keep = {n.id for n in nodes if n.type in ("Output", "Input")}
    stack = list(keep)
    while stack:
        for source in by_id[stack.pop()].inputs:
            if source not in keep:
                keep.add(source)
                stack.append(source)
    return [n for n in nodes if n.id in keep]


def to_graph(nodes: list[GraphNode], catalog: Catalog) -> Graph:
    graph = Graph(catalog)
    for n in nodes:
        graph.add_node(n.id, n.type, n.params)
        if n.fx_node is not None and n.type != "FxModule":  # FxModule says it in its params
            fx_node = n.fx_node
            graph.nodes[n.id].extra["origin"] = fx_node.target if fx_node.op == "call_module" else fx_node.name
    for n in nodes:
        for port, source in enumerate(n.inputs):
            graph.connect(source, n.id, 0, port)
    return graph
