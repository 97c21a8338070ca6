"""Property-based fuzzing of the core: random graphs and random edit sequences.

(a) Random graphs built from every layer type in the catalog, with parameters drawn
    from each Param's schema (sometimes invalid). Shape inference must never raise; a
    graph it passes must compile and a real forward pass must return exactly the
    inferred shapes and dtypes; a graph it refuses must name real nodes in its errors
    and compile must refuse it with CompileError.
(b) Random (sometimes illegal) edit sequences through commands.UndoStack with a
    ShapeInference attached: illegal edits raise a GraphError and change nothing,
    incremental inference always equals a fresh one, and undo/redo of the whole history
    restores the exact serialised graphs.

Both are derandomized (fixed seed, no example database) so CI is reproducible. CI runs
FUZZ_A / FUZZ_B examples (default 2000 / 700); the `slow` variants run DEPTH times as
many, with examples of their own (`make test-slow`).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections import OrderedDict
from dataclasses import dataclass

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from workbench.core import params as P
from workbench.core import shapes as shapes_module
from workbench.core.catalog import default_catalog
from workbench.core.commands import (
    AddNode,
    Connect,
    Disconnect,
    Macro,
    MoveNodes,
    RemoveNode,
    SetParams,
    UndoStack,
)
from workbench.core.compile import CompileError, compile_graph
from workbench.core.graph import Edge, Graph, GraphError, InvalidIdError, check_node_id
from workbench.core.shapes import ERROR, ShapeInference, infer_node, infer_shapes
from workbench.core.tensors import FLOAT, INT, TensorInfo

CATALOG = default_catalog()
# Every layer type in the catalog (plugins included, whatever the families hold now).
LAYER_TYPES = [s.name for s in CATALOG if s.name not in ("Input", "Output")]
# A valid graph that uses one of the five vision backbones is compiled and run on the
# meta device instead of CPU: building one with random CPU weights takes 0.05-0.35 s
# (ResNet-50: 25M parameters initialised; several seconds on a busy 2-core machine), and
# hypothesis keeps mutating the examples that reach them, which alone took the file past
# its time budget. On meta the forward still checks every output shape and dtype against
# inference. The audio layers are cheap and run for real on CPU.
BUILT_ON_META = {s.name for s in CATALOG if s.category == "vision backbones"}
# ...unless the graph also holds a torchaudio front end, which computes its filterbank
# when built and so cannot be built on meta: those (rare) graphs run on CPU.
NOT_ON_META = {s.name for s in CATALOG if s.category == "audio"}
# The same reason draws them a third as often as other layers.
DRAWN_TYPES = [name for name in LAYER_TYPES for _ in range(1 if name in BUILT_ON_META else 3)]

GRAPH_LEVEL_MESSAGES = (
    "the model has no Input node; add one from the io category",
    "the model has no Output node; connect one to the tensor the model should return",
)

FUZZ_SETTINGS = dict(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

FUZZ_A = int(os.environ.get("FUZZ_A", 2000))
FUZZ_B = int(os.environ.get("FUZZ_B", 700))
DEPTH = 5  # the slow variants: 5x the CI examples (10,000 graphs, 3,500 edit sequences)

BATCH = 2
INT_HIGH = 4  # the smallest num_embeddings drawn


def rarely(draw, n: int) -> bool:
    """True one time in n. Shrinks towards False, so a failure keeps only the rare
    branches it needs."""
    return draw(st.integers(0, n - 1)) == n - 1


# ---------------------------------------------------------------------------------------
# Parameter values drawn from a Param's schema


def _int_bounds(p: P.Param) -> tuple[int, int]:
    """A small valid range inside [min, max], so every built module stays tiny."""
    span = 2 if "layers" in p.name else 8
    if p.min is None and p.max is None:
        return -4, 4  # dims and the like: both signs, around the valid range
    lo = math.ceil(p.min) if p.min is not None else math.floor(p.max) - span
    if p.name == "num_embeddings":
        lo = max(lo, INT_HIGH)
    hi = math.floor(p.max) if p.max is not None else lo + span
    return lo, min(hi, lo + span)


def _float_bounds(p: P.Param) -> tuple[float, float]:
    lo = p.min if p.min is not None else (p.max - 10.0 if p.max is not None else -10.0)
    hi = p.max if p.max is not None else lo + 10.0
    return float(lo), float(hi)


def _small_int(p: P.Param) -> st.SearchStrategy:
    lo, hi = _int_bounds(p)
    return st.one_of(st.just(lo), st.integers(lo, hi))


def valid_value(p: P.Param) -> st.SearchStrategy:
    kind = p.kind
    if kind == P.INT:
        s = st.one_of(_small_int(p), _small_int(p).map(float))  # 3.0 is a valid int
    elif kind == P.FLOAT:
        lo, hi = _float_bounds(p)
        s = st.one_of(st.floats(lo, hi, allow_nan=False), st.sampled_from(sorted({lo, hi})))
        if p.min is None or p.min <= 1 <= (p.max if p.max is not None else 2):
            s = st.one_of(s, st.just(1))  # an int where a float is wanted is fine
    elif kind == P.BOOL:
        s = st.booleans()
    elif kind == P.CHOICE:
        s = st.sampled_from(p.choices)
    elif kind == P.STR:
        s = st.text(max_size=5)
    elif kind in (P.INTS, P.PADDING):
        lo, hi = _int_bounds(p)
        hi = min(hi, lo + 4)  # windows: 1..5, paddings 0..4
        one = st.integers(lo, hi)
        lengths = [p.length] if p.length else [1, 2, 3]
        s = st.one_of(one, st.sampled_from(lengths).flatmap(lambda n: st.lists(one, min_size=n, max_size=n)))
        if kind == P.PADDING and p.choices:
            s = st.one_of(s, st.sampled_from(p.choices))
    elif kind == P.SHAPE:
        if p.name == "dims":  # Permute: a permutation, batch first, sometimes negative
            s = st.integers(1, 4).flatmap(
                lambda r: st.permutations(list(range(1, r))).flatmap(
                    lambda perm: st.sampled_from([[0, *perm], [d - r for d in [0, *perm]]])
                )
            )
        elif p.min is not None and p.min < 0:  # Reshape: one -1 at most
            s = st.one_of(
                st.sampled_from([[-1], [1, -1], [-1, 1], [2, -1], [-1, 2, 1]]),
                st.lists(st.integers(1, 12), min_size=1, max_size=3),
            )
        else:
            lo = max(1, int(p.min) if p.min is not None else 1)
            s = st.lists(st.integers(lo, lo + 11), min_size=1, max_size=3)
    else:  # pragma: no cover - a kind added later
        s = st.none()
    if p.optional:
        s = st.one_of(st.none(), s)
    return s


def invalid_value(p: P.Param) -> st.SearchStrategy:
    """Values the schema refuses: out of range, wrong type, wrong length, unknown choice."""
    bad: list = ["bogus", [[1]], {"a": 1}]
    if not p.optional:
        bad.append(None)
    kind = p.kind
    if kind in (P.INT, P.INTS, P.PADDING):
        bad += [2.5, True, False, "3", float("nan")]
        if p.min is not None:
            bad.append(int(p.min) - 1)
        if p.max is not None:
            bad.append(int(p.max) + 1)
        if kind in (P.INTS, P.PADDING):
            bad += [[], [1] * ((p.length or 3) + 1), [True] * max(p.length, 1)]
            if p.min is not None:
                bad.append([int(p.min) - 1] * max(p.length, 1))
    elif kind == P.FLOAT:
        bad += [True, "0.5", float("nan"), float("inf"), [0.5]]
        if p.min is not None:
            bad.append(p.min - 0.5)
        if p.max is not None:
            bad.append(p.max + 0.5)
    elif kind == P.BOOL:
        bad += [1, 0, "true", 1.0]
    elif kind == P.CHOICE:
        bad += [1, *(c.upper() + "_" for c in p.choices[:1])]
    elif kind == P.STR:
        bad += [5, True]
    elif kind == P.SHAPE:
        bad += [[], 3, [1.5], ["a"], [True]]
        if p.min is not None:
            bad.append([int(p.min) - 1])
    # bool/number confusion (true for 1, 1 for true: a hand-edited project file) gets a
    # branch of its own: Python holds True == 1, so it is the mistake most easily missed
    confused = {P.BOOL: [1, 0], P.INT: [True, False], P.FLOAT: [True, False], P.INTS: [True, [True] * max(p.length, 1)]}
    if kind in confused:
        return st.one_of(st.sampled_from(bad), st.sampled_from(confused[kind]))
    return st.sampled_from(bad)


# Strategies are built once per Param and per layer type: building them afresh for every
# draw costs more than everything else an example does.
_VALID: dict[int, st.SearchStrategy] = {}
_INVALID: dict[int, st.SearchStrategy] = {}
_PARAMS: dict[tuple[str, bool], st.SearchStrategy] = {}


def cached_valid(p: P.Param) -> st.SearchStrategy:
    if id(p) not in _VALID:  # Params live in the catalog's specs for the whole run
        _VALID[id(p)] = valid_value(p)
    return _VALID[id(p)]


def cached_invalid(p: P.Param) -> st.SearchStrategy:
    if id(p) not in _INVALID:
        _INVALID[id(p)] = invalid_value(p)
    return _INVALID[id(p)]


@st.composite
def param_value(draw, p: P.Param, invalid: bool = True):
    if invalid and rarely(draw, 20):  # 5%: a value the schema refuses
        return draw(cached_invalid(p))
    return draw(cached_valid(p))


@st.composite
def _params_for(draw, spec, invalid: bool) -> dict:
    params = {}
    for p in spec.params:
        if draw(st.booleans()):
            params[p.name] = draw(param_value(p, invalid))
    if invalid and rarely(draw, 50):
        params["no_such_param"] = 1
    return params


def params_for(spec, invalid: bool = True) -> st.SearchStrategy:
    """Each param left at its default or given a drawn value; with `invalid`, 5% of the
    values are refused by the schema and now and then an unknown key appears."""
    key = (spec.name, invalid)
    if key not in _PARAMS:
        _PARAMS[key] = _params_for(spec, invalid)
    return _PARAMS[key]


INPUT_SHAPES = st.one_of(
    st.lists(st.integers(1, 12), min_size=1, max_size=3),
    st.tuples(st.just(3), st.integers(1, 12), st.integers(1, 12)).map(list),  # RGB image
    # a few shapes that recur, so the shape memo sees the same layer on the same input
    # with different params across examples
    st.sampled_from([[4], [8], [2, 6], [3, 8, 8], [1, 12]]),
)
INPUT_DTYPES = st.sampled_from([FLOAT, FLOAT, FLOAT, INT])
BAD_INPUTS = st.sampled_from([{"shape": [0, 3]}, {"shape": []}, {"dtype": "float16"}, {"shape": 5}])


@st.composite
def input_params(draw, invalid: bool = True) -> dict:
    if invalid and rarely(draw, 40):  # now and then an invalid Input
        return draw(BAD_INPUTS)
    return {"shape": draw(INPUT_SHAPES), "dtype": draw(INPUT_DTYPES)}


# ---------------------------------------------------------------------------------------
# (a) random graphs


@st.composite
def graph_specs(draw):
    """(nodes, edges): nodes as (id, type, params); edges as (source, target, target_port).

    Half the graphs are "random": any layer on any earlier node, 5% of parameter values
    invalid, the odd unconnected port, missing Input or Output — mostly refused graphs.
    The other half are "guided": valid values only, each layer drawn up to four times and
    the first whose shape inference succeeds kept (else an Identity), so deep valid graphs
    that reach the forward pass are common.
    """
    guided = draw(st.booleans())
    invalid = not guided
    nodes: list[tuple[str, str, dict]] = []
    edges: list[tuple[str, str, int]] = []
    known: dict[str, TensorInfo | None] = {}  # node -> its output (None: failed)
    for i in range(draw(st.integers(1, 2))):
        params = draw(input_params(invalid))
        node_id = f"in{i}"
        nodes.append((node_id, "Input", params))
        outcome = infer_node(CATALOG.get("Input"), params, ())
        known[node_id] = outcome.outputs[0] if outcome.outputs else None
    for i in range(draw(st.integers(1, 12))):
        node_id = f"n{i}"
        pool = [n for n, info in known.items() if info is not None] if guided else list(known)
        pool = pool or list(known)
        for _attempt in range(4 if guided else 1):
            type_name = draw(st.sampled_from(DRAWN_TYPES))
            spec = CATALOG.get(type_name)
            params = draw(params_for(spec, invalid))
            count = draw(st.sampled_from([2, 2, 3, 1] if invalid else [2, 3])) if spec.variadic else spec.inputs
            sources = [draw(st.sampled_from(pool)) for _ in range(count)]
            if invalid and spec.inputs and not spec.variadic and rarely(draw, 40):
                sources[draw(st.integers(0, count - 1))] = None  # leave a port unconnected
            infos = [known.get(s) for s in sources]
            output = None
            if all(info is not None for info in infos):
                outcome = infer_node(spec, params, tuple(infos))
                output = outcome.outputs[0] if outcome.outputs else None
            if output is not None:
                break
        else:
            if guided:
                type_name, params = "Identity", {}
                sources = [draw(st.sampled_from(pool))]
                output = known[sources[0]]
        nodes.append((node_id, type_name, params))
        edges.extend((s, node_id, port) for port, s in enumerate(sources) if s is not None)
        known[node_id] = output
    n_outputs = draw(st.sampled_from([1, 2, 0]) if invalid and rarely(draw, 30) else st.sampled_from([1, 2]))
    feeding = [n for n, _, _ in nodes]
    for i in range(n_outputs):
        # the last layer is the most interesting place for an Output
        source = draw(st.one_of(st.just(feeding[-1]), st.sampled_from(feeding)))
        nodes.append((f"out{i}", "Output", {}))
        edges.append((source, f"out{i}", 0))
    if invalid and rarely(draw, 30):  # now and then a graph without an Input
        dropped = {n for n, t, _ in nodes if t == "Input"}
        nodes = [n for n in nodes if n[0] not in dropped]
        edges = [e for e in edges if e[0] not in dropped]
    return nodes, edges


def build_graph(nodes, edges) -> Graph:
    g = Graph(CATALOG)
    for node_id, type_name, params in nodes:
        g.add_node(node_id, type_name, params)
    for source, target, port in edges:
        g.connect(source, target, 0, port)
    return g


def random_tensor(info: TensorInfo, device: str = "cpu") -> torch.Tensor:
    if device == "meta":
        return torch.empty(info.full(BATCH), dtype=getattr(torch, info.dtype), device="meta")
    if info.dtype == INT:
        # id 0: an Add or Multiply of ids then still feeds an Embedding a valid id (random ids
        # in [0, 4) multiplied gave 9 at 5x depth); the forward checks shapes, not values
        return torch.zeros(info.full(BATCH), dtype=torch.int64)
    return torch.randn(info.full(BATCH))


def diagnostics_key(result):
    return {(d.node_id, d.severity, d.message, d.field) for d in result.diagnostics}


def infer_with_empty_memo(graph: Graph):
    """Inference with a fresh memo, so memoisation cannot hide or invent anything."""
    saved = shapes_module._memo
    shapes_module._memo = OrderedDict()
    try:
        return infer_shapes(graph)
    finally:
        shapes_module._memo = saved


def eq_twin(value):
    """A value equal to `value` under == (and hash) that JSON and the schema tell apart."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [eq_twin(v) for v in value]
    if isinstance(value, dict):
        return {k: eq_twin(v) for k, v in value.items()}
    return value


