"""Pre-flight: can every node be exported to ONNX? Answered per node, before the real export.

Each distinct layer (type, parameters, input shapes) is exported on its own as a one-layer
model, checked with onnx.checker and run once by onnxruntime. The answers are cached for
the process, so a second export of the same model, or of a model built from the same
kinds of layers, asks nothing again.

Probing uses the fast TorchScript-based exporter first; only layers it cannot export are
tried with the slower dynamo exporter. The outcome says which exporters can export the
whole model — a model with a torchaudio spectrogram goes straight to the dynamo exporter —
or raises ExportError naming the first node no exporter can handle, with each exporter's
reason, before a long export of the whole model fails somewhere in the middle.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from workbench.core.compile import ModelPlan
from workbench.core.graph import Graph
from workbench.core.shapes import InferenceResult, freeze
from workbench.core.tensors import TensorInfo
from workbench.export.errors import ExportError, short_reason
from workbench.export.onnx_exporters import EXPORTERS, ExporterFailed, exporter_limit, run_exporter
from workbench.export.report import EXPORTER_TITLES
from workbench.export.verify import DEFAULT_TOKEN_LIMIT, EXPORT_BATCH, STATIC_BATCH, example_inputs

__all__ = ["Preflight", "check_memory", "clear_cache", "diagnose", "preflight"]

_cache: dict[tuple, str | None] = {}  # probe key -> None (exports) or the reason it does not


def clear_cache() -> None:
    _cache.clear()


@dataclass
class Preflight:
    capable: tuple[str, ...]  # exporters that can export every node (as far as probed)
    nodes: int  # layer nodes checked
    distinct: int  # distinct layers among them
    probes: int = 0  # one-layer exports actually run
    cached: int = 0  # answers taken from the cache instead
    seconds: float = 0.0
    deferred: bool = False  # only the dynamo exporter applies: nodes are probed after a failure
    limits: dict[str, str] = field(default_factory=dict)  # exporter -> why it cannot be used
    failures: dict[str, dict[str, str]] = field(default_factory=dict)  # exporter -> node -> reason

    def describe(self) -> str:
        if self.deferred:
            return (
                f"per-layer probes skipped: only the {_title('dynamo')} supports this opset and probing "
                f"{self.distinct} layer(s) with it would take longer than the export; a failure is traced "
                "to its node afterwards"
            )
        text = f"{self.nodes} layer node(s) ({self.distinct} distinct) each exported alone and run in onnxruntime"
        for exporter, failed in self.failures.items():
            text += f"; the {_title(exporter)} cannot export {', '.join(failed)}, the {_title(self.capable[0])} can"
        return text + f" ({self.probes} probe(s) run, {self.cached} answer(s) cached)"

    def reason_against(self, exporter: str) -> str | None:
        """Why pre-flight rules `exporter` out, naming the node."""
        if exporter in self.limits:
            return self.limits[exporter]
        failed = self.failures.get(exporter)
        if failed:
            node, reason = next(iter(failed.items()))
            return f"node {node} cannot be exported by the {EXPORTER_TITLES[exporter]}: {reason}"
        return None


def _title(exporter: str) -> str:
    return EXPORTER_TITLES[exporter].split(" (")[0]


class _Layers:
    """The plan's layer nodes grouped by what decides exportability; probes with a cache."""

    def __init__(self, plan: ModelPlan, node_types: dict[str, str], opset: int, dynamic_batch: bool) -> None:
        self.node_types = node_types
        self.opset = opset
        self.dynamic_batch = dynamic_batch
        self.groups: dict[tuple, list] = {}
        for step in plan.steps:
            infos = tuple(plan.result.outputs[s][p] for s, p in step.sources)
            step = replace(step, outputs=len(plan.result.outputs[step.node_id]))  # Split/Chunk: the pieces it makes
            kind = node_types[step.node_id]
            key = (kind, freeze(plan.result.resolved[step.node_id]), infos, opset, dynamic_batch)
            self.groups.setdefault(key, []).append((step, infos))
        self.probes = self.cached = 0

    def first_node(self, key: tuple) -> str:
        return self.groups[key][0][0].node_id

    def check(self, key: tuple, exporter: str) -> str | None:
        """None when the layer exports with `exporter`, else the reason."""
        full_key = (*key, exporter)
        if full_key in _cache:
            self.cached += 1
        else:
            step, infos = self.groups[key][0]
            _cache[full_key] = _probe(exporter, step, infos, key[0], self.opset, self.dynamic_batch)
            self.probes += 1
        return _cache[full_key]

    def error(self, key: tuple, reasons: dict[str, str]) -> ExportError:
        node = self.first_node(key)
        others = [step.node_id for step, _ in self.groups[key][1:]]
        also = f" (nor can {', '.join(others)})" if others else ""
        why = "; ".join(f"{EXPORTER_TITLES[e]}: {r}" for e, r in reasons.items())
        return ExportError(f"{key[0]} cannot be exported to ONNX opset {self.opset}{also}: {why}", node_id=node)


