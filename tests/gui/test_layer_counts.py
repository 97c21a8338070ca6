"""The template gallery and the status bar count a project's layers the same way (Input and Output are not layers)."""

from __future__ import annotations

import json

from workbench.paths import DEFAULT_EXAMPLE
from workbench.ui.templates import describe


def test_template_and_status_bar_agree(make_window):
    doc = json.loads(DEFAULT_EXAMPLE.read_text(encoding="utf-8"))
    layers = sum(n["type"] not in ("Input", "Output") for n in doc["graph"]["nodes"])
    assert f"→ {layers} layers:" in describe(doc)
    window = make_window(DEFAULT_EXAMPLE)
    window.document.flush()
    assert window.counts.text().startswith(f"{layers} layers ·")


def test_the_inspector_overview_counts_layers_like_the_status_bar(make_window):
    from workbench.ui.overview import project_overview

    doc = json.loads(DEFAULT_EXAMPLE.read_text(encoding="utf-8"))
    layers = sum(n["type"] not in ("Input", "Output") for n in doc["graph"]["nodes"])
    window = make_window(DEFAULT_EXAMPLE)
    window.document.flush()
    overview = project_overview(window.document)
    assert f">layers</td><td>{layers}</td>" in overview
