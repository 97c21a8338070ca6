"""Dropping a layer onto a link inserts it into that link, as in every node editor (pure Python: the
canvas calls it on a drop).

The old edge goes, the new node takes its place between the two ends (one undo step);
when it would cover a node there, it takes the target's place and the target, with what
follows it, moves down a row. The shapes
decide: when the layer cannot take the tensor the link carries, or what it makes cannot
go on where the link went, the layer is placed beside the link unconnected and the
status bar says why.
"""

from __future__ import annotations

from workbench.core.commands import AddNode, Connect, Disconnect, Macro, MoveNodes
from workbench.core.graph import Edge, GraphError
from workbench.core.layout import NODE_H, NODE_W, ROW


def insertion(graph, edge: Edge, node_id: str, type_name: str, params: dict, pos: tuple[float, float]):
    """(the commands that insert the new node into `edge`, None) or (None, why it cannot)."""
    spec = graph.catalog.get(type_name)
    if spec.outputs < 1 or (spec.inputs < 1 and not spec.variadic):
        return None, f"{type_name} cannot sit inside a link (it has no {'output' if spec.outputs < 1 else 'input'})"
    moves = _make_room(graph, edge.target, pos)
    if moves:
        pos = graph.nodes[edge.target].pos  # it takes the target's place; the target moves down
    commands = [
        AddNode(node_id, type_name, params, pos),
        Disconnect(edge),
        Connect(edge.source, node_id, edge.source_port, 0),
        Connect(node_id, edge.target, 0, edge.target_port),
    ]
    if moves:
        commands.insert(0, MoveNodes(moves))
    why = _new_problem(graph, commands, node_id)
    if why is not None:
        return None, why
    return commands, None


def _make_room(graph, target: str, pos) -> dict:
    """When the new node would cover another: the target and what follows it at or below
    it move down a row (the new node then takes the target's place)."""
    x, y = pos
    covered = any(abs(n.pos[0] - x) < NODE_W + 10 and abs(n.pos[1] - y) < NODE_H + 10 for n in graph)
    if not covered:
        return {}
    top = graph.nodes[target].pos[1]
    below = [n for n in graph.downstream([target]) if graph.nodes[n].pos[1] >= top]
    return {n: (graph.nodes[n].pos, (graph.nodes[n].pos[0], graph.nodes[n].pos[1] + ROW)) for n in below}


def _new_problem(graph, commands, node_id: str) -> str | None:
    """The first error the insertion would add (on the new node or after it), tried on a copy."""
    from workbench.core.shapes import infer_shapes

    trial = graph.copy()
    before = {(d.node_id, d.message) for d in infer_shapes(trial).errors}
    try:
        Macro("try", commands).redo(trial)
    except GraphError as exc:
        return str(exc)
    after = infer_shapes(trial).errors
    for d in after:
        if (d.node_id, d.message) not in before and d.node_id in trial.downstream([node_id]):
            return f"{d.node_id}: {d.message.splitlines()[0]}"
    return None