def check_memo(graph: Graph, warm) -> None:
    """Memoisation must be invisible: a warm-memo result equals a fresh-memo one."""
    cold = infer_with_empty_memo(graph)
    assert diagnostics_key(cold) == diagnostics_key(warm)
    assert cold.outputs == warm.outputs


def check_graph(nodes, edges) -> None:
    graph = build_graph(nodes, edges)
    before = graph.to_dict()
    result = infer_shapes(graph)  # must never raise
    assert graph.to_dict() == before, "shape inference changed the graph"

    # Memoisation must be invisible: the warm-memo result equals a fresh-memo one, for
    # the graph and for its "twin", whose params hold values equal under == but told apart
    # by JSON and by the schema (True for 1, 0 for False, 3 for 3.0), so the twin meets
    # the memo entries the graph just made.
    check_memo(graph, result)
    twin_nodes = [(node_id, type_name, eq_twin(params)) for node_id, type_name, params in nodes]
    if json.dumps(twin_nodes, sort_keys=True) != json.dumps(nodes, sort_keys=True):
        event("twin graph checked")
        twin = build_graph(twin_nodes, edges)
        check_memo(twin, infer_shapes(twin))

    errors = result.errors
    for d in result.diagnostics:
        if d.node_id is None:
            assert d.message in GRAPH_LEVEL_MESSAGES, d
        else:
            assert d.node_id in graph, d
        if d.field is not None:  # the field at fault is one the node has or could have
            node = graph.node(d.node_id)
            assert d.field in {p.name for p in CATALOG.get(node.type).params} | set(node.params), d
    if errors:
        event("graph has errors")
        with pytest.raises(CompileError) as info:
            compile_graph(graph, result=result)
        assert info.value.node_id is None or info.value.node_id in graph
        with pytest.raises(CompileError):
            compile_graph(graph)  # and without a precomputed result
        return

    live_types = {graph.node(n).type for n in result.live}
    device = "meta" if live_types & BUILT_ON_META and not live_types & NOT_ON_META else "cpu"
    event(f"graph is valid: forward pass on {device}")
    with torch.device(device):
        module = compile_graph(graph)
    module.eval()
    feeds = {name: random_tensor(result.outputs[name][0], device) for name in module.input_names}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = module(**feeds)
    outs = (out,) if len(module.output_names) == 1 else tuple(out)
    assert len(outs) == len(module.output_names)
    for output_id, tensor in zip(module.output_names, outs):
        (edge,) = graph.in_edges(output_id)
        info = result.outputs[edge.source][edge.source_port]
        assert isinstance(tensor, torch.Tensor), f"{output_id} returned {type(tensor).__name__}"
        assert tuple(tensor.shape) == info.full(BATCH), (
            f"{output_id} <- {edge.source} ({graph.node(edge.source).type}): "
            f"forward gives {tuple(tensor.shape)}, inference said {info.full(BATCH)}"
        )
        assert str(tensor.dtype).removeprefix("torch.") == info.dtype, (
            f"{output_id} <- {edge.source}: forward dtype {tensor.dtype}, inference said {info.dtype}"
        )
    event(f"valid graph with {len(graph)} nodes")


