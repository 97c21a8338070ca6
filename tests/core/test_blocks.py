"""Blocks: grouping nodes into a named sub-graph, using it as one node, ungrouping."""

import pytest
import torch

from workbench.core.codegen import codegen
from workbench.core.commands import GroupIntoBlock, Ungroup, UndoStack
from workbench.core.compile import compile_graph
from workbench.core.graph import Graph, GraphError
from workbench.core.project import Project, load_project, project_from_dict, save_project
from workbench.core.shapes import infer_shapes

NODES = [
    ("x", "Input", {"shape": [3, 8, 8]}, (0, 0)),
    ("c1", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, (0, 120)),
    ("r1", "ReLU", {}, (0, 240)),
    ("c2", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, (0, 360)),
    ("add", "Add", {}, (0, 480)),
    ("flat", "Flatten", {}, (0, 600)),
    ("fc", "Linear", {"out_features": 5}, (0, 720)),
    ("side", "Linear", {"out_features": 3}, (200, 720)),
    ("out", "Output", {}, (0, 840)),
    ("out2", "Output", {}, (200, 840)),
]
EDGES = [
    ("x", "c1", 0), ("c1", "r1", 0), ("r1", "c2", 0), ("c2", "add", 0), ("c1", "add", 1),
    ("add", "flat", 0), ("flat", "fc", 0), ("fc", "out", 0), ("flat", "side", 0), ("side", "out2", 0),
]


def make_graph() -> Graph:
    g = Graph()
    for node_id, type_name, params, pos in NODES:
        g.add_node(node_id, type_name, params, pos)
    for source, target, port in EDGES:
        g.connect(source, target, 0, port)
    return g


def grouped(names=("r1", "c2", "add"), name="ResBlock"):
    g = make_graph()
    stack = UndoStack(g)
    command = GroupIntoBlock(list(names), name)
    stack.push(command)
    return g, stack, command


def test_group_replaces_selection_by_one_block_and_undo_is_exact():
    g = make_graph()
    before = g.to_dict()
    stack = UndoStack(g)
    command = GroupIntoBlock(["r1", "c2", "add"], "ResBlock")
    stack.push(command)
    after = g.to_dict()
    assert set(g.nodes) == {"x", "c1", "flat", "fc", "side", "out", "out2", command.block_id}
    assert g.nodes[command.block_id].type == "Block"
    assert g.nodes[command.block_id].params == {"block": "ResBlock"}
    assert "ResBlock" in g.blocks
    assert g.spec(command.block_id).inputs == 1 and g.spec(command.block_id).outputs == 1
    assert stack.undo()
    assert g.to_dict() == before and g.blocks == {}
    assert stack.redo()
    assert g.to_dict() == after and "ResBlock" in g.blocks


def test_ungroup_restores_the_flat_graph_and_undo_is_exact():
    g, stack, command = grouped()
    after_group = g.to_dict()
    stack.push(Ungroup(command.block_id))
    assert set(g.nodes) == {n[0] for n in NODES}
    assert {(e.source, e.target, e.target_port) for e in g.edges} == set(EDGES)
    assert stack.undo()
    assert g.to_dict() == after_group
    assert stack.undo()
    assert g.to_dict() == make_graph().to_dict()


def test_group_with_two_outputs_and_ungroup():
    g, stack, command = grouped(("flat", "fc", "side"), "Head")
    spec = g.spec(command.block_id)
    assert spec.outputs == 2
    result = infer_shapes(g)
    assert result.ok, result.diagnostics
    stack.push(Ungroup(command.block_id))
    assert {(e.source, e.target, e.target_port) for e in g.edges} == set(EDGES)


def test_group_refuses_bad_selections():
    g = make_graph()
    with pytest.raises(GraphError, match="Input"):
        GroupIntoBlock(["x", "c1"], "B").redo(g)
    with pytest.raises(GraphError, match="contiguous"):
        GroupIntoBlock(["c1", "add"], "B").redo(g)  # c1 -> r1 -> c2 -> add leaves and re-enters
    with pytest.raises(GraphError, match="name"):
        GroupIntoBlock(["r1"], " ").redo(g)
    assert g.to_dict() == make_graph().to_dict()
    GroupIntoBlock(["r1"], "B").redo(g)
    with pytest.raises(GraphError, match="already exists"):
        GroupIntoBlock(["fc"], "B").redo(g)


