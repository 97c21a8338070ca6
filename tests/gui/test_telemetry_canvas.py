"""Telemetry on the graph: a run started from the GUI puts each layer's live figures on its
node, an injected NaN turns the node where it began red and names it in the dock, and a
new run or an edit of the layer clears what no longer applies."""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter

from tests.gui.conftest import settle
from tests.gui.test_training_dashboard import click, dashboard_of, moons
from tests.training.test_telemetry import PoisonWeights
from workbench.core.commands import SetParams
from workbench.ui.canvas.node_item import NODE_H, STRIP_H
from workbench.ui.canvas.telemetry import GraphTelemetry, compact, strip_text


def red_pixels(scene, item) -> int:
    """How many pixels of the node's picture are close to the theme's error red."""
    rect = item.sceneBoundingRect()
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_ARGB32)
    image.fill(scene.theme.canvas)
    painter = QPainter(image)
    scene.render(painter, QRectF(image.rect()), rect)
    painter.end()
    red = scene.theme.error
    return sum(
        1 for x in range(image.width()) for y in range(image.height())
        if _close(QColor(image.pixel(x, y)), red)
    )


def _close(a: QColor, b: QColor) -> bool:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue()) < 60


def test_training_puts_live_figures_on_the_nodes_until_the_next_run(qtbot, make_window):
    window = make_window(moons())
    dash = dashboard_of(window)
    nodes = window.scene.nodes
    click(dash.train_button)
    qtbot.waitUntil(lambda: nodes["fc1"].strip is not None and nodes["act"].strip is not None, timeout=60000)
    text, level = nodes["fc1"].strip
    assert text.startswith("μ ") and "σ " in text and "∇ " in text and level == "ok"
    assert "zero" in nodes["act"].strip[0] and "∇" not in nodes["act"].strip[0]  # a ReLU has no parameters
    assert nodes["x"].strip is None and nodes["out"].strip is None  # no module, no figures
    assert nodes["fc1"].boundingRect().height() == NODE_H + STRIP_H + 6
    assert nodes["fc1"].outputs[0].pos().y() == NODE_H + STRIP_H  # the port moved to the new bottom edge
    assert "Telemetry" in nodes["fc1"].toolTip() and "gradient norm" in nodes["fc1"].toolTip()
    assert not any(item.fault for item in nodes.values())
    click(dash.stop_button)
    qtbot.waitUntil(lambda: not dash.active, timeout=10000)
    assert nodes["fc1"].strip is not None and nodes["fc1"].strip_dimmed  # the last values stay, quieter
    click(dash.train_button)
    assert all(item.strip is None for item in nodes.values())  # a new run starts clean
    click(dash.stop_button)
    qtbot.waitUntil(lambda: not dash.active, timeout=10000)


def test_an_injected_nan_names_the_node_and_turns_it_red(qtbot, make_window):
    window = make_window(moons())
    dash = dashboard_of(window)
    nodes = window.scene.nodes
    dash.callbacks = (PoisonWeights("fc2", 5),)
    click(dash.train_button)
    qtbot.waitUntil(lambda: not dash.active, timeout=60000)
    assert dash.state == "failed"
    message = dash.message.text()
    assert "the loss became nan" in message and "'fc2' (Linear)" in message, message
    fc2 = nodes["fc2"]
    assert fc2.fault and fc2.strip[1] == "bad"
    assert window.scene.selected_node_ids() == ["fc2"]  # revealed
    assert "The run failed here" in fc2.toolTip()
    assert not nodes["fc1"].fault and not nodes["act"].fault  # NaN spread there, but began in fc2
    assert red_pixels(window.scene, fc2) > 200 and red_pixels(window.scene, nodes["fc1"]) < 20
    dash.callbacks = ()
    click(dash.train_button)
    assert fc2.fault is None and fc2.strip is None and red_pixels(window.scene, fc2) < 20
    click(dash.stop_button)
    qtbot.waitUntil(lambda: not dash.active, timeout=10000)


def test_editing_a_layer_clears_its_figures_and_the_menu_toggle_hides_them(qtbot, make_window):
    window = make_window(moons())
    dash = dashboard_of(window)
    nodes = window.scene.nodes
    click(dash.train_button)
    qtbot.waitUntil(lambda: nodes["fc1"].strip is not None and nodes["fc2"].strip is not None, timeout=60000)
    click(dash.stop_button)
    qtbot.waitUntil(lambda: not dash.active, timeout=10000)
    assert window.document.push(SetParams("fc2", {"bias": False})) is None
    settle(window)
    assert nodes["fc2"].strip is None and nodes["fc1"].strip is not None and nodes["act"].strip is not None
    toggle = dash.telemetry_.action
    menu_texts = [a.text() for a in toggle.associatedObjects()[0].actions()] if toggle.associatedObjects() else []
    assert "Show Telemetry on &Graph" in menu_texts and toggle.isChecked()
    toggle.trigger()
    assert nodes["fc1"].strip is None and nodes["act"].strip is None
    assert GraphTelemetry(lambda: None, lambda node: None).enabled is False  # remembered
    assert dash.telemetry_.make_callback().sample is False  # nothing sampled while hidden


def test_figures_read_compactly():
    assert [compact(v) for v in (0.1234, 3.45, 123.4, 0.00312, -21000.0, 0.0)] == \
        ["0.12", "3.5", "123", "3.1e-3", "-2.1e4", "0"]
    stats = {"mean": 0.5, "std": 1.25, "zeros": 0.234, "grad_norm": 0.0031, "finite": True}
    assert strip_text(stats) == "μ 0.5  σ 1.2 · 23% zero · ∇ 3.1e-3"
    assert strip_text({**stats, "zeros": 0.0, "grad_norm": None}) == "μ 0.5  σ 1.2"
    assert strip_text({**stats, "finite": False}) == "NaN/Inf in activations or gradients"


def test_nan_seen_in_a_sample_turns_nodes_red_and_a_failure_keeps_the_frame_on_its_origin(make_window):
    window = make_window(moons())
    overlay = window.training.telemetry_
    nodes = window.scene.nodes
    bad = {"mean": None, "std": None, "zeros": None, "grad_norm": None, "finite": False}
    sample = {"event": "telemetry", "step": 40, "epoch": 1, "every": 20, "nonfinite": ["fc1", "act", "fc2"],
              "nodes": {"fc1": bad, "act": bad, "fc2": bad}}
    overlay.apply([sample])
    assert all(nodes[n].fault and nodes[n].strip == ("NaN/Inf in activations or gradients", "bad")
               for n in ("fc1", "act", "fc2"))
    overlay.apply([{"event": "state", "state": "failed", "node": "fc2", "message": "the loss became nan"}])
    assert nodes["fc2"].fault == "the loss became nan" and window.scene.selected_node_ids() == ["fc2"]
    assert nodes["fc1"].fault is None and nodes["fc1"].strip[1] == "bad"  # still says NaN, without the frame
    framed = red_pixels(window.scene, nodes["fc2"])
    assert framed > 500 and red_pixels(window.scene, nodes["fc1"]) < framed / 4  # red text, no red frame
