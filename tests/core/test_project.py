import json
import os

import pytest

from workbench.core import project as project_module
from workbench.core.project import VERSION, ProjectError, load_project, project_from_dict, save_project

DOC = {
    "format": "model-workbench-project",
    "version": 1,
    "name": "tiny",
    "graph": {
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [4]}, "pos": [0, 0]},
            {"id": "fc", "type": "Linear", "params": {"out_features": 2}, "pos": [0, 120], "note": "kept"},
            {"id": "out", "type": "Output", "params": {}, "pos": [0, 240]},
        ],
        "edges": [{"source": "x", "target": "fc"}, {"source": "fc", "target": "out"}],
        "view": {"zoom": 1.5},
    },
    "data": {"source": "digits", "params": {}, "val_fraction": 0.2, "augment": []},
    "training": {"epochs": 1, "batch_size": 8, "optimizer": {"type": "SGD", "lr": 0.1}, "loss": {"type": "MSELoss"}, "device": "cpu", "seed": 3},
    "future_feature": {"anything": [1, 2]},
}


def test_round_trip_keeps_everything_including_unknown_keys(tmp_path):
    path = tmp_path / "tiny.wbproj"
    path.write_text(json.dumps(DOC))
    project = load_project(path)
    save_project(project, tmp_path / "again.wbproj")
    assert json.loads((tmp_path / "again.wbproj").read_text()) == DOC


def test_save_is_atomic_and_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "p.wbproj"
    project = project_from_dict(DOC)
    save_project(project, path)
    good = path.read_bytes()

    def explode(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(project_module.os, "fsync", explode)
    project.name = "changed"
    with pytest.raises(OSError):
        save_project(project, path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["p.wbproj"]  # no temp file left behind


def bad(**changes):
    doc = json.loads(json.dumps(DOC))
    for dotted, value in changes.items():
        target = doc
        *parents, last = dotted.split("__")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value
    return doc


@pytest.mark.parametrize(
    "doc, message",
    [
        ([], "the document: must be an object, got []"),
        (bad(format="other"), "not a Model Workbench project"),
        (bad(version=VERSION + 1), "newer Model Workbench"),
        (bad(version="1"), "version: must be a whole number"),
        (bad(graph__nodes=5), "graph.nodes: must be a list, got 5"),
        (bad(graph__nodes__1__type=""), "graph.nodes[1]: a layer type must be a name"),
        (bad(graph__nodes__1__params=[1]), "graph.nodes[1].params: must be an object"),
        (bad(graph__nodes__1__id=7), "graph.nodes[1].id: must be text, got 7"),
        (bad(graph__nodes__2__id="fc"), "graph.nodes[2]: a node with id 'fc' already exists"),
        (bad(graph__nodes__1__pos=[1]), "graph.nodes[1].pos: must be two numbers"),
        (bad(graph__edges__1__target="nowhere"), "graph.edges[1]: no node with id 'nowhere'"),
        (bad(graph__edges__1__target_port=-1), "graph.edges[1].target_port: must be a whole number >= 0"),
        (bad(graph__edges__1__target_port=3), "graph.edges[1]: out (Output) has no input port 3"),
        (bad(training=None), "training: must be an object, got null"),
    ],
)
def test_malformed_documents_say_where(doc, message):
    with pytest.raises(ProjectError) as info:
        project_from_dict(doc)
    assert message in str(info.value)


def test_missing_layer_type_opens_marked_and_round_trips_unchanged(tmp_path):
    """A type no installed plugin provides: the project opens, the node carries an error
    diagnostic, its params and edges are kept verbatim, and compile names the node."""
    from workbench.core.compile import CompileError, compile_graph
    from workbench.core.shapes import infer_shapes

    doc = bad(graph__nodes__1__type="Linearr")
    doc["graph"]["nodes"][1]["params"] = {"out_features": 2, "whatever": [1, {"a": None}]}
    path = tmp_path / "p.wbproj"
    path.write_text(json.dumps(doc))
    project = load_project(path)
    graph = project.graph
    assert graph.is_missing("fc") and graph.spec("fc").category == "missing"
    assert [(e.source, e.target) for e in graph.edges] == [("x", "fc"), ("fc", "out")]
    result = infer_shapes(graph)
    assert [str(d) for d in result.errors] == ["error: fc: missing layer type 'Linearr' (no installed plugin provides it)"]
    with pytest.raises(CompileError) as info:
        compile_graph(graph)
    assert info.value.node_id == "fc" and "missing layer type 'Linearr'" in info.value.reason
    save_project(project, tmp_path / "again.wbproj")
    assert json.loads((tmp_path / "again.wbproj").read_text()) == doc


def test_file_level_errors(tmp_path):
    truncated = tmp_path / "t.wbproj"
    truncated.write_text(json.dumps(DOC)[:100])
    with pytest.raises(ProjectError, match=r"line 1, column \d+: invalid JSON"):
        load_project(truncated)
    with pytest.raises(ProjectError, match="no such file"):
        load_project(tmp_path / "missing.wbproj")
    with pytest.raises(ProjectError, match="is a folder"):
        load_project(tmp_path)
    nan = tmp_path / "nan.wbproj"
    nan.write_text(json.dumps(DOC).replace('"pos": [0, 0]', '"pos": [NaN, 0]'))
    with pytest.raises(ProjectError, match="NaN is not a number JSON allows"):
        load_project(nan)
    binary = tmp_path / "b.wbproj"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ProjectError, match="not UTF-8"):
        load_project(binary)


def test_older_versions_are_migrated_in_order(monkeypatch):
    def v0_to_v1(doc):
        doc["graph"] = doc.pop("model")
        return doc

    monkeypatch.setattr(project_module, "MIGRATIONS", {0: v0_to_v1})
    old = bad(version=0)
    old["model"] = old.pop("graph")
    project = project_from_dict(old)
    assert list(project.graph.nodes) == ["x", "fc", "out"]
    assert project.to_dict()["version"] == VERSION


def test_loading_never_unpickles(tmp_path):
    marker = tmp_path / "pwned"
    doc = bad(name={"py/object": f"os.system('touch {marker}')"})
    with pytest.raises(ProjectError):
        project_from_dict(doc)
    assert not marker.exists() and os.path.exists(tmp_path)