@settings(max_examples=FUZZ_A, **FUZZ_SETTINGS)
@given(graph_specs())
def test_random_graphs_infer_compile_and_run(spec):
    check_graph(*spec)


@pytest.mark.slow
@settings(max_examples=DEPTH * FUZZ_A, **FUZZ_SETTINGS)
@given(graph_specs())
def test_random_graphs_at_depth(spec):
    check_graph(*spec)


# ---------------------------------------------------------------------------------------
# (b) random edit sequences through the undo stack


INVALID_IDS = ["", "1abc", "a-b", "self", "class", "forward", "torch", 7, None]
GHOST_IDS = ["ghost", "n99"]


POSITIONS = st.tuples(st.integers(-500, 500), st.floats(-500, 500, allow_nan=False, allow_infinity=False))
BAD_POSITIONS = st.sampled_from(["xy", (1,), None, ("a", "b"), (1, 2, 3)])
PORTS = st.sampled_from([0, 0, 0, 1, 2])
BAD_PORTS = st.sampled_from([-1, 5, 1.0, True, "0", None, 65_536, 10**30])


def position(draw):
    return draw(BAD_POSITIONS) if rarely(draw, 15) else draw(POSITIONS)


def port(draw):
    return draw(BAD_PORTS) if rarely(draw, 10) else draw(PORTS)


