"""Per-node parameter counts and FLOPs, and the model summary table built from them.

FLOPs follow torch.utils.flop_counter: 2 x multiply-accumulates of matrix products and
convolutions, per sample. Parameter counts come from the layer formulas in param_counts
(nothing is built or allocated), and the same pass sizes the model's memory (size_budget).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from workbench.core.catalog import LayerSpec
from workbench.core.graph import Graph
from workbench.core.param_counts import ParamCount, count_params
from workbench.core.shapes import InferenceResult, infer_shapes
from workbench.core.size_budget import Budget, NodeCost, output_bytes
from workbench.core.tensors import TensorInfo
from workbench.core.tying import tied_numel, valid_ties

__all__ = ["NodeStats", "Summary", "node_stats", "summarize"]


@dataclass(frozen=True)
class NodeStats:
    id: str
    type: str
    shape: str  # "[N, 16, 8, 8]", "" for Output, "?" when unknown
    params: int | None
    trainable: int | None
    flops: int | None
    outputs: tuple[tuple[int, ...], ...] | None = None  # per-sample output shapes; None when unknown

    def shape_lists(self) -> list[list[int | None]] | None:
        """Output shapes for JSON: the batch dimension as null, then the sizes."""
        return None if self.outputs is None else [[None, *shape] for shape in self.outputs]


@dataclass(frozen=True)
class Summary:
    nodes: tuple[NodeStats, ...]
    total_params: int
    trainable_params: int
    total_flops: int | None  # None when some live layer has no FLOPs formula
    memory: Budget = Budget(())  # the live nodes' parameter, buffer and output sizes

    def to_json(self) -> dict:
        return {
            "nodes": [
                {"id": n.id, "type": n.type, "shape": (n.shape_lists() or [None])[0],
                 "output_shapes": n.shape_lists(), "params": n.params, "flops": n.flops}
                for n in self.nodes
            ],
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "total_flops": self.total_flops,
            "memory": self.memory.to_json(),
        }

    def table(self) -> str:
        header = ("node", "type", "output shape", "params", "FLOPs")
        rows = [
            (n.id, n.type, n.shape, _count(n.params), _count(n.flops) if n.flops is not None else "n/a")
            for n in self.nodes
        ]
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
        rule = "  ".join("-" * w for w in widths)

        def line(r):
            return "  ".join(str(v).ljust(w) if i < 3 else str(v).rjust(w) for i, (v, w) in enumerate(zip(r, widths)))

        total_flops = _count(self.total_flops) if self.total_flops is not None else "n/a"
        lines = [line(header), rule, *(line(r) for r in rows), rule]
        lines.append(f"total params: {self.total_params:,} ({self.trainable_params:,} trainable)")
        lines.append(f"total FLOPs per sample: {total_flops}")
        lines.extend(self.memory.lines())
        return "\n".join(lines)


def _count(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


def node_stats(spec: LayerSpec, resolved: dict, inputs: tuple[TensorInfo, ...], outputs) -> tuple[ParamCount, int | None]:
    """(parameter counts, FLOPs or None) for one layer."""
    flops = spec.flops(list(inputs), list(outputs), resolved) if spec.flops is not None else None
    return count_params(spec, resolved, inputs), flops


def summarize(graph: Graph, result: InferenceResult | None = None) -> Summary:
    """Stats for every node in topological order; totals count only nodes feeding an Output."""
    result = result or infer_shapes(graph)
    ties = valid_ties(graph, result.outputs, result.resolved, result.live)
    rows, costs = [], []
    total = trainable_total = 0
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
        counted, flops = node_stats(spec, result.resolved[node_id], inputs, outs)
        if node_id in ties:  # the shared weight is counted once, on the Embedding
            shared = tied_numel(result.resolved[node_id], inputs)
            counted = replace(counted, params=counted.params - shared, trainable=counted.trainable - shared)
        rows.append(NodeStats(node_id, node.type, shape, counted.params, counted.trainable, flops,
                              tuple(tuple(o.shape) for o in outs)))
        if node_id in result.live:
            total += counted.params
            trainable_total += counted.trainable
            flops_total = None if flops is None or flops_total is None else flops_total + flops
            costs.append(NodeCost(node_id, counted.params, counted.trainable, counted.buffers, output_bytes(outs)))
    return Summary(tuple(rows), total, trainable_total, flops_total, Budget(tuple(costs)))
