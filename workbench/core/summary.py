"""Per-node parameter counts, MACs/FLOPs and memory, and the model summary built from them.

FLOPs follow torch.utils.flop_counter: 2 x multiply-accumulates (MACs) of matrix products
and convolutions, per sample at the graph's input sizes. A layer's own formula gives them
where it has one ("formula"); any other layer — an imported FxModule, a plugin — is run
once on meta tensors under FlopCounterMode ("counted", flop_count), so the total is known
for every graph that compiles. Parameter counts come from the layer formulas in
param_counts (nothing is built or allocated), and the same pass sizes the model's memory
(size_budget, training_memory).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from workbench.core.catalog import LayerSpec
from workbench.core.flop_count import counted_flops
from workbench.core.graph import Graph
from workbench.core.param_counts import count_params
from workbench.core.shapes import InferenceResult, infer_shapes
from workbench.core.size_budget import Budget, NodeCost, format_size, output_bytes
from workbench.core.tensors import INT, TensorInfo
from workbench.core.training_memory import DTYPE_BYTES, activation_bytes, training_dtype, training_memory
from workbench.core.tying import tied_numel, valid_ties

__all__ = ["COLUMNS", "COUNTED", "FORMULA", "NodeStats", "Summary", "node_flops", "si", "summarize"]

FORMULA, COUNTED = "formula", "counted"
COLUMNS = ("node", "type", "output shape", "params", "MACs", "FLOPs", "FLOPs by", "param mem", "act mem fp32")


@dataclass(frozen=True)
class NodeStats:
    id: str
    type: str
    shape: str  # "[N, 16, 8, 8]", "" for Output, "?" when unknown
    params: int | None
    trainable: int | None
    flops: int | None
    outputs: tuple[tuple[int, ...], ...] | None = None  # per-sample output shapes; None when unknown
    flops_source: str | None = None  # FORMULA or COUNTED; None when there is no figure
    float_values: int = 0  # per-sample output values, for activation memory
    int_values: int = 0

    @property
    def macs(self) -> int | None:
        return None if self.flops is None else self.flops // 2

    def shape_lists(self) -> list[list[int | None]] | None:
        """Output shapes for JSON: the batch dimension as null, then the sizes."""
        return None if self.outputs is None else [[None, *shape] for shape in self.outputs]

    def parameter_bytes(self, dtype: str = "fp32") -> int | None:
        return None if self.params is None else self.params * DTYPE_BYTES[dtype]

    def activation_bytes(self, dtype: str = "fp32") -> int | None:
        """Bytes of this node's outputs for one sample (token ids stay int64)."""
        return None if self.outputs is None else activation_bytes(self.float_values, self.int_values, dtype)

    def cells(self, dtype: str) -> list[str]:
        """The row of the summary table (and dock): node, type, output shape, params, MACs,
        FLOPs, where the FLOPs came from, parameter memory, activations in fp32 and `dtype`."""
        return [self.id, self.type, self.shape, _count(self.params), _count(self.macs, "n/a"),
                _count(self.flops, "n/a"), self.flops_source or "", _size(self.parameter_bytes()),
                _size(self.activation_bytes()), _size(self.activation_bytes(dtype))]


@dataclass(frozen=True)
class Summary:
    nodes: tuple[NodeStats, ...]
    total_params: int
    trainable_params: int
    total_flops: int | None  # None only when a live layer could be neither formula'd nor counted
    memory: Budget = Budget(())  # the live nodes' parameter, buffer and output sizes
    inputs: tuple[tuple[str, tuple[int, ...]], ...] = ()  # (Input node, per-sample shape): what counts are per
    counted: int = 0  # live nodes whose FLOPs were counted rather than taken from a formula

    @property
    def total_macs(self) -> int | None:
        return None if self.total_flops is None else self.total_flops // 2

    def per_sample(self) -> str:
        """'per sample at [3, 224, 224]': the input size that FLOPs and activations depend on."""
        shapes = [f"{'' if len(self.inputs) == 1 else name + ' '}{list(shape)}" for name, shape in self.inputs]
        return "per sample at " + ", ".join(shapes) if shapes else "per sample"

    def training_memory(self, training=None):
        per_sample = {n.id: (n.float_values, n.int_values) for n in self.nodes if n.outputs is not None}
        return training_memory(self.memory, per_sample, training)

    def node_text(self, node_id: str, training=None) -> str | None:
        """One node's figures in words, for the inspector; None when the node is unknown."""
        n = next((n for n in self.nodes if n.id == node_id), None)
        if n is None or n.params is None:
            return None
        dtype = training_dtype(training)[0]
        compute = "MACs n/a" if n.flops is None else (
            f"{si(n.macs)}MACs = {si(n.flops)}FLOPs ({n.flops_source}) {self.per_sample()}")
        memory = f"output {format_size(n.activation_bytes())} fp32"
        if dtype != "fp32":
            memory += f", {format_size(n.activation_bytes(dtype))} {dtype}"
        return (f"{n.params:,} parameters ({format_size(n.parameter_bytes())} fp32) · {compute} · "
                f"{memory} per sample")

    def to_json(self, training=None) -> dict:
        dtype = training_dtype(training)[0]
        return {
            "nodes": [
                {"id": n.id, "type": n.type, "shape": (n.shape_lists() or [None])[0],
                 "output_shapes": n.shape_lists(), "params": n.params, "macs": n.macs, "flops": n.flops,
                 "flops_source": n.flops_source,
                 "parameter_bytes": _by_dtype(n.parameter_bytes, dtype),
                 "activation_bytes": _by_dtype(n.activation_bytes, dtype)}
                for n in self.nodes
            ],
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "total_macs": self.total_macs,
            "total_flops": self.total_flops,
            "flops_counted_nodes": self.counted,
            "per_sample_at": {name: list(shape) for name, shape in self.inputs},
            "memory": self.memory.to_json(),
            "training_memory": self.training_memory(training).to_json(),
        }

    def table(self, training=None) -> str:
        dtype = training_dtype(training)[0]
        header = [*COLUMNS, f"act mem {dtype}"]
        keep = len(header) if dtype != "fp32" else len(header) - 1  # one fp32 column is enough
        header, rows = header[:keep], [n.cells(dtype)[:keep] for n in self.nodes]
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        rule = "  ".join("-" * w for w in widths)

        def line(r):
            return "  ".join(str(v).ljust(w) if i in (0, 1, 2, 6) else str(v).rjust(w)
                             for i, (v, w) in enumerate(zip(r, widths)))

        lines = [line(header), rule, *(line(r) for r in rows), rule]
        lines.append(f"total params: {self.total_params:,} ({self.trainable_params:,} trainable)")
        if self.total_flops is None:
            lines.append("total MACs per sample: n/a")
            lines.append("total FLOPs per sample: n/a")
        else:
            lines.append(f"total MACs per sample: {self.total_macs:,} ({si(self.total_macs)}MACs)")
            lines.append(f"total FLOPs per sample: {self.total_flops:,} ({si(self.total_flops)}FLOPs = 2 x MACs; "
                         f"{self.counted} layers counted by torch on meta tensors, the rest by formula)")
        lines.append(f"MACs, FLOPs and activation memory are {self.per_sample()}")
        lines.extend(self.memory.lines())
        lines.append(self.training_memory(training).line())
        return "\n".join(lines)