@dataclass
class Sketch:
    """What the command generator knows of the graph a command will meet (inside a Macro:
    after the commands before it); updated as commands are drawn."""

    types: dict[str, str]  # node id -> layer type
    pos: dict[str, tuple]
    edges: list[Edge]
    params: dict[str, dict]  # node id -> params now
    first: dict[str, dict]  # node id -> params when the node was first seen in this example

    @classmethod
    def of(cls, graph: Graph, first: dict[str, dict]) -> "Sketch":
        for node in graph:
            first.setdefault(node.id, dict(node.params))
        return cls(
            {n.id: n.type for n in graph},
            {n.id: n.pos for n in graph},
            list(graph.edges),
            {n.id: dict(n.params) for n in graph},
            first,
        )


@st.composite
def command(draw, sk: Sketch, in_macro: bool = False):
    """A random command against the graph `sk` describes. Most arguments
    are legal; each kind of illegal one (unknown or invalid id, unknown type, params that
    are not an object, bad position, bad port, cycle, taken port, missing edge) turns up
    now and then.
    """
    kinds = ["add", "add", "remove", "connect", "connect", "connect", "disconnect", "params", "params", "move"]
    if not in_macro:
        kinds.append("macro")
    kind = draw(st.sampled_from(kinds))
    types, pos, edges = sk.types, sk.pos, sk.edges
    ids = list(types)

    def any_id():
        if not ids or rarely(draw, 12):
            return draw(st.sampled_from(GHOST_IDS))
        return draw(st.sampled_from(ids))

    if kind == "add":
        type_name = "NoSuchLayer" if rarely(draw, 20) else draw(st.sampled_from(DRAWN_TYPES + ["Input"] * 6 + ["Output"] * 3))
        spec = CATALOG.get(type_name) if type_name in CATALOG else None
        if rarely(draw, 20):
            node_id = draw(st.sampled_from(INVALID_IDS))
        elif ids and rarely(draw, 20):
            node_id = draw(st.sampled_from(ids))  # a duplicate
        else:
            node_id = f"{type_name.lower()}_{draw(st.integers(0, 30))}"
        if type_name == "Input":
            params = draw(input_params())
        elif spec is not None:
            params = draw(params_for(spec))
        else:
            params = {}
        if rarely(draw, 30):
            params = draw(st.sampled_from([[1], "x", 3]))  # not an object
        where = position(draw)
        if _is_valid_id(node_id) and node_id not in ids and spec is not None and isinstance(params, dict) and _is_valid_pos(where):
            types[node_id] = type_name
            pos[node_id] = where
            sk.params[node_id] = dict(params)
            sk.first.setdefault(node_id, dict(params))
        return AddNode(node_id, type_name, params, where)

    if kind == "remove":
        node_id = any_id()
        if node_id in types:
            del types[node_id]
            edges[:] = [e for e in edges if node_id not in (e.source, e.target)]
        return RemoveNode(node_id)

    if kind == "connect":
        source, target = any_id(), any_id()

        def free_port(node_id):
            spec = CATALOG.get(types[node_id])
            taken = {e.target_port for e in edges if e.target == node_id}
            free = [p for p in range(spec.inputs + 1 if spec.variadic else spec.inputs) if p not in taken]
            return free[0] if free else None

        open_targets = [n for n in ids if free_port(n) is not None]
        if open_targets and not rarely(draw, 4):
            # usually: a node with an output into a free input port (a cycle now and then)
            target = draw(st.sampled_from(open_targets))
            feeders = [n for n in ids if n != target and CATALOG.get(types[n]).outputs]
            source = draw(st.sampled_from(feeders)) if feeders else source
            source_port, target_port = 0, free_port(target)
        else:
            source_port, target_port = port(draw), port(draw)
        if source in types and target in types:
            edges.append(Edge(source, target, source_port, target_port))
        return Connect(source, target, source_port, target_port)

    if kind == "disconnect":
        if edges and not rarely(draw, 6):
            edge = draw(st.sampled_from(edges))
            if rarely(draw, 8):  # a real edge with a port equal to its own under == (1.0, True): refused
                twins = [float(edge.target_port), *([bool(edge.target_port)] if edge.target_port in (0, 1) else [])]
                return Disconnect(Edge(edge.source, edge.target, edge.source_port, draw(st.sampled_from(twins))))
            edges.remove(edge)
        else:
            edge = Edge(any_id(), any_id(), port(draw), port(draw))
        return Disconnect(edge)

    if kind == "params":
        node_id = any_id()
        # Changes are usually drawn for the node's own type; otherwise for a random one, so
        # unknown names turn up as they would when params are pasted between layers.
        if node_id in types and not rarely(draw, 5):
            type_name = types[node_id]
        else:
            type_name = draw(st.sampled_from(LAYER_TYPES + ["Input"] * 3))
        spec = CATALOG.get(type_name)
        changes = {}
        style = draw(st.sampled_from(["edit", "edit", "break", "restore"]))
        if style == "restore" and node_id in sk.first:
            # put back the params the node had first (as a user fixing a typo does): a
            # node broken earlier gets its old shape back, downstream nodes their inputs
            now, first = sk.params.get(node_id, {}), sk.first[node_id]
            changes = {k: first.get(k) for k in {*now, *first} if now.get(k) != first.get(k)}
        elif style == "break" and spec.params:
            p = draw(st.sampled_from(spec.params))
            changes[p.name] = draw(cached_invalid(p))
        else:
            for p in spec.params:
                if draw(st.integers(0, 2)) == 0:
                    changes[p.name] = None if rarely(draw, 6) else draw(param_value(p))
        if type_name == "Input" and draw(st.booleans()):
            changes.update(draw(input_params()))
        if not changes:
            changes = {p.name: draw(param_value(p)) for p in spec.params[:1]} or {"out_features": 4}
        if node_id in sk.params:
            after = dict(sk.params[node_id])
            for k, v in changes.items():
                if v is None:
                    after.pop(k, None)
                else:
                    after[k] = v
            sk.params[node_id] = after
        return SetParams(node_id, changes)

    if kind == "move":
        moves = {}
        for _ in range(draw(st.integers(1, 3))):
            node_id = any_id()
            new = position(draw)
            old = moves[node_id][0] if node_id in moves else pos.get(node_id, (0.0, 0.0))
            moves[node_id] = (old, new)  # old: where the node is now, as the canvas knows
            if node_id in types and _is_valid_pos(new):
                pos[node_id] = new
        return MoveNodes(moves)

    # a Macro: a paste (adds + connects), a multi-delete, or any mix, sometimes failing halfway
    sub = [draw(command(sk, in_macro=True)) for _ in range(draw(st.integers(1, 4)))]
    return Macro("macro", sub)


