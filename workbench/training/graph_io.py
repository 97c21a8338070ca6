"""What a graph takes and gives, for a run: its Input infos and first output, without torch.

The Data dock and the Evaluation view check a project against its data before anything
is built, on the UI thread, so this reads only the shapes (the session builds the model).
"""

from __future__ import annotations

from workbench.core.compile import plan_model
from workbench.core.project import Project
from workbench.core.shapes import infer_shapes
from workbench.core.tensors import TensorInfo

__all__ = ["SetupError", "graph_io"]


class SetupError(Exception):
    """The run cannot start; a user mistake with a message saying what to change."""


def graph_io(project: Project, graph=None) -> tuple[dict[str, TensorInfo], TensorInfo]:
    """The graph's Input nodes (id -> per-sample info, forward order) and its first output;
    `graph` defaults to the project's with its sizes from the data resolved."""
    from workbench.data.facts import project_graph

    graph = project_graph(project) if graph is None else graph
    result = infer_shapes(graph)
    if result.errors:
        first = result.errors[0]
        where = f"{first.node_id}: " if first.node_id else ""
        raise SetupError(f"the graph has errors; {where}{first.message}")
    plan = plan_model(graph, result)
    inputs = {node_id: result.outputs[node_id][0] for node_id in plan.inputs}
    if not plan.outputs:
        raise SetupError("the graph has no Output node: connect the last layer to an Output")
    source, port = plan.outputs[0]
    return inputs, result.outputs[source][port]