def _count(n: int | None, missing: str = "") -> str:
    return missing if n is None else f"{n:,}"


def _size(n: int | None) -> str:
    return "" if n is None else format_size(n)


def _by_dtype(bytes_of, dtype: str) -> dict | None:
    fp32 = bytes_of("fp32")
    return None if fp32 is None else {"fp32": fp32, dtype: bytes_of(dtype)}


def si(n: int) -> str:
    """12_300_000 -> '12.30 M' (MACs and FLOPs as papers and torchinfo state them)."""
    for size, unit in ((10**15, "P"), (10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} "


def node_flops(spec: LayerSpec, resolved: dict, inputs: tuple[TensorInfo, ...], outputs) -> tuple[int | None, str | None]:
    """(FLOPs, FORMULA or COUNTED): the layer's formula, else torch's count of a meta forward."""
    if spec.flops is not None:
        flops = spec.flops(list(inputs), list(outputs), resolved)
        if flops is not None:
            return flops, FORMULA
    flops = counted_flops(spec, resolved, inputs)
    return flops, (COUNTED if flops is not None else None)


def _values(outs) -> tuple[int, int]:
    floats = sum(math.prod(o.shape) for o in outs if o.dtype != INT)
    return floats, sum(math.prod(o.shape) for o in outs if o.dtype == INT)


def summarize(graph: Graph, result: InferenceResult | None = None) -> Summary:
    """Stats for every node in topological order; totals count only nodes feeding an Output."""
    result = result or infer_shapes(graph)
    ties = valid_ties(graph, result.outputs, result.resolved, result.live)
    rows, costs = [], []
    total = trainable_total = counted = 0
    flops_total: int | None = 0
    feeds: dict[str, list] = {}
    for edge in graph.edges:
        feeds.setdefault(edge.target, []).append(edge)
    for node_id in result.order:
        node = graph.nodes[node_id]
        outs = result.outputs.get(node_id)
        shape = ", ".join(str(o) for o in outs) if outs else ("" if outs == () else "?")
        if outs is None or node_id not in result.resolved:
            rows.append(NodeStats(node_id, node.type, shape, None, None, None))
            continue
        spec = graph.spec(node_id)
        edges = sorted(feeds.get(node_id, ()), key=lambda e: e.target_port)
        inputs = tuple(result.outputs[e.source][e.source_port] for e in edges)
        resolved = result.resolved[node_id]
        params = count_params(spec, resolved, inputs)
        flops, source = node_flops(spec, resolved, inputs, outs)
        if node_id in ties:  # the shared weight is counted once, on the Embedding
            shared = tied_numel(resolved, inputs)
            params = replace(params, params=params.params - shared, trainable=params.trainable - shared)
        rows.append(NodeStats(node_id, node.type, shape, params.params, params.trainable, flops,
                              tuple(tuple(o.shape) for o in outs), source, *_values(outs)))
        if node_id in result.live:
            total += params.params
            trainable_total += params.trainable
            flops_total = None if flops is None or flops_total is None else flops_total + flops
            counted += source == COUNTED
            costs.append(NodeCost(node_id, params.params, params.trainable, params.buffers, output_bytes(outs)))
    inputs = tuple((n.id, tuple(result.outputs[n.id][0].shape)) for n in graph.nodes_of_type("Input")
                   if result.outputs.get(n.id))
    return Summary(tuple(rows), total, trainable_total, flops_total, Budget(tuple(costs)), inputs, counted)
