"""Blocks: a named sub-graph used as one node.

A block *definition* is a plain JSON object ``{"name": str, "graph": {"nodes", "edges"}}``
whose graph has its own Input and Output nodes: its Inputs (in topological order, which
for freshly grouped blocks is their node order) are the block's input ports, its Outputs
(same order) its output ports. Definitions live on the graph, ``Graph.blocks`` (name ->
definition), which the project loader fills from the project file's top-level
``"blocks"`` list and writes back on save.

A block *instance* is a node of type ``"Block"`` with params ``{"block": name}``. The
catalog holds one generic ``Block`` LayerSpec (registered like every built-in layer);
``Graph.spec(node_id)`` turns it into a *bound* spec for the named definition — ports,
shape inference (the inner graph inferred with the actual input shapes), construction
(the inner graph compiled to an fx GraphModule) — so shape inference, compile and the
summary need nothing block-specific. Bound specs are cached per (catalog, name,
definitions) and kept alive, so memo keys that use ``id(spec)`` stay valid. Codegen
emits one nested ``nn.Module`` class per block (see codegen.py), whose attributes carry
the inner node ids, so the compiled state dict loads into the generated code.
"""

from __future__ import annotations

import copy
import json
from contextvars import ContextVar
from typing import Any

from workbench.core.catalog import Catalog, Constructor, LayerSpec
from workbench.core.params import STR, Param
from workbench.core.tensors import ShapeError, TensorInfo

__all__ = ["BLOCK", "block_ports", "bound_spec", "inner_graph", "make_definition"]

BLOCK_TYPE = "Block"


def _unbound_infer(inputs, params):
    name = params.get("block") or ""
    raise ShapeError(f"block {name!r} is not defined in this project" if name else "choose a block to use")


BLOCK = LayerSpec(
    name=BLOCK_TYPE,
    category="My blocks",  # the palette lists the project's blocks in this category
    doc="A named sub-graph of this project used as one layer (group nodes into a block to make one).",
    params=(Param("block", STR, "", "Name of the block definition in this project"),),
    infer=_unbound_infer,
    inputs=1,
    variadic=True,
    outputs=1,
)

SPECS = (BLOCK,)

MAX_NESTING = 20  # blocks inside blocks; each level costs a few dozen stack frames
_INFERRING: ContextVar[tuple[str, ...]] = ContextVar("blocks_inferring", default=())


def make_definition(name: str, graph_dict: dict) -> dict:
    return {"name": name, "graph": copy.deepcopy(graph_dict)}


def inner_graph(definition: dict, catalog: Catalog, blocks: dict, inputs=None):
    """The definition's graph; with `inputs` (TensorInfos by port) its Inputs take those shapes."""
    from workbench.core.graph import Graph

    graph = Graph.from_dict(definition.get("graph") or {}, catalog)
    graph.blocks = blocks
    if inputs is not None:
        in_ids, _ = block_ports(graph)
        for node_id, info in zip(in_ids, inputs):
            node = graph.nodes[node_id]
            node.params = {**node.params, "shape": list(info.shape), "dtype": info.dtype}
    return graph


def block_ports(graph) -> tuple[list[str], list[str]]:
    """(Input node ids, Output node ids) of a block's inner graph, in port order.

    Port order is the topological order compile uses for forward arguments and results."""
    from workbench.core.shapes import topological_order

    order, _ = topological_order(graph)
    nodes = graph.nodes
    return [n for n in order if nodes[n].type == "Input"], [n for n in order if nodes[n].type == "Output"]


_BOUND: dict[tuple, LayerSpec] = {}


def bound_spec(generic: LayerSpec, name: Any, blocks: dict, catalog: Catalog) -> LayerSpec:
    """The Block spec for definition `name` (the generic one when it is not defined)."""
    if not isinstance(name, str) or name not in blocks:
        return generic
    try:
        key = (id(catalog), name, json.dumps(blocks, sort_keys=True))
    except (TypeError, ValueError):
        return generic
    spec = _BOUND.get(key)
    if spec is None:
        spec = _make_bound(generic, name, copy.deepcopy(blocks), catalog)
        _BOUND[key] = spec  # never evicted: memo keys hold id(spec), which must not be reused
    return spec


