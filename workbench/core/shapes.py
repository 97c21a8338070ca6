"""Shape inference: per-node output shapes and every problem as a Diagnostic.

Built-in layers have shape formulas (microseconds each); a layer without one (a plugin)
is run on meta tensors. Results are memoised on (type, params, input shapes), and a
`ShapeInference` attached to a graph re-infers only the nodes downstream of an edit,
so the canvas can show shapes within a frame of every change. Nothing here raises on
bad user input: it all becomes diagnostics naming the node.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Sequence

from workbench.core.catalog import LayerSpec
from workbench.core.graph import Graph, GraphEvent, collector_paused, missing_layer_message
from workbench.core.params import ParamError
from workbench.core.tensors import INT, ShapeError, TensorInfo, size_problem
from workbench.core.text import shorten
from workbench.core.tying import TIE_PARAM, tie_problems

ERROR = "error"
WARNING = "warning"

__all__ = ["Diagnostic", "InferenceResult", "ShapeInference", "infer_shapes", "ERROR", "WARNING"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    node_id: str | None  # None: about the graph as a whole
    severity: str
    message: str
    field: str | None = None  # the parameter at fault, when there is one

    @property
    def text(self) -> str:
        """The message with the parameter at fault in front, when there is one."""
        return f"{self.field}: {self.message}" if self.field else self.message

    def __str__(self) -> str:
        where = f"{self.node_id}: " if self.node_id else ""
        return f"{self.severity}: {where}{self.text}"


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one node's inference produced, memoised on its key."""

    outputs: tuple[TensorInfo, ...] | None
    resolved: dict | None
    message: str | None = None
    field: str | None = None


@dataclass
class InferenceResult:
    outputs: dict[str, tuple[TensorInfo, ...]]  # nodes with known output shapes
    resolved: dict[str, dict]  # resolved params of nodes whose params are valid
    diagnostics: list[Diagnostic]
    order: list[str]  # topological order of nodes outside cycles
    live: set[str] = field(default_factory=set)  # nodes that feed an Output

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors

    def for_node(self, node_id: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.node_id == node_id]

    def output(self, node_id: str, port: int = 0) -> TensorInfo | None:
        outs = self.outputs.get(node_id)
        return outs[port] if outs is not None and port < len(outs) else None


_MEMO_SIZE = 20_000
_memo: OrderedDict[tuple, _Outcome] = OrderedDict()


def freeze(value):
    """A hashable, order-independent key for a JSON-like value."""
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, bool):  # True == 1 in Python, but not as a parameter value
        return ("b", value)
    if isinstance(value, float) and value.is_integer():
        return ("f", value)
    return value


def infer_node(spec: LayerSpec, params: dict, inputs: tuple[TensorInfo, ...]) -> _Outcome:
    """One node's outputs for given inputs, memoised; never raises on user input."""
    key = None
    if spec.pure:
        try:
            key = (spec.name, id(spec), freeze(params), inputs)
            hash(key)
        except TypeError:
            key = None
    if key is not None:
        hit = _memo.get(key)
        if hit is not None:
            _memo.move_to_end(key)
            return hit
    outcome = _compute(spec, params, inputs)
    if key is not None:
        _memo[key] = outcome
        if len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return outcome


def _compute(spec: LayerSpec, params: dict, inputs: tuple[TensorInfo, ...]) -> _Outcome:
    try:
        resolved = spec.resolve(params)
    except ParamError as exc:
        return _Outcome(None, None, exc.reason if exc.name else str(exc), exc.name)
    try:
        if spec.infer is not None:
            outputs = tuple(spec.infer(list(inputs), resolved))
        else:
            outputs = _infer_on_meta(spec, resolved, inputs)
    except ShapeError as exc:
        return _Outcome(None, resolved, str(exc))
    except ParamError as exc:
        return _Outcome(None, resolved, exc.reason, exc.name)
    except Exception as exc:  # a plugin's build or forward failed: still the user's layer
        return _Outcome(None, resolved, shorten(f"{spec.name} failed: {type(exc).__name__}: {exc}"))
    problem = size_problem(outputs)
    if problem is not None:
        return _Outcome(None, resolved, problem)
    return _Outcome(outputs, resolved)


_META_BATCH = 2