def test_shapes_through_a_block_equal_the_flat_graph():
    flat = infer_shapes(make_graph())
    g, _, command = grouped()
    result = infer_shapes(g)
    assert result.ok, result.diagnostics
    assert result.outputs[command.block_id] == flat.outputs["add"]
    for node_id in ("flat", "fc", "side"):
        assert result.outputs[node_id] == flat.outputs[node_id]


def _copied_weights(flat_model, block_model, block_id):
    state = {}
    for key in block_model.state_dict():
        state[key] = flat_model.state_dict()[key.removeprefix(block_id + ".")]
    block_model.load_state_dict(state)


def test_compiled_block_matches_the_flat_graph():
    torch.manual_seed(0)
    flat_model = compile_graph(make_graph()).eval()
    g, _, command = grouped()
    block_model = compile_graph(g).eval()
    _copied_weights(flat_model, block_model, command.block_id)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        for a, b in zip(flat_model(x), block_model(x)):
            torch.testing.assert_close(a, b)


def test_block_with_two_inputs_compiles_like_the_flat_graph():
    torch.manual_seed(0)
    flat_model = compile_graph(make_graph()).eval()
    g, stack, command = grouped(("c2", "add"), "Merge")
    assert g.spec(command.block_id).inputs == 2
    block_model = compile_graph(g).eval()
    _copied_weights(flat_model, block_model, command.block_id)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        for a, b in zip(flat_model(x), block_model(x)):
            torch.testing.assert_close(a, b)
    namespace = {"__name__": "generated"}
    exec(compile(codegen(g, "Net"), "generated.py", "exec"), namespace)
    generated = namespace["Net"]().eval()
    generated.load_state_dict(block_model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(generated(x)[0], block_model(x)[0])
    stack.push(Ungroup(command.block_id))
    assert {(e.source, e.target, e.target_port) for e in g.edges} == set(EDGES)


def test_codegen_with_a_block_runs_standalone_and_loads_the_state_dict():
    g, _, command = grouped()
    model = compile_graph(g, "Net").eval()
    source = codegen(g, "Net")
    assert "class ResBlockBlock(nn.Module)" in source
    namespace = {"__name__": "generated"}
    exec(compile(source, "generated.py", "exec"), namespace)
    generated = namespace["Net"]().eval()
    generated.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        for a, b in zip(model(x), generated(x)):
            torch.testing.assert_close(a, b)


def test_project_round_trip_keeps_blocks(tmp_path):
    g, _, command = grouped()
    project = Project(name="p", graph=g)
    doc = project.to_dict()
    assert [b["name"] for b in doc["blocks"]] == ["ResBlock"]
    again = project_from_dict(doc)
    assert again.graph.blocks == g.blocks
    assert again.to_dict() == doc
    path = save_project(project, tmp_path / "p.wbproj")
    loaded = load_project(path)
    assert loaded.to_dict() == doc
    assert infer_shapes(loaded.graph).ok
    compile_graph(loaded.graph)


def test_unknown_block_is_a_diagnostic_not_an_exception():
    g = make_graph()
    g.add_node("b", "Block", {"block": "Nope"})
    g.connect("fc", "b")
    result = infer_shapes(g)
    assert any(d.node_id == "b" and "not defined" in d.message for d in result.errors)


def test_malformed_blocks_are_refused_with_where():
    from workbench.core.project import ProjectError

    doc = Project(name="p", graph=make_graph()).to_dict()
    doc["blocks"] = [{"name": "B", "graph": {"nodes": [{"id": 3}]}}]
    with pytest.raises(ProjectError, match=r"blocks\[0\]\.graph\.nodes\[0\]"):
        project_from_dict(doc)


def test_python_export_of_a_graph_with_a_block_runs_in_a_clean_interpreter(tmp_path):
    from workbench.export import export

    g, _, _ = grouped()
    report = export(Project(name="blk", graph=g), "python", tmp_path)
    data = report.to_dict()
    assert data["ok"], data["failure"]
    assert any("clean interpreter" in line for line in data["verified"])