def _is_valid_id(node_id) -> bool:
    try:
        check_node_id(node_id)
    except InvalidIdError:
        return False
    return True


def _is_valid_pos(value) -> bool:
    try:
        x, y = (float(v) for v in value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(x) and math.isfinite(y)


def assert_incremental_matches(si: ShapeInference, graph: Graph) -> None:
    """The incremental result after any edit equals inferring the graph from scratch."""
    inc = si.result()
    fresh = infer_shapes(graph.copy())
    assert inc.outputs == fresh.outputs
    assert diagnostics_key(inc) == diagnostics_key(fresh)
    assert inc.resolved == fresh.resolved
    assert inc.live == fresh.live


@st.composite
def start_graphs(draw):
    """An empty graph, or one of the random graphs of (a)."""
    if draw(st.integers(0, 4)) == 0:
        return [], []
    return draw(graph_specs())


@settings(max_examples=FUZZ_B, **FUZZ_SETTINGS)
@given(start_graphs(), st.data())
def test_random_edits_through_undo_stack(start, data):
    check_edits(start, data)


@pytest.mark.slow
@settings(max_examples=DEPTH * FUZZ_B, **FUZZ_SETTINGS)
@given(start_graphs(), st.data())
def test_random_edits_at_depth(start, data):
    check_edits(start, data)


def check_edits(start, data) -> None:
    graph = build_graph(*start)
    si = ShapeInference(graph)
    stack = UndoStack(graph)
    initial = graph.to_dict()
    first_params: dict[str, dict] = {}
    assert_incremental_matches(si, graph)

    for _ in range(data.draw(st.integers(1, 25), label="steps")):
        action = data.draw(st.integers(0, 9), label="action")
        if action == 0:
            stack.undo()
        elif action == 1:
            stack.redo()
        else:
            cmd = data.draw(command(Sketch.of(graph, first_params)), label="command")
            before = graph.to_dict()
            try:
                stack.push(cmd)
            except GraphError:
                after = graph.to_dict()
                assert after == before, f"refused {cmd!r} changed the graph"
                event(f"refused {type(cmd).__name__}")
            else:
                event(f"applied {type(cmd).__name__}")
        assert_incremental_matches(si, graph)

    while stack.redo():  # commands undone at the end of the sequence are part of the history
        assert_incremental_matches(si, graph)
    final = graph.to_dict()
    while stack.undo():
        assert_incremental_matches(si, graph)
    assert graph.to_dict() == initial
    while stack.redo():
        assert_incremental_matches(si, graph)
    assert graph.to_dict() == final