def preflight(plan: ModelPlan, node_types: dict[str, str], opset: int, dynamic_batch: bool) -> Preflight:
    """Probe every layer of `plan`; raises ExportError naming a node no exporter can export."""
    start = time.perf_counter()
    layers = _Layers(plan, node_types, opset, dynamic_batch)
    limits = {e: why for e in EXPORTERS if (why := exporter_limit(e, opset))}
    order = [e for e in EXPORTERS if e not in limits]
    if order == ["dynamo"]:
        return Preflight(("dynamo",), len(plan.steps), len(layers.groups), deferred=True, limits=limits)
    failures: dict[str, dict[str, str]] = {}
    pending = list(layers.groups)
    for exporter in order:  # the fast exporter first; the next one only for what it could not do
        still = []
        for key in pending:
            reason = layers.check(key, exporter)
            if reason is not None:
                failures.setdefault(exporter, {})[layers.first_node(key)] = reason
                still.append(key)
        pending = still
        if not pending:
            break
    if pending:
        node = layers.first_node(pending[0])
        raise layers.error(pending[0], {**{e: failures[e][node] for e in order}, **limits})
    return Preflight(
        capable=tuple(e for e in order if not failures.get(e)),
        nodes=len(plan.steps),
        distinct=len(layers.groups),
        probes=layers.probes,
        cached=layers.cached,
        seconds=time.perf_counter() - start,
        limits=limits,
        failures=failures,
    )


def check_memory(graph: Graph, result: InferenceResult) -> None:
    """Refuse, before the model is built, one whose weights (or a verification batch's largest
    output) cannot fit in this machine's RAM: exports build and verify on the CPU."""
    from workbench.core.size_budget import FP32, available_memory, refusal
    from workbench.core.summary import summarize

    problem = refusal(summarize(graph, result).memory, available_memory(), state_copies=None, batch=EXPORT_BATCH,
                      activation_bytes=FP32)
    if problem is not None:
        node, why = problem
        raise ExportError(f"the model does not fit: {why}", node_id=node)


def diagnose(
    plan: ModelPlan, node_types: dict[str, str], opset: int, dynamic_batch: bool, exporter: str
) -> ExportError | None:
    """After `exporter` failed on the whole model: the first node it cannot export alone."""
    layers = _Layers(plan, node_types, opset, dynamic_batch)
    for key in layers.groups:
        reason = layers.check(key, exporter)
        if reason is not None:
            return layers.error(key, {exporter: reason})
    return None


def _probe(
    exporter: str, step, infos: tuple[TensorInfo, ...], kind: str, opset: int, dynamic_batch: bool
) -> str | None:
    """Export one layer alone and run it once in onnxruntime; None when all of that works."""
    import onnxruntime as ort

    try:
        module = step.constructor.build().eval()
    except Exception as exc:
        return f"the layer could not be built: {short_reason(exc)}"
    limit = DEFAULT_TOKEN_LIMIT
    if kind == "Embedding":
        limit = getattr(module, "num_embeddings", DEFAULT_TOKEN_LIMIT)
    batch = EXPORT_BATCH if dynamic_batch else STATIC_BATCH
    args = example_inputs(infos, batch, [limit] * len(infos))
    input_names = [f"input{i}" for i in range(len(infos))]
    output_names = [f"output{i}" for i in range(step.outputs)]
    with tempfile.TemporaryDirectory(prefix="wb-preflight-") as folder:
        path = Path(folder) / "layer.onnx"
        try:
            run_exporter(exporter, module, args, path, opset, input_names, output_names, dynamic_batch)
        except ExporterFailed as exc:
            return str(exc)
        try:
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            session.run(None, {i.name: a.numpy() for i, a in zip(session.get_inputs(), args)})
        except Exception as exc:
            return f"onnxruntime cannot run it: {short_reason(exc)}"
    return None
