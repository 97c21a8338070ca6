"""Comparing two projects: settings as dotted keys, graph nodes by id, positions ignored."""

from __future__ import annotations

import copy
import json

from workbench.core.diff import diff_projects, format_diff
from workbench.core.project import project_from_dict


def doc() -> dict:
    return {
        "format": "model-workbench-project",
        "version": 1,
        "name": "mlp",
        "graph": {
            "nodes": [
                {"id": "x", "type": "Input", "params": {"shape": [4]}, "pos": [0, 0]},
                {"id": "fc1", "type": "Linear", "params": {"out_features": 16}, "pos": [0, 120]},
                {"id": "act", "type": "ReLU", "params": {}, "pos": [0, 240]},
                {"id": "fc2", "type": "Linear", "params": {"out_features": 3}, "pos": [0, 360]},
                {"id": "out", "type": "Output", "params": {}, "pos": [0, 480]},
            ],
            "edges": [{"source": "x", "target": "fc1"}, {"source": "fc1", "target": "act"},
                      {"source": "act", "target": "fc2"}, {"source": "fc2", "target": "out"}],
        },
        "data": {"source": "synthetic", "params": {"kind": "moons", "n": 2000}, "val_fraction": 0.2, "augment": []},
        "training": {"epochs": 5, "batch_size": 32, "optimizer": {"type": "Adam", "lr": 0.01},
                     "loss": {"type": "CrossEntropyLoss"}, "device": "cpu", "seed": 0},
    }


def both(change) -> tuple:
    old = doc()
    new = copy.deepcopy(old)
    change(new)
    return project_from_dict(old), project_from_dict(new)


def test_moved_nodes_and_equal_numbers_are_no_difference():
    def move(d):
        for n in d["graph"]["nodes"]:
            n["pos"] = [n["pos"][0] + 300, n["pos"][1] - 50]
        d["training"]["optimizer"]["lr"] = 0.010  # same number
        d["training"]["epochs"] = 5.0  # an int written as a float is the same value

    diff = diff_projects(*both(move))
    assert diff.empty
    assert format_diff(diff) == ["no differences (canvas positions are not compared)"]


def test_settings_changes_are_dotted_keys_with_old_and_new():
    def change(d):
        d["training"]["optimizer"]["lr"] = 0.001
        d["training"]["weight_decay"] = 0.0001
        del d["training"]["seed"]
        d["data"]["params"]["n"] = 500
        d["data"]["augment"] = ["flip"]
        d["name"] = "mlp-2"

    diff = diff_projects(*both(change))
    by_key = {c.key: c for c in diff.settings}
    assert set(by_key) == {"name", "training.optimizer.lr", "training.weight_decay", "training.seed",
                           "data.params.n", "data.augment"}
    assert (by_key["training.optimizer.lr"].old, by_key["training.optimizer.lr"].new) == (0.01, 0.001)
    assert by_key["training.weight_decay"].added and by_key["training.seed"].removed
    assert diff.graph.empty and diff.same_graph and not diff.empty
    lines = format_diff(diff)
    assert lines[0] == "settings:"
    assert "  training.optimizer.lr: 0.01 -> 0.001" in lines
    assert "  training.weight_decay: added 0.0001" in lines
    assert "  training.seed: removed (was 0)" in lines
    assert '  data.augment: [] -> ["flip"]' in lines


def test_bool_and_number_differ():
    def change(d):
        d["training"]["amp"] = True

    old, new = both(change)
    old.training["amp"] = 1
    (c,) = diff_projects(old, new).settings
    assert (c.key, c.old, c.new) == ("training.amp", 1, True)


