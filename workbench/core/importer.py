"""Import an existing PyTorch model into a graph: trace it, map it, check it reproduces.

`import_model("torchvision.models:resnet18", [(3, 224, 224)])` traces the module with
torch.fx in eval mode, runs the trace at two batch sizes to learn what every value is
(`fx_expr.classify`), turns each batch-first tensor into a node — a catalog layer where
`fx_mapping` knows one and shape inference reproduces the traced shape, an `FxModule`
otherwise — lays the graph out, maps the state dict onto the new node ids, and compiles
the result to compare its outputs with the original's on random inputs.

Traced in eval mode: Python branches on `self.training` (auxiliary heads) take their
eval path; layers that behave differently in training (Dropout, BatchNorm, stochastic
depth) keep doing so, because they follow the compiled model's mode.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import fx, nn

from workbench.core.catalog import Catalog, default_catalog
from workbench.core.fx_expr import classify, record
from workbench.core.fx_graph import GraphNode, NodeBuilder, leaves, to_graph
from workbench.core.fx_module import ensure_registered
from workbench.core.fx_trace import ImportFailure, example_inputs, load_module, parse_shape, trace
from workbench.core.layout import layered_positions
from workbench.core.project import Project
from workbench.core.shapes import infer_shapes

__all__ = ["ImportFailure", "ImportResult", "import_model", "load_module", "parse_shape", "save_weights"]

BATCHES = (2, 3)  # two batch sizes tell the batch dimension from every other
TOLERANCE = 1e-5


@dataclass
class ImportResult:
    project: Project
    state_dict: dict[str, torch.Tensor]  # keyed by the new node ids, like a compiled graph's
    unmapped: list[tuple[str, str]]  # (node id, what it calls) of every FxModule node
    max_diff: float | None  # against the original on random inputs, eval mode
    problems: list[str] = field(default_factory=list)  # why the comparison could not run

    @property
    def ok(self) -> bool:
        return not self.problems and self.max_diff is not None and self.max_diff <= TOLERANCE

    def text(self) -> str:
        graph = self.project.graph
        layers = len(graph) - len(graph.nodes_of_type("Input")) - len(graph.nodes_of_type("Output"))
        lines = [f"imported {self.project.extra['imported']['source']}: {len(graph)} nodes "
                 f"({layers} layers, {len(self.unmapped)} unmapped as FxModule)"]
        counts: dict[str, int] = {}
        for _, what in self.unmapped:
            counts[what.split(" ")[0]] = counts.get(what.split(" ")[0], 0) + 1
        for what, count in sorted(counts.items(), key=lambda kv: -kv[1]):
            lines.append(f"  FxModule x{count}: {what}")
        lines.extend(f"  problem: {p}" for p in self.problems)
        if self.max_diff is not None:
            verdict = "reproduces the original" if self.max_diff <= TOLERANCE else "DIFFERS from the original"
            lines.append(f"verified: {verdict} (max abs diff {self.max_diff:.2e}, eval mode, random inputs)")
        return "\n".join(lines)


def _flatten_outputs(value) -> list[torch.Tensor]:
    return [v for v in leaves(value) if isinstance(v, torch.Tensor)]


def import_model(
    ref: str,
    input_shapes=((3, 224, 224),),
    catalog: Catalog | None = None,
    name: str | None = None,
    seed: int = 0,
    model: nn.Module | None = None,
) -> ImportResult:
    """Trace and map `ref` (or an already built `model`). Raises ImportFailure."""
    catalog = catalog or default_catalog()
    ensure_registered(catalog)
    model = load_module(ref, seed) if model is None else model
    model.eval()
    gm = trace(model, ref)
    runs = [example_inputs(gm, input_shapes, b, seed + i) for i, b in enumerate(BATCHES)]
    dtypes = runs[0][1]
    try:
        values = [record(gm, tensors) for tensors, _ in runs]
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        shown = " and ".join("[N, " + ", ".join(map(str, shape)) + "]" for shape in input_shapes)
        raise ImportFailure(f"{ref} fails on input {shown}: {type(exc).__name__}: {first}") from None
    kinds = classify(values[0], values[1], BATCHES)
    builder = NodeBuilder(gm, kinds, values[0], dtypes, catalog)
    nodes, _outputs = builder.build()
    graph = to_graph(nodes, catalog)
    positions = layered_positions([n.id for n in nodes], [(s, n.id) for n in nodes for s in n.inputs])
    for node_id, pos in positions.items():
        graph.move_node(node_id, pos)
    state = _state_dict(gm, nodes)
    unmapped = [(n.id, n.params.get("origin", "")) for n in nodes if n.type == "FxModule"]
    project_name = name or re.sub(r"\W+", "_", ref.rpartition(":")[2]) or "imported"
    project = Project(name=project_name, graph=graph)
    project.extra["imported"] = {
        "source": ref,
        "input_shapes": [list(s) for s in input_shapes],
        "unmapped": len(unmapped),
    }
    result = ImportResult(project, state, unmapped, None)
    _verify(result, model, gm, input_shapes, seed)
    return result


def _state_dict(gm: fx.GraphModule, nodes: list[GraphNode]) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    for n in nodes:
        for prefix, path, *shape in n.moves:
            if not _is_module(gm, path):  # one tensor: an FxModule's, a ClassToken's token, a position table
                value = operator.attrgetter(path)(gm).detach().clone()
                state[f"{n.id}.{prefix[:-1]}"] = value.reshape(shape[0]) if shape and shape[0] else value
                continue
            for key, value in gm.get_submodule(path).state_dict().items():
                state[f"{n.id}.{prefix}{key}"] = value.detach().clone()
    return state


def _is_module(gm: fx.GraphModule, path: str) -> bool:
    try:
        gm.get_submodule(path)
    except AttributeError:
        return False
    return True


def _verify(result: ImportResult, model: nn.Module, gm: fx.GraphModule, input_shapes, seed: int) -> None:
    from workbench.core.compile import CompileError, compile_graph

    graph = result.project.graph
    shapes = infer_shapes(graph)
    for d in shapes.errors:
        result.problems.append(f"{d.node_id or 'model'}: {d.text}")
    if result.problems:
        return
    try:
        compiled = compile_graph(graph, result.project.name, shapes)
        compiled.load_state_dict(result.state_dict, strict=True)
    except (CompileError, RuntimeError) as exc:
        result.problems.append(f"cannot compile the imported graph: {exc}")
        return
    compiled.eval()
    tensors, _ = example_inputs(gm, input_shapes, BATCHES[0], seed + 100)
    names = [n.id for n in graph if n.type == "Input"]  # added in the order of forward's arguments
    with torch.no_grad():
        expected = _flatten_outputs(model(*tensors))
        got = _flatten_outputs(compiled(**dict(zip(names, tensors))))
    if len(expected) != len(got) or any(a.shape != b.shape for a, b in zip(expected, got)):
        result.problems.append("the imported graph returns differently shaped outputs")
        return
    result.max_diff = max((float((a.double() - b.double()).abs().max()) for a, b in zip(expected, got)), default=0.0)


def save_weights(path, state_dict: dict[str, torch.Tensor]) -> Path:
    """A checkpoint {"model": state_dict}, loadable with torch.load(weights_only=True)."""
    import io

    from workbench.core.project import atomic_write_bytes

    buffer = io.BytesIO()
    torch.save({"model": {k: v.contiguous() for k, v in state_dict.items()}}, buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)
