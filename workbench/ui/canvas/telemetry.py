"""Training telemetry on the graph: each node's live figures in a thin strip, NaN/Inf in red.

`GraphTelemetry` follows the dashboard's events (the Trainer's "telemetry" events, see
workbench/training/telemetry.py, and the "failed" state with its node) onto whichever
scene the window shows at the time. Only the latest sample of a batch of events is drawn,
so the canvas repaints a few times a second at most. The strip is quiet on purpose: one
line in the secondary text colour; a dot turns amber when most units are dead (zero) and
the whole node red when its values are not finite or the run failed there.
"""

from __future__ import annotations

import html
from typing import Callable

from workbench.ui import settings

__all__ = ["GraphTelemetry", "compact", "install_graph_telemetry", "strip_text", "strip_level", "tooltip"]

DEAD = 0.5  # more than half the units exactly zero: amber
SETTING = "canvas/show_telemetry"
NONFINITE = "non-finite values"  # the fault of a node a sample saw NaN/Inf in


def compact(value: float) -> str:
    """Two significant digits, short: 0.12, 3.4, 120, 3.1e-3, -2e4."""
    size = abs(value)
    if size == 0:
        return "0"
    if size >= 1000 or size < 0.01:
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    if size >= 100:
        return f"{value:.0f}"
    return f"{value:.2g}"


def strip_level(stats: dict) -> str:
    if not stats.get("finite", True):
        return "bad"
    zeros = stats.get("zeros")
    return "dead" if zeros is not None and zeros > DEAD else "ok"


def strip_text(stats: dict) -> str:
    if not stats.get("finite", True):
        return "NaN/Inf in activations or gradients"
    parts = []
    if stats.get("mean") is not None:
        parts.append(f"μ {compact(stats['mean'])}  σ {compact(stats['std'])}")
    zeros = stats.get("zeros")
    if zeros is not None and zeros >= 0.005:
        parts.append(f"{zeros:.0%} zero")
    if stats.get("grad_norm") is not None:
        parts.append(f"∇ {compact(stats['grad_norm'])}")
    return " · ".join(parts)


def tooltip(stats: dict, event: dict) -> str:
    rows = [f"<b>Telemetry</b> · step {event['step']} (epoch {event['epoch']}), sampled every "
            f"{event.get('every', '?')} steps"]
    if stats.get("mean") is not None:
        rows.append(f"activations: mean {stats['mean']:.4g}, std {stats['std']:.4g}")
    if stats.get("min") is not None and stats.get("max") is not None:
        rows.append(f"range: {stats['min']:.4g} to {stats['max']:.4g}")
    if stats.get("zeros") is not None:
        rows.append(f"exact zeros: {stats['zeros']:.1%}" + (" (dead units)" if stats["zeros"] > DEAD else ""))
    if stats.get("grad_norm") is not None:
        rows.append(f"gradient norm of its parameters: {stats['grad_norm']:.4g}")
    if not stats.get("finite", True):
        rows.append("<span style='color:#d32f2f'>NaN or Inf in this node's activations or gradients</span>")
    return "<br>".join(rows)


class GraphTelemetry:
    """Draws a run's telemetry and failures on the canvas; wired by ui/training/install()."""

    def __init__(self, scene_source: Callable[[], object], reveal: Callable[[str], None]) -> None:
        self.scene_source = scene_source
        self.reveal = reveal
        self.enabled = settings.settings().value(SETTING, True, type=bool)
        self.action = None  # the menu's toggle, once installed

    def make_callback(self):
        """A fresh Trainer callback per run; with telemetry hidden it only locates NaN/Inf."""
        from workbench.training.telemetry import Telemetry

        return Telemetry(sample=self.enabled)

    def set_enabled(self, on: bool) -> None:
        self.enabled = bool(on)
        store = settings.settings()
        store.setValue(SETTING, self.enabled)
        store.sync()
        if not self.enabled:
            for item in self._items():
                if item.strip is not None and not item.fault:
                    item.set_telemetry(None)

    def apply(self, events: list[dict]) -> None:
        """One batch of dashboard events: the latest sample, non-finite nodes, a failure."""
        latest, bad, failed = None, {}, None
        for ev in events:
            kind = ev.get("event")
            if kind == "telemetry" and self.enabled:
                latest = ev
                for node_id in ev.get("nonfinite", ()):
                    bad.setdefault(node_id, ev)
            elif kind == "state" and ev.get("state") == "failed" and ev.get("node"):
                failed = ev
        scene = self.scene_source()
        if scene is None:
            return
        if latest is not None:
            for node_id, stats in latest["nodes"].items():
                item = scene.nodes.get(node_id)
                text = strip_text(stats)  # empty for a node with neither float output nor parameters
                if item is not None and not item.fault:
                    if text:
                        item.set_telemetry((text, strip_level(stats)), tooltip(stats, latest))
                    else:
                        item.set_telemetry(None)
        for node_id, ev in bad.items():
            item = scene.nodes.get(node_id)
            if item is not None:
                stats = ev["nodes"].get(node_id, {"finite": False})
                item.set_telemetry((strip_text(stats), "bad"), tooltip(stats, ev), fault=NONFINITE)
        if failed is not None:
            self._mark_failure(scene, failed["node"], failed.get("message", ""))

    def _mark_failure(self, scene, node_id: str, message: str) -> None:
        item = scene.nodes.get(node_id)
        if item is None:
            return
        text = "the run failed here" if item.strip is None or item.strip[1] != "bad" else item.strip[0]
        tip = f"<span style='color:#d32f2f'><b>The run failed here</b>: {html.escape(message)}</span>"
        item.set_telemetry((text, "bad"), tip, fault=message or "the run failed here")
        for other in scene.nodes.values():  # NaN spread from here: only the origin keeps the red frame
            if other is not item and other.fault == NONFINITE:
                other.set_telemetry(other.strip, other.strip_tooltip)
        self.reveal(node_id)

    def clear(self) -> None:
        """A new run starts: no strips, no red marks."""
        for item in self._items():
            item.set_telemetry(None)

    def settle(self, _state: str = "") -> None:
        """The run ended: the last values stay, dimmed; red marks stay as they are."""
        for item in self._items():
            if item.strip is not None and not item.fault:
                item.set_telemetry(item.strip, item.strip_tooltip, dimmed=True)

    def _items(self):
        scene = self.scene_source()
        return list(scene.nodes.values()) if scene is not None else []


def install_graph_telemetry(window, dashboard, menu) -> GraphTelemetry:
    """Follow `dashboard`'s runs on `window.scene` (looked up at each call: another document
    may be open by then) and add "Show Telemetry on Graph" to the Training `menu`."""
    from PySide6.QtGui import QAction

    overlay = GraphTelemetry(lambda: window.scene, window.reveal_node)
    dashboard.callback_factories.append(overlay.make_callback)
    dashboard.events_applied.connect(overlay.apply)
    dashboard.run_started.connect(overlay.clear)
    dashboard.run_ended.connect(overlay.settle)
    toggle = QAction("Show Telemetry on &Graph", window)
    toggle.setCheckable(True)
    toggle.setChecked(overlay.enabled)
    toggle.setStatusTip("While training, show each layer's activation statistics and gradient norm on the canvas")
    toggle.toggled.connect(overlay.set_enabled)
    menu.addSeparator()
    menu.addAction(toggle)
    overlay.action = toggle
    dashboard.telemetry_ = overlay
    return overlay
