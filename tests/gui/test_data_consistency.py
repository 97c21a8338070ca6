"""A new project fits its data, and a graph that does not fit its data says so on the
Input/Output node in the Problems panel and the status bar, without pressing Check or Train."""

from __future__ import annotations

from workbench.core.commands import SetParams
from workbench.ui.templates import BLANK

SEVEN_CLASS = {
    "format": "model-workbench-project", "version": 1, "name": "mismatch",
    "graph": {
        "nodes": [{"id": "input", "type": "Input", "params": {"shape": [1, 28, 28]}, "pos": [0, 0]},
                  {"id": "flat", "type": "Flatten", "params": {}, "pos": [0, 120]},
                  {"id": "fc", "type": "Linear", "params": {"out_features": 7}, "pos": [0, 240]},
                  {"id": "out", "type": "Output", "params": {}, "pos": [0, 360]}],
        "edges": [{"source": "input", "target": "flat"}, {"source": "flat", "target": "fc"}, {"source": "fc", "target": "out"}],
    },
    "data": {"source": "digits", "params": {}, "val_fraction": 0.2, "augment": []},
    "training": {"epochs": 1, "batch_size": 32, "optimizer": {"type": "Adam", "lr": 0.01},
                 "loss": {"type": "CrossEntropyLoss"}, "device": "cpu", "seed": 0},
}
INPUT_PROBLEM = "input (shape): digits gives [1, 8, 8] images but Input 'input' expects [1, 28, 28]"
OUTPUT_PROBLEM = "out: digits has 10 classes but the model outputs 7 values per sample; set the last layer's out_features to 10"


def problems(window) -> list[str]:
    return window.problems.messages()


def settled(qtbot, window) -> None:
    """Wait for the debounced data check (it runs on its own thread) to report."""
    data = window.settings_panels.data
    window.document.flush()
    qtbot.waitUntil(lambda: not data.timer.isActive() and not data.checker.busy, timeout=20000)
    qtbot.wait(50)


def test_a_new_blank_project_fits_its_data(qtbot, window):
    assert window.files.new_from(BLANK)
    graph = window.document.graph
    assert graph.node("input").params["shape"] == [1, 8, 8]  # digits: 8x8 greyscale
    assert window.document.project.data["source"] == "digits"
    settled(qtbot, window)
    assert window.document.result.outputs["classifier"][0].shape == (10,)  # one output per digit class
    assert problems(window) == ["No problems: the model compiles."]
    assert window.counts.text().endswith("· no errors")
    assert window.settings_panels.data.status.text() == "✓ the data fits the graph"


def test_a_mismatch_shows_on_its_node_without_check_and_clears_when_fixed(qtbot, make_window):
    window = make_window(SEVEN_CLASS)
    qtbot.waitUntil(lambda: INPUT_PROBLEM in problems(window), timeout=20000)  # nobody pressed Check
    qtbot.waitUntil(lambda: OUTPUT_PROBLEM in problems(window), timeout=20000)
    assert window.counts.text().endswith("· 2 errors")
    assert {d.node_id for d in window.problems.diagnostics()} == {"input", "out"}
    window.problems.item(problems(window).index(INPUT_PROBLEM)).setSelected(True)
    window.problems._clicked(window.problems.item(problems(window).index(INPUT_PROBLEM)))
    assert [n for n, item in window.scene.nodes.items() if item.isSelected()] == ["input"]

    window.document.push(SetParams("input", {"shape": [1, 8, 8]}))
    qtbot.waitUntil(lambda: INPUT_PROBLEM not in problems(window), timeout=20000)
    assert problems(window) == [OUTPUT_PROBLEM] and window.counts.text().endswith("· 1 error")
    window.document.push(SetParams("fc", {"out_features": 10}))
    qtbot.waitUntil(lambda: problems(window) == ["No problems: the model compiles."], timeout=20000)
    assert window.counts.text().endswith("· no errors")
    window.document.undo_stack.undo()  # undo brings the problem back, as it was
    qtbot.waitUntil(lambda: problems(window) == [OUTPUT_PROBLEM], timeout=20000)


def test_changing_the_data_source_rechecks_the_graph(qtbot, make_window):
    doc = dict(SEVEN_CLASS, graph={**SEVEN_CLASS["graph"]})
    window = make_window(doc)
    window.document.push(SetParams("input", {"shape": [1, 8, 8]}))
    window.document.push(SetParams("fc", {"out_features": 10}))
    qtbot.waitUntil(lambda: problems(window) == ["No problems: the model compiles."], timeout=20000)
    data = window.settings_panels.data
    data.source.setCurrentIndex(data.source.findText("mnist_sample"))  # 28x28 digits now
    expected = "input (shape): mnist_sample gives [1, 28, 28] images but Input 'input' expects [1, 8, 8]"
    qtbot.waitUntil(lambda: expected in problems(window), timeout=20000)


def test_the_training_docks_red_failure_clears_once_the_problem_is_fixed(qtbot, make_window):
    window = make_window(SEVEN_CLASS)
    window.docks["training"].raise_()
    dash = window.training
    dash.overrides = {"epochs": 1, "device": "cpu"}
    assert dash.train()
    qtbot.waitUntil(lambda: not dash.active, timeout=90000)  # a real `workbench train` child process
    assert dash.state == "failed"
    assert "digits gives [1, 8, 8] images but Input 'input' expects [1, 28, 28]" in dash.message.text()
    assert "c62828" in dash.message.styleSheet()
    window.document.push(SetParams("input", {"shape": [1, 8, 8]}))
    settled(qtbot, window)
    assert dash.message.text() != ""  # still one problem left: the message stays
    window.document.push(SetParams("fc", {"out_features": 10}))
    qtbot.waitUntil(lambda: dash.message.text() == "", timeout=20000)
    assert "c62828" not in dash.message.styleSheet()
