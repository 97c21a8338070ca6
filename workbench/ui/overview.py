"""The project overview shown in the inspector when nothing is selected."""

from __future__ import annotations

import html
from typing import Any

from workbench.core.graph import count_layers
from workbench.ui.canvas.labels import fmt_count


def _value(value: Any) -> str:
    if isinstance(value, dict):
        inner = ", ".join(f"{k}={_value(v)}" for k, v in value.items() if k != "type")
        kind = value.get("type")
        if kind:
            return f"{kind}({inner})" if inner else str(kind)
        return inner or "—"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value) or "none"
    return str(value)


def _table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(
        f"<tr><td style='padding-right:10px; color:#888888'>{html.escape(k)}</td><td>{html.escape(_value(v))}</td></tr>"
        for k, v in rows
    )
    return f"<table cellspacing='2'>{cells}</table>"


def project_overview(document) -> str:
    project = document.project
    result = document.result
    errors = len(result.errors)
    warnings = len(result.diagnostics) - errors
    try:
        summary = document.summary()
        params = f"{summary.total_params:,} ({summary.trainable_params:,} trainable)"
        flops = fmt_count(summary.total_flops) if summary.total_flops is not None else "n/a"
        macs = fmt_count(summary.total_macs) if summary.total_macs is not None else "n/a"
        at = summary.per_sample().removeprefix("per sample")
    except Exception:
        params, flops, macs, at = "?", "?", "?", ""
    model = [
        ("layers", count_layers(node.type for node in project.graph)),
        ("links", len(project.graph.edges)),
        ("parameters", params),
        ("MACs / sample" + at, macs),
        ("FLOPs / sample" + at, flops),
        ("problems", f"{errors} error(s), {warnings} warning(s)" if errors or warnings else "none"),
    ]
    data = project.data
    data_rows = [("source", data.get("source", "—"))]
    if data.get("params"):
        data_rows.append(("options", data["params"]))
    data_rows.append(("validation split", data.get("val_fraction", "—")))
    data_rows.append(("augmentation", [a.get("type", a) if isinstance(a, dict) else a for a in data.get("augment", [])]))
    training = project.training
    train_rows = [(k.replace("_", " "), v) for k, v in training.items()]
    where = html.escape(str(project.path)) if project.path else "not saved yet"
    return (
        f"<h3>{html.escape(project.name)}</h3><p style='color:#888888'>{where}</p>"
        "<p>Select a layer to edit its parameters.</p>"
        f"<h4>Model</h4>{_table(model)}"
        f"<h4>Data</h4>{_table(data_rows)}"
        f"<h4>Training</h4>{_table(train_rows)}"
    )