def _make_bound(generic: LayerSpec, name: str, blocks: dict, catalog: Catalog) -> LayerSpec:
    definition = blocks[name]
    message = cycle_message(name, blocks)
    if message is None:
        try:
            template = inner_graph(definition, catalog, blocks)
            in_ids, out_ids = block_ports(template)
        except Exception as exc:  # a malformed definition: every use says why
            message = f"block {name!r} is invalid: {exc}"
    if message is not None:

        def broken(inputs, params):
            raise ShapeError(message)

        return LayerSpec(name=BLOCK_TYPE, category=generic.category, doc=generic.doc, params=generic.params, infer=broken)

    def infer(inputs, params):
        return _infer(name, definition, blocks, catalog, inputs)[1]

    def construct(inputs, params):
        return Constructor(build_block, {"name": name, "graph": _shaped(definition, blocks, catalog, inputs)})

    def flops(inputs, outputs, params):
        from workbench.core.summary import summarize

        graph, _ = _infer(name, definition, blocks, catalog, inputs)
        return summarize(graph).total_flops

    return LayerSpec(
        name=BLOCK_TYPE,
        category=generic.category,
        doc=f"Block {name}: " + generic.doc,
        params=generic.params,
        infer=infer,
        construct=construct,
        flops=flops,
        inputs=len(in_ids),
        outputs=len(out_ids),
        input_names=tuple(in_ids),
    )


def used_blocks(definition: Any, blocks: dict) -> list[str]:
    """Names of the defined blocks that a definition's graph uses, read from its plain JSON."""
    graph = definition.get("graph") if isinstance(definition, dict) else None
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    used = []
    for node in nodes if isinstance(nodes, list) else ():
        params = node.get("params") if isinstance(node, dict) and node.get("type") == BLOCK_TYPE else None
        name = params.get("block") if isinstance(params, dict) else None
        if isinstance(name, str) and name in blocks and name not in used:
            used.append(name)
    return used


def cycle_message(name: str, blocks: dict) -> str | None:
    """ "block 'a' uses itself: a -> b -> a" when `name` reaches itself through block nodes, else None.

    A breadth-first search over definitions (no recursion), so the path named is a shortest one."""
    parent: dict[str, str] = {}
    frontier = [name]
    while frontier:
        following = []
        for current in frontier:
            for used in used_blocks(blocks[current], blocks):
                if used == name:
                    path = [current]
                    while path[-1] != name:
                        path.append(parent[path[-1]])
                    return f"block {name!r} uses itself: " + " -> ".join([name, *reversed(path[:-1]), name])
                if used not in parent:
                    parent[used] = current
                    following.append(used)
        frontier = following
    return None


def _shaped(definition, blocks, catalog, inputs):
    graph = inner_graph(definition, catalog, blocks, inputs)
    return graph


def _infer(name, definition, blocks, catalog, inputs):
    """The inner graph inferred with `inputs`; a guard on how deep blocks nest keeps the recursion bounded."""
    active = _INFERRING.get()
    if len(active) >= MAX_NESTING:
        raise ShapeError(f"blocks nest more than {MAX_NESTING} levels deep: {' -> '.join(active[:3])} -> ... -> {name}")
    token = _INFERRING.set((*active, name))
    try:
        return _infer_inner(name, definition, blocks, catalog, inputs)
    finally:
        _INFERRING.reset(token)


def _infer_inner(name, definition, blocks, catalog, inputs):
    from workbench.core.shapes import infer_shapes

    graph = inner_graph(definition, catalog, blocks, inputs)
    in_ids, out_ids = block_ports(graph)
    if len(inputs) != len(in_ids):
        raise ShapeError(f"block {name} takes {len(in_ids)} inputs but has {len(inputs)}")
    result = infer_shapes(graph)
    if result.errors:
        raise ShapeError(f"inside block {name}: {result.errors[0]}")
    for node_id in in_ids:
        if node_id not in result.live:
            raise ShapeError(f"inside block {name}: input {node_id} does not lead to any Output")
    outs: list[TensorInfo] = []
    for out_id in out_ids:
        edge = graph.in_edges(out_id)[0]
        outs.append(result.outputs[edge.source][edge.source_port])
    return graph, outs


def build_block(name: str, graph):
    """The block's module: its inner graph compiled (forward takes the block's inputs in port order)."""
    from workbench.core.compile import compile_graph

    return compile_graph(graph, name=name)
