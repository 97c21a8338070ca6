import torch
from torch import nn

from workbench.core.catalog import Catalog, Constructor, LayerSpec, default_catalog
from workbench.core.graph import Graph
from workbench.core.params import INT, Param
from workbench.core.shapes import ERROR, WARNING, ShapeInference, infer_shapes
from workbench.core.tensors import TensorInfo


def build(nodes, edges, catalog=None):
    g = Graph(catalog)
    for node_id, type_name, params in nodes:
        g.add_node(node_id, type_name, params)
    for edge in edges:
        g.restore_edge({"source": edge[0], "target": edge[1], "target_port": edge[2] if len(edge) > 2 else 0})
    return g


def messages(result):
    return {(d.node_id, d.severity, d.message) for d in result.diagnostics}


def mlp(shape=(1, 8, 8)):
    return build(
        [("x", "Input", {"shape": list(shape)}), ("fc", "Linear", {"out_features": 10}), ("out", "Output", {})],
        [("x", "fc"), ("fc", "out")],
    )


def test_linear_on_an_image_maps_its_last_dimension_as_torch_does():
    result = infer_shapes(mlp((16, 8, 8)))
    assert result.ok and result.output("fc") == TensorInfo((16, 8, 10))


def test_clean_graph_has_shapes_and_no_diagnostics():
    result = infer_shapes(mlp((32,)))
    assert result.ok and result.diagnostics == []
    assert result.output("fc") == TensorInfo((10,))


def test_missing_input_output_and_unconnected_port():
    g = build([("fc", "Linear", {})], [])
    result = infer_shapes(g)
    assert messages(result) == {
        ("fc", ERROR, "input 0 is not connected"),
        (None, ERROR, "the model has no Input node; add one from the io category"),
        (None, ERROR, "the model has no Output node; connect one to the tensor the model should return"),
    }


def test_merge_needs_two_inputs_and_matching_shapes():
    g = build(
        [("x", "Input", {"shape": [4]}), ("y", "Input", {"shape": [5]}), ("add", "Add", {}), ("out", "Output", {})],
        [("x", "add"), ("add", "out")],
    )
    assert ("add", ERROR, "Add needs at least 2 inputs but has 1; connect more") in messages(infer_shapes(g))
    g.connect("y", "add", target_port=1)
    [d] = infer_shapes(g).errors
    assert d.node_id == "add" and "cannot broadcast [N, 4], [N, 5]" in d.message


def test_invalid_param_names_the_field():
    g = mlp((8,))
    g.set_params("fc", {"out_features": 0})
    [d] = infer_shapes(g).errors
    assert (d.node_id, d.field, d.message) == ("fc", "out_features", "must be at least 1, got 0")
    g.set_params("fc", {"out_features": "ten"})
    assert "must be a whole number" in infer_shapes(g).errors[0].message
    g.set_params("fc", {"outfeatures": 3})
    assert "unknown parameter" in infer_shapes(g).errors[0].message


def test_token_ids_into_a_float_layer():
    g = build(
        [("x", "Input", {"shape": [8], "dtype": "int64"}), ("fc", "Linear", {}), ("out", "Output", {})],
        [("x", "fc"), ("fc", "out")],
    )
    [d] = infer_shapes(g).errors
    assert d.node_id == "fc" and "int64" in d.message and "Embedding" in d.message


def test_errors_do_not_cascade_downstream():
    g = build(
        [("x", "Input", {"shape": [3, 4, 4]}), ("fc", "LSTM", {"hidden_size": 4}), ("act", "ReLU", {}), ("out", "Output", {})],
        [("x", "fc"), ("fc", "act"), ("act", "out")],
    )
    assert [d.node_id for d in infer_shapes(g).diagnostics] == ["fc"]


def test_cycle_is_reported_on_every_node_in_it():
    g = build(
        [("x", "Input", {"shape": [4]}), ("a", "Add", {}), ("b", "ReLU", {}), ("out", "Output", {})],
        [("x", "a"), ("a", "b"), ("b", "a", 1), ("b", "out")],
    )
    result = infer_shapes(g)
    cyclic = {d.node_id for d in result.errors if "cycle" in d.message}
    assert cyclic == {"a", "b"}
    assert "a → b → a" in result.errors[0].message or "b → a → b" in result.errors[0].message


def test_dead_branch_is_a_warning():
    g = mlp((8,))
    g.add_node("lonely", "ReLU")
    g.connect("x", "lonely")
    result = infer_shapes(g)
    assert result.ok
    assert messages(result) == {("lonely", WARNING, "does not lead to any Output, so it is not part of the model")}


def test_incremental_inference_follows_edits_and_matches_fresh():
    g = build(
        [
            ("x", "Input", {"shape": [16]}),
            ("fc1", "Linear", {"out_features": 8}),
            ("act", "ReLU", {}),
            ("fc2", "Linear", {"out_features": 3}),
            ("out", "Output", {}),
        ],
        [("x", "fc1"), ("fc1", "act"), ("act", "fc2"), ("fc2", "out")],
    )
    live = ShapeInference(g)
    assert live.result().output("act").shape == (8,)
    g.set_params("fc1", {"out_features": 5})
    assert live.result().output("act").shape == (5,)
    g.set_params("x", {"shape": [3, 4]})
    assert live.result().output("fc2").shape == (3, 3)
    g.remove_node("act")
    assert live.result().errors[0].node_id == "fc2"
    g.connect("fc1", "fc2")
    fresh = infer_shapes(g.copy())
    assert live.result().outputs == fresh.outputs and live.result().diagnostics == fresh.diagnostics


def test_a_move_does_not_invalidate():
    g = mlp((8,))
    live = ShapeInference(g)
    first = live.result()
    g.move_node("fc", (100, 100))
    assert live.result() is first


def test_layer_without_a_formula_runs_on_meta():
    class Twice(nn.Module):
        def __init__(self, factor):
            super().__init__()
            self.factor = factor

        def forward(self, x):
            return torch.cat([x] * self.factor, dim=-1)

    catalog = Catalog()
    for spec in default_catalog():
        catalog.register(spec)
    catalog.register(
        LayerSpec(
            name="Twice",
            category="plugins",
            doc="repeat the last dim",
            params=(Param("factor", INT, 2, min=1),),
            construct=lambda inputs, p: Constructor(Twice, dict(p)),
        )
    )
    g = build(
        [("x", "Input", {"shape": [3, 5]}), ("t", "Twice", {"factor": 3}), ("out", "Output", {})],
        [("x", "t"), ("t", "out")],
        catalog,
    )
    assert infer_shapes(g).output("t") == TensorInfo((3, 15))


def test_memo_tells_true_from_one():
    g = mlp((4,))
    g.set_params("fc", {"out_features": 1})
    assert infer_shapes(g).ok
    g.set_params("fc", {"out_features": True})
    assert infer_shapes(g).errors[0].field == "out_features"


def test_edit_behind_a_failing_node_is_not_lost():
    g = build(
        [("x", "Input", {"shape": [4]}), ("a", "Linear", {"out_features": 3}), ("b", "Linear", {"out_features": 5}), ("out", "Output", {})],
        [("x", "a"), ("a", "b"), ("b", "out")],
    )
    live = ShapeInference(g)
    live.result()
    g.set_params("a", {"out_features": 0})  # a fails, so b is skipped...
    live.result()
    g.set_params("b", {"out_features": 7})  # ...while it is edited
    live.result()
    g.set_params("a", {"out_features": 3})  # a back to the same shape as before
    assert live.result().output("b").shape == (7,)