def _infer_on_meta(spec: LayerSpec, resolved: dict, inputs: Sequence[TensorInfo]) -> tuple[TensorInfo, ...]:
    """Shapes by running the layer on meta tensors (layers without a shape formula).

    Built on CPU, then moved, because some layers cannot be constructed on meta. The only
    place shape inference imports torch: built-in layers all have formulas.
    """
    import torch

    module = spec.build(list(inputs), resolved).to("meta")
    dtypes = {"float32": torch.float32, "int64": torch.int64}
    tensors = [torch.empty(info.full(_META_BATCH), dtype=dtypes[info.dtype], device="meta") for info in inputs]
    with torch.no_grad():
        out = module(*tensors)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    result = []
    for t in outs:
        if not isinstance(t, torch.Tensor) or t.dim() == 0 or t.shape[0] != _META_BATCH:
            raise ShapeError(f"{spec.name} must return tensors that keep the batch dimension first")
        result.append(TensorInfo(tuple(int(d) for d in t.shape[1:]), INT if t.dtype == torch.int64 else "float32"))
    return tuple(result)


class ShapeInference:
    """Inference kept up to date with a graph: re-infers only what an edit touched.

    Each node keeps its last outcome with the inputs it was computed for; an edit to a
    node drops its outcome, and any node whose inputs changed recomputes (through the
    memo, so unchanged layers cost a dictionary lookup).
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._states: dict[str, tuple[tuple, _Outcome]] = {}
        self._order: list[str] | None = None
        self._cyclic: list[list[str]] = []
        self._result: InferenceResult | None = None
        graph.subscribe(self._on_event)

    def _on_event(self, event: GraphEvent) -> None:
        kind = event.kind
        if kind == "node_moved":
            return
        self._result = None
        if kind == "reset":
            self._states.clear()
            self._order = None
            return
        if kind != "params_changed":
            self._order = None
        if event.node is not None:
            # forget the node's outcome; nodes downstream recompute when their inputs change
            self._states.pop(event.node, None)

    def result(self) -> InferenceResult:
        if self._result is None:
            with collector_paused():  # a pass over 20,000 nodes allocates like a load does
                self._result = self._run()
        return self._result

    def _topology(self) -> tuple[list[str], list[list[str]]]:
        if self._order is None:
            self._order, self._cyclic = topological_order(self.graph)
        return self._order, self._cyclic

    def _run(self) -> InferenceResult:
        graph = self.graph
        nodes = graph.nodes
        order, cycles = self._topology()
        feeds: dict[str, list] = {n: [] for n in nodes}
        for e in graph.edges:
            feeds[e.target].append(e)
        outputs: dict[str, tuple[TensorInfo, ...]] = {}
        resolved: dict[str, dict] = {}
        diagnostics: list[Diagnostic] = []
        catalog = graph.catalog
        for node_id in order:
            node = nodes[node_id]
            if node.type not in catalog:  # a plugin that is not installed: outputs unknown
                self._states.pop(node_id, None)
                diagnostics.append(Diagnostic(node_id, ERROR, missing_layer_message(node.type)))
                continue
            spec = graph.spec(node_id)
            edges = sorted(feeds[node_id], key=_port)
            inputs, problem = _gather_inputs(spec, edges, outputs)
            if problem is not None:
                diagnostics.append(Diagnostic(node_id, ERROR, problem))
                continue
            if inputs is None:  # an upstream node failed: its own diagnostic says why
                continue
            state = self._states.get(node_id)
            if state is not None and state[0] != inputs:
                state = None
            if state is None:
                outcome = infer_node(spec, node.params, inputs)
                self._states[node_id] = (inputs, outcome)
            else:
                outcome = state[1]
            if outcome.resolved is not None:
                resolved[node_id] = outcome.resolved
            if outcome.message is not None:
                diagnostics.append(Diagnostic(node_id, ERROR, outcome.message, outcome.field))
            else:
                outputs[node_id] = outcome.outputs
        for cycle in cycles:
            loop = _loop_text(cycle)
            for node_id in cycle:
                diagnostics.append(Diagnostic(node_id, ERROR, f"is part of a cycle ({loop}); remove one of its edges"))
        live = _graph_diagnostics(graph, diagnostics)
        for node_id, problem in tie_problems(graph, outputs, resolved, live):
            diagnostics.append(Diagnostic(node_id, ERROR, problem, TIE_PARAM))
        return InferenceResult(outputs, resolved, diagnostics, order, live)


def _port(edge) -> int:
    return edge.target_port


def _gather_inputs(spec: LayerSpec, edges, outputs) -> tuple[tuple[TensorInfo, ...] | None, str | None]:
    """The node's input infos by port, or a message when a required input is missing."""
    ports = [e.target_port for e in edges]
    if spec.variadic:
        if len(edges) < spec.inputs:
            return None, f"{spec.name} needs at least {spec.inputs} inputs but has {len(edges)}; connect more"
    else:
        missing = [p for p in range(spec.inputs) if p not in ports]
        if missing:
            labels = ", ".join(spec.input_label(p) for p in missing)
            return None, f"{labels} is not connected" if len(missing) == 1 else f"{labels} are not connected"
    infos = []
    for e in edges:
        outs = outputs.get(e.source)
        if outs is None:
            return None, None
        if e.source_port >= len(outs):  # a Split/Chunk that makes fewer pieces than it has ports
            return None, f"{spec.input_label(e.target_port)} comes from output {e.source_port} of {e.source}, which makes only {len(outs)}"
        infos.append(outs[e.source_port])
    return tuple(infos), None


