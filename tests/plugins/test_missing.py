"""A project using a layer type no installed plugin provides still opens, keeps that node
verbatim, and compiles once the plugin is there."""

from __future__ import annotations

import json

import pytest

from tests.plugins.helpers import fresh_catalog
from workbench.core.commands import RemoveNode
from workbench.core.compile import CompileError, compile_graph
from workbench.core.graph import Graph, PortError, UnknownLayerError
from workbench.core.project import load_project, save_project
from workbench.core.shapes import infer_shapes
from workbench.paths import ROOT
from workbench.plugins import load_plugins

DOC = {
    "format": "model-workbench-project",
    "version": 1,
    "name": "se",
    "graph": {
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [8, 6, 6]}, "pos": [0, 0]},
            {"id": "se", "type": "SqueezeExcitation", "params": {"reduction": 4, "from_the_future": [1, {"a": None}]},
             "pos": [0, 120], "note": "kept"},
            {"id": "relu", "type": "ReLU", "params": {}, "pos": [0, 240]},
            {"id": "out", "type": "Output", "params": {}, "pos": [0, 360]},
        ],
        "edges": [
            {"source": "x", "target": "se"},
            {"source": "se", "target": "relu", "source_port": 2},
            {"source": "relu", "target": "out"},
        ],
    },
    "data": {"source": "digits", "params": {}, "val_fraction": 0.2, "augment": []},
    "training": {"epochs": 1, "batch_size": 8, "optimizer": {"type": "SGD", "lr": 0.1}, "loss": {"type": "MSELoss"},
                 "device": "cpu", "seed": 0},
}
MESSAGE = "missing layer type 'SqueezeExcitation' (no installed plugin provides it)"


@pytest.fixture
def path(tmp_path):
    path = tmp_path / "se.wbproj"
    path.write_text(json.dumps(DOC), encoding="utf-8")
    return path


def test_opens_marked_and_round_trips_unchanged(path, tmp_path):
    project = load_project(path, fresh_catalog())
    graph = project.graph
    assert graph.is_missing("se") and not graph.is_missing("relu")
    assert graph.nodes["se"].params == DOC["graph"]["nodes"][1]["params"]
    assert len(graph.edges) == 3
    result = infer_shapes(graph)
    assert [(d.node_id, d.severity, d.message) for d in result.errors] == [("se", "error", MESSAGE)]
    assert result.output("se") is None and result.output("relu") is None  # unknown downstream, no noise
    with pytest.raises(CompileError) as info:
        compile_graph(graph)
    assert info.value.node_id == "se" and info.value.reason == MESSAGE
    save_project(project, tmp_path / "again.wbproj")
    assert json.loads((tmp_path / "again.wbproj").read_text(encoding="utf-8")) == DOC


def test_placeholder_spec_and_ports(path):
    graph = load_project(path, fresh_catalog()).graph
    spec = graph.spec("se")
    assert spec.category == "missing" and spec.outputs == 3 and spec.accepts_input_port(7)
    assert MESSAGE in spec.doc
    graph.add_node("extra", "ReLU")
    graph.connect("se", "extra", source_port=5)  # any port >= 0 on a missing node
    with pytest.raises(PortError):
        graph.connect("x", "se", target_port=-1)
    with pytest.raises(PortError, match="already fed by x"):
        graph.connect("relu", "se")
    with pytest.raises(UnknownLayerError):
        graph.add_node("y", "SqueezeExcitation")  # the editor still refuses unknown types


def test_delete_and_undo_keeps_a_missing_node(path):
    graph = load_project(path, fresh_catalog()).graph
    before = graph.to_dict()
    command = RemoveNode("se")
    command.redo(graph)
    assert "se" not in graph and len(graph.edges) == 1
    command.undo(graph)
    assert graph.to_dict()["edges"] == before["edges"]
    assert graph.nodes["se"].type == "SqueezeExcitation" and graph.nodes["se"].params == before["nodes"][1]["params"]


def test_compiles_once_the_plugin_is_installed(path):
    catalog = fresh_catalog()
    doc = json.loads(path.read_text())
    doc["graph"]["nodes"][1]["params"] = {"reduction": 4}
    doc["graph"]["edges"][1].pop("source_port")
    path.write_text(json.dumps(doc))
    assert load_project(path, catalog).graph.is_missing("se")
    load_plugins(catalog, folders=[ROOT / "plugins"], entry_points=False)
    graph = load_project(path, catalog).graph
    assert not graph.is_missing("se") and infer_shapes(graph).ok
    assert compile_graph(graph).se.fc1.out_channels == 2
