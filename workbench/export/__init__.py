"""Model export and verification (Qt-free).

`export(project, fmt, out)` writes one artifact — ONNX, TorchScript, torch.export (.pt2),
a state dict, or standalone PyTorch source — verifies it against the PyTorch model, saves
a JSON report beside it and returns the ExportReport. It raises ExportError (naming the
node where there is one) for anything the user can fix or that stops an artifact being
written: a bad weights file, a graph with errors, a layer no ONNX exporter handles.
An artifact that was written but failed verification is kept and reported with
`ok=False`.

Modules: `model` (compiled graph + weights), `weights` (checkpoint format and safe
loading), `preflight` (per-node ONNX probes), `onnx_exporters` (the two torch exporters),
`onnx_export`, `torch_formats` (TorchScript, pt2, state dict), `python_source`,
`verify` (inputs and comparison), `report`, `staging` (atomic placement), `quiet`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from workbench.core.project import Project
from workbench.export.errors import ExportError
from workbench.export.report import ExportReport, library_versions
from workbench.export.staging import folder_problem

__all__ = ["FORMATS", "ExportError", "ExportReport", "default_filename", "export"]

FORMATS = ("onnx", "torchscript", "pt2", "state_dict", "python")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".torchscript", "pt2": ".pt2", "state_dict": ".pt", "python": ".py"}


def default_filename(project_name: str, fmt: str) -> str:
    """`digits-cnn` -> `digits_cnn.onnx` (an importable module name for python)."""
    stem = re.sub(r"\W+", "_", project_name).strip("_").lower() or "model"
    if stem[0].isdigit():
        stem = "model_" + stem
    return stem + SUFFIXES[fmt]


def export(
    project: Project,
    fmt: str,
    out: str | os.PathLike,
    weights: str | os.PathLike | None = None,
    opset: int | None = None,
    static_batch: bool = False,
    onnx_exporter: str = "torchscript",
) -> ExportReport:
    """Export `project` as `fmt` to `out` (a file, or an existing folder), verify, report.

    weights: a run folder, a checkpoint or a state-dict file; None initialises the model
    from `training.seed`. opset: ONNX only (default: the newest both exporters write
    natively). static_batch: fix the batch dimension at 1 instead of leaving it dynamic.
    onnx_exporter: which ONNX exporter to try first ("torchscript" or "dynamo"); the
    other is the fallback, and pre-flight may rule one out.
    """
    from workbench.export.model import build_model

    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if opset is not None and fmt != "onnx":
        raise ExportError(f"--opset applies to ONNX only, not to {fmt}")
    target = _target(out, project.name, fmt)
    if fmt == "onnx":
        from workbench.export.onnx_export import check_opset, exporter_order

        opset = check_opset(opset)
        exporter_order(onnx_exporter)  # validates the name before the slow part
    built = build_model(project, weights)
    dynamic = not static_batch
    if fmt == "onnx":
        from workbench.export.onnx_export import export_onnx

        report = export_onnx(built, target, opset, dynamic, onnx_exporter)
    elif fmt == "python":
        from workbench.export.python_source import export_python

        report = export_python(built, target, dynamic)
    else:
        from workbench.export import torch_formats

        report = getattr(torch_formats, f"export_{fmt}")(built, target, dynamic)
    report.versions = library_versions()
    from workbench.export.model_card import write_model_card

    try:  # the facts a model hub asks for, beside the artifact
        report.files.append(str(write_model_card(project, report, weights, built.graph)))
    except OSError as exc:
        report.notes.append(f"could not write MODEL_CARD.md: {exc.strerror or exc}")
    report.write()
    return report


def _target(out: str | os.PathLike, project_name: str, fmt: str) -> Path:
    folder_named = str(out).endswith(("/", os.sep))
    out = Path(out)
    if folder_named or out.is_dir():
        out = out / default_filename(project_name, fmt)
    if out.exists() and not out.is_file():
        raise ExportError(f"{out}: exists and is not a file")
    problem = folder_problem(out.parent)  # said now, not after the model was built
    if problem is not None:
        raise ExportError(f"cannot write {out}: {problem}")
    if fmt == "python" and out.suffix != ".py":
        raise ExportError(f"{out}: standalone source needs a .py file name (the weights go beside it as .pt)")
    if fmt == "pt2" and out.suffix != ".pt2":
        raise ExportError(f"{out}: torch.export archives must end in .pt2 (torch.export.load refuses other names)")
    return out.absolute()
