"""Graph -> torch.fx.GraphModule whose submodules and variables are named after node ids.

Only nodes that feed an Output are compiled. `forward` takes the Input node ids as named
arguments (so torch.export and dynamo export see real names) and returns one tensor,
or a tuple in Output-node order when there are several.
"""

from __future__ import annotations

import keyword
import operator
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.core.catalog import Constructor
from workbench.core.graph import Graph
from workbench.core.shapes import InferenceResult, infer_shapes
from workbench.core.tying import assignments, valid_ties

if TYPE_CHECKING:  # planning (the Generate dock, codegen's checks) needs no torch
    import torch.fx as fx

__all__ = ["CompileError", "LayerStep", "ModelPlan", "class_name", "compile_graph", "plan_model"]


class CompileError(Exception):
    """The graph has errors; `node_id` says where the first one is (None: the whole graph)."""

    def __init__(self, node_id: str | None, message: str) -> None:
        super().__init__(f"{node_id}: {message}" if node_id else message)
        self.node_id = node_id
        self.reason = message


@dataclass(frozen=True)
class LayerStep:
    node_id: str
    constructor: Constructor
    sources: tuple[tuple[str, int], ...]  # (node id, output port) per input, in port order
    outputs: int  # how many tensors the module returns


@dataclass(frozen=True)
class ModelPlan:
    """What compile and codegen both need: inputs, layers in order, outputs."""

    inputs: tuple[str, ...]
    steps: tuple[LayerStep, ...]
    outputs: tuple[tuple[str, int], ...]  # what each Output node returns, in node order
    output_ids: tuple[str, ...]
    result: InferenceResult
    ties: tuple[tuple[str, str], ...] = ()  # (layer, layer whose weight it shares): core/tying.py


def plan_model(graph: Graph, result: InferenceResult | None = None) -> ModelPlan:
    result = result or infer_shapes(graph)
    errors = result.errors
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        raise CompileError(first.node_id, first.message + more)
    inputs, steps, output_ids = [], [], []
    outputs = []
    for node_id in result.order:
        if node_id not in result.live:
            continue
        node = graph.nodes[node_id]
        edges = graph.in_edges(node_id)
        sources = tuple((e.source, e.source_port) for e in edges)
        if node.type == "Input":
            inputs.append(node_id)
            continue
        if node.type == "Output":
            output_ids.append(node_id)
            outputs.append(sources[0])
            continue
        spec = graph.spec(node_id)
        infos = [result.outputs[s][p] for s, p in sources]
        steps.append(LayerStep(node_id, spec.constructor(infos, result.resolved[node_id]), sources, spec.outputs))
    ties = valid_ties(graph, result.outputs, result.resolved, result.live)
    return ModelPlan(tuple(inputs), tuple(steps), tuple(outputs), tuple(output_ids), result, tuple(ties.items()))


def compile_graph(graph: Graph, name: str = "Model", result: InferenceResult | None = None) -> fx.GraphModule:
    """Build the model. Raises CompileError naming the first node with an error."""
    import torch.fx as fx
    from torch import nn

    plan = plan_model(graph, result)
    root = nn.Module()
    g = fx.Graph()
    values: dict[str, fx.Node] = {}
    for input_id in plan.inputs:
        values[input_id] = g.placeholder(input_id)

    def value(source: tuple[str, int], multi: dict[str, int]) -> fx.Node:
        node_id, port = source
        if multi.get(node_id, 1) > 1:
            return g.call_function(operator.getitem, (values[node_id], port))
        return values[node_id]

    multi: dict[str, int] = {}
    for step in plan.steps:
        root.add_module(step.node_id, step.constructor.build())
        args = tuple(value(s, multi) for s in step.sources)
        values[step.node_id] = g.create_node("call_module", step.node_id, args, {}, name=step.node_id)
        multi[step.node_id] = step.outputs
    returned = [value(s, multi) for s in plan.outputs]
    g.output(returned[0] if len(returned) == 1 else tuple(returned))
    module = fx.GraphModule(root, g, class_name=class_name(name))
    for target, source in assignments(plan.ties):
        module.get_submodule(target).weight = module.get_submodule(source).weight
    module.input_names = plan.inputs
    module.output_names = plan.output_ids
    return module


def class_name(name: str) -> str:
    """A CamelCase Python class name from a project name ("digits-cnn" -> "DigitsCnn")."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    result = "".join(w[:1].upper() + w[1:] for w in words) or "Model"
    if keyword.iskeyword(result):  # "none" -> "None" would not be a name
        return result + "Model"
    return result if result[0].isalpha() else "Model" + result
