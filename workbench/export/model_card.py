"""MODEL_CARD.md beside each export: the facts people paste into a model hub.

Architecture (layers by type, inputs and outputs), parameter count, MACs, data source,
training settings, final metrics (when the weights come from a run folder) and what the
export verified. Every string that comes from the project, a run or a file goes through
`md()`, so a name cannot inject Markdown or HTML; numbers are formatted here. The latest
export into a folder writes its card (one card per folder, as a hub expects).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from workbench.core.atomic import atomic_write_text
from workbench.core.project import Project
from workbench.core.summary import summarize

__all__ = ["CARD_NAME", "md", "model_card", "write_model_card", "run_folder_of"]

CARD_NAME = "MODEL_CARD.md"
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~&])")  # mid-line specials (no value starts a line)
IO_TYPES = ("Input", "Output")


def md(value) -> str:
    """Plain text safe inside Markdown (also a table cell): specials escaped, one line."""
    text = " ".join(str(value).split())
    return _SPECIAL.sub(r"\\\1", text)


def _count(n: int | None) -> str:
    return "unknown" if n is None else f"{n:,}"


def run_folder_of(weights) -> Path | None:
    """The run folder a --weights argument points into (the folder, or a file in it)."""
    if weights is None:
        return None
    path = Path(weights)
    folder = path if path.is_dir() else path.parent
    return folder if (folder / "metrics.jsonl").is_file() else None


def model_card(project: Project, report, run_dir: Path | None = None, graph=None) -> str:
    """`graph`: the graph as exported (sizes from the data resolved); default the project's."""
    graph = graph if graph is not None else project.graph
    summary = summarize(graph)
    layers = Counter(n.type for n in graph.nodes.values() if n.type not in IO_TYPES)
    macs = summary.total_flops // 2 if summary.total_flops is not None else None
    lines = [f"# {md(project.name)}", "", "Exported by Model Workbench.", "", "## Architecture", ""]
    lines.append(f"- {sum(layers.values())} layers: " + ", ".join(f"{md(t)} x{c}" for t, c in layers.most_common()))
    lines += [f"- input {md(t)}" for t in report.inputs]
    lines += [f"- output {md(t)}" for t in report.outputs]
    lines += [f"- parameters: {_count(summary.total_params)} ({_count(summary.trainable_params)} trainable)",
              f"- MACs per sample: {_count(macs)}", "", "## Data", ""]
    data = project.data if isinstance(project.data, dict) else {}
    lines.append(f"- source: {md(data.get('source', 'unknown'))}")
    for key, value in sorted((data.get("params") or {}).items()):
        lines.append(f"- {md(key)}: {md(value)}")
    if "val_fraction" in data:
        lines.append(f"- validation fraction: {md(data['val_fraction'])}")
    lines += ["", "## Training settings", ""]
    training = project.training if isinstance(project.training, dict) else {}
    for key in sorted(training):
        lines.append(f"- {md(key)}: {md(_setting(training[key]))}")
    lines += ["", "## Final metrics", ""]
    lines += _metrics(run_dir)
    lines += ["", "## Export", "", f"- format: {md(report.format)}, file {md(Path(report.path).name)}",
              f"- weights: {md(report.weights)}"]
    lines += [f"- verified: {md(check)}" for check in report.verified]
    if report.max_abs_diff is not None:
        lines.append(f"- max abs difference against PyTorch: {report.max_abs_diff:.3g} (tolerance {report.tolerance:g})")
    lines.append("- result: " + ("OK, verified" if report.ok else f"verification FAILED: {md(report.failure)}"))
    return "\n".join(lines) + "\n"


def _setting(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_setting(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(_setting(v) for v in value) + "]"
    return str(value)


def _metrics(run_dir: Path | None) -> list[str]:
    if run_dir is None:
        return ["- none: the weights do not come from a training run"]
    from workbench.training.runs import read_run

    info = read_run(run_dir)
    if info is None or not info.last:
        return [f"- none recorded in run {md(run_dir.name)}"]
    lines = [f"- run {md(run_dir.name)}: {md(info.state)}, {info.epochs_done} epoch(s)"]
    for key, value in info.last.items():
        if isinstance(value, float) and (key.startswith(("val_", "train_")) or key == "lr"):
            lines.append(f"- {md(key)}: {value:.6g}")
    if info.best and info.best.get("epoch") is not None and isinstance(info.best.get("value"), (int, float)):
        lines.append(f"- best {md(info.best.get('metric'))}: {info.best['value']:.6g} at epoch {info.best['epoch']}")
    return lines


def write_model_card(project: Project, report, weights=None, graph=None) -> Path:
    """Write MODEL_CARD.md beside the artifact (atomically); returns its path."""
    target = Path(report.path).parent / CARD_NAME
    atomic_write_text(target, model_card(project, report, run_folder_of(weights), graph))
    return target
