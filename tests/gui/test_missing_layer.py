"""A project whose layer type no plugin provides opens in the editor, shown as an error."""

import json

from workbench.core.project import load_project
from workbench.paths import EXAMPLES


def test_missing_layer_type_opens_marked_on_the_canvas(tmp_path, qtbot):
    from workbench.ui.main_window import MainWindow

    doc = json.loads((EXAMPLES / "digits_cnn.wbproj").read_text())
    node = next(n for n in doc["graph"]["nodes"] if n["type"] == "ReLU")
    node["type"] = "FancyActivation"
    node["params"] = {"alpha": 3}
    path = tmp_path / "missing.wbproj"
    path.write_text(json.dumps(doc))
    project = load_project(path)
    window = MainWindow()
    qtbot.addWidget(window)
    window.set_project(project)
    window.show()
    qtbot.waitUntil(lambda: node["id"] in window.scene.nodes, timeout=5000)
    item = window.scene.nodes[node["id"]]
    qtbot.waitUntil(lambda: "missing layer type" in item.toolTip(), timeout=5000)
    window.scene.select_nodes([node["id"]])
    assert window.inspector.node_id == node["id"]