def test_graph_changes_node_by_node_and_edges():
    def change(d):
        nodes = d["graph"]["nodes"]
        nodes[1]["params"] = {"out_features": 32, "bias": False}  # fc1: changed, one param added
        nodes[2]["type"] = "GELU"  # act: type changed
        nodes.append({"id": "drop", "type": "Dropout", "params": {"p": 0.3}, "pos": [200, 300]})
        d["graph"]["edges"][2] = {"source": "act", "target": "drop"}
        d["graph"]["edges"].append({"source": "drop", "target": "fc2"})
        del nodes[4]  # out removed, with its edge
        d["graph"]["edges"] = [e for e in d["graph"]["edges"] if e["target"] != "out"]

    diff = diff_projects(*both(change))
    g = diff.graph
    assert [n["id"] for n in g.added] == ["drop"] and g.added[0]["params"] == {"p": 0.3}
    assert [n["id"] for n in g.removed] == ["out"]
    changed = {c.id: c for c in g.changed}
    assert set(changed) == {"fc1", "act"}
    assert [(p.key, p.old, p.new) for p in changed["fc1"].params if not p.added] == [("out_features", 16, 32)]
    assert [p.key for p in changed["fc1"].params if p.added] == ["bias"]
    assert (changed["act"].old_type, changed["act"].new_type) == ("ReLU", "GELU")
    assert g.edges_added == [{"source": "act", "target": "drop"}, {"source": "drop", "target": "fc2"}]
    assert g.edges_removed == [{"source": "act", "target": "fc2"}, {"source": "fc2", "target": "out"}]
    lines = format_diff(diff)
    assert lines[0] == "graph:"
    assert "  + node drop (Dropout) p=0.3" in lines
    assert "  - node out (Output)" in lines
    assert "  ~ node fc1 (Linear): out_features: 16 -> 32; bias: added false" in lines
    assert "  ~ node act (GELU): type ReLU -> GELU" in lines
    assert "  + edge act -> drop" in lines and "  - edge fc2 -> out" in lines


def test_changed_block_contents_are_listed_under_the_block():
    inner = {"nodes": [{"id": "i", "type": "Input", "params": {"shape": [4]}, "pos": [0, 0]},
                       {"id": "lin", "type": "Linear", "params": {"out_features": 4}, "pos": [0, 100]},
                       {"id": "o", "type": "Output", "params": {}, "pos": [0, 200]}],
             "edges": [{"source": "i", "target": "lin"}, {"source": "lin", "target": "o"}]}

    def with_blocks(d, width):
        block = copy.deepcopy(inner)
        block["nodes"][1]["params"]["out_features"] = width
        d["blocks"] = [{"name": "Res", "graph": block}, {"name": "Gone", "graph": copy.deepcopy(inner)}]
        return d

    old = project_from_dict(with_blocks(doc(), 4))
    new_doc = with_blocks(doc(), 8)
    new_doc["blocks"][1]["name"] = "Fresh"
    new = project_from_dict(new_doc)
    diff = diff_projects(old, new)
    assert diff.blocks_added == ["Fresh"] and diff.blocks_removed == ["Gone"] and not diff.same_graph
    assert list(diff.blocks_changed) == ["Res"]
    lines = format_diff(diff)
    assert lines[-2:] == ["block Res:", "  ~ node lin (Linear): out_features: 4 -> 8"]
    assert "+ block Fresh" in lines and "- block Gone" in lines


def test_json_form_round_trips_and_marks_added_and_removed_keys():
    def change(d):
        d["training"]["optimizer"]["lr"] = 0.1
        d["training"]["clip"] = 1.0
        d["graph"]["nodes"][1]["params"]["out_features"] = 8

    out = json.loads(json.dumps(diff_projects(*both(change)).to_json()))
    assert out["settings"] == [{"key": "training.optimizer.lr", "old": 0.01, "new": 0.1},
                               {"key": "training.clip", "new": 1.0}]
    assert out["graph"]["nodes_changed"] == [{"id": "fc1", "params": [{"key": "out_features", "old": 16, "new": 8}]}]
    assert out["blocks"] == {"added": [], "removed": [], "changed": {}}