def topological_order(graph: Graph) -> tuple[list[str], list[list[str]]]:
    """Kahn's order (stable: follows node insertion order) and the cycles left over."""
    indegree = {n: 0 for n in graph.nodes}
    children: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for e in graph.edges:
        indegree[e.target] += 1
        children[e.source].append(e.target)
    ready = [n for n, d in indegree.items() if d == 0]
    ready.reverse()
    order = []
    while ready:
        n = ready.pop()
        order.append(n)
        for child in reversed(children[n]):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    if len(order) == len(graph.nodes):
        return order, []
    return order, _cycles(graph, set(graph.nodes) - set(order))


def _cycles(graph: Graph, remaining: set[str]) -> list[list[str]]:
    """One representative loop per strongly connected group among `remaining` (the nodes
    Kahn's order could not place), in graph order; linear in their edges."""
    children = {n: [e.target for e in graph.out_edges(n) if e.target in remaining] for n in remaining}
    rank = {n: i for i, n in enumerate(n for n in graph.nodes if n in remaining)}
    cycles = []
    for group in _strong_components(children, sorted(remaining, key=rank.__getitem__)):
        start = min(group, key=rank.__getitem__)
        if len(group) == 1 and start not in children[start]:
            continue  # downstream of a loop, not on one
        path, index, node = [], {}, start
        while node not in index:  # inside the group every node has a child in it
            index[node] = len(path)
            path.append(node)
            node = next(c for c in children[node] if c in group)
        cycles.append(path[index[node]:])
    cycles.sort(key=lambda loop: min(rank[n] for n in loop))
    return cycles


def _strong_components(children: dict[str, list[str]], nodes: list[str]) -> list[set[str]]:
    """Tarjan's strongly connected components, iterative (a 20,000-node loop must not
    reach Python's recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in nodes:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(children[root]))]
        while work:
            node, pending = work[-1]
            for child in pending:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(children[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    groups.append(group)
    return groups


def _loop_text(cycle: list[str], shown: int = 8) -> str:
    """"a → b → c → a"; a long loop keeps its ends and says how many nodes it skips, so a
    20,000-node loop does not put 20,000 names in each of its 20,000 diagnostics."""
    names = [*cycle, cycle[0]]
    if len(names) > shown + 2:
        names = [*names[: shown - 2], f"… {len(names) - shown} more …", *names[-2:]]
    return " → ".join(names)


def _graph_diagnostics(graph: Graph, diagnostics: list[Diagnostic]) -> set[str]:
    """Whole-graph problems; returns the nodes that feed an Output."""
    inputs = [n.id for n in graph if n.type == "Input"]
    outputs = [n.id for n in graph if n.type == "Output"]
    if not inputs:
        diagnostics.append(Diagnostic(None, ERROR, "the model has no Input node; add one from the io category"))
    if not outputs:
        diagnostics.append(Diagnostic(None, ERROR, "the model has no Output node; connect one to the tensor the model should return"))
    parents: dict[str, list[str]] = {}
    for e in graph.edges:
        parents.setdefault(e.target, []).append(e.source)
    live: set[str] = set()
    stack = list(outputs)
    while stack:
        n = stack.pop()
        if n not in live:
            live.add(n)
            stack.extend(parents.get(n, ()))
    if outputs:
        for node in graph:
            if node.id not in live:
                diagnostics.append(
                    Diagnostic(node.id, WARNING, "does not lead to any Output, so it is not part of the model")
                )
    return live


def infer_shapes(graph: Graph) -> InferenceResult:
    """One-off inference of a whole graph."""
    return ShapeInference(graph).result()
