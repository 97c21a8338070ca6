"""The torch-native formats: TorchScript, torch.export (.pt2) and the state dict.

Each is written, loaded back the way a user would load it, and compared with the model:

* TorchScript: `torch.jit.trace` (our graphs are straight-line code, so tracing is exact
  and it handles every layer), falling back to `torch.jit.script` when tracing fails or
  the traced module disagrees; checked by `torch.jit.load` and comparing outputs.
* pt2: `torch.export.export` with a symbolic batch dimension, `torch.export.save`,
  then `torch.export.load(...).module()` compared with the model.
* state_dict: `torch.save(model.state_dict())`, re-read with `weights_only=True` (every
  tensor identical), then loaded (strictly, keys and shapes checked) into a copy of the
  model whose weights were all zeroed; its outputs must match the model's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import torch

from workbench.export import verify
from workbench.export.embedded_project import extra_files
from workbench.export.errors import ExportError, guess_node, short_reason
from workbench.export.model import BuiltModel
from workbench.export.quiet import quiet
from workbench.export.report import ExportReport
from workbench.export.staging import Staging
from workbench.export.verify import Mismatch, as_tuple, compare
from workbench.export.weights import apply_state_dict

__all__ = ["export_pt2", "export_state_dict", "export_torchscript"]


def export_torchscript(built: BuiltModel, target: Path, dynamic_batch: bool) -> ExportReport:
    report = built.new_report("torchscript", target, dynamic_batch)
    args = built.example(dynamic_batch)
    batches = built.batches(dynamic_batch)
    methods: list[tuple[str, Callable]] = [
        ("trace", lambda: torch.jit.trace(built.module, args, check_trace=False)),
        ("script", lambda: torch.jit.script(built.module)),
    ]
    reasons: list[str] = []
    with Staging(target.parent) as stage:
        path = stage.path(target.name)
        for method, make in methods:
            start = time.perf_counter()
            try:
                with quiet(report.notes):
                    torch.jit.save(make(), str(path), _extra_files=extra_files(built.embedded))
            except Exception as exc:
                reasons.append(f"torch.jit.{method} failed: {short_reason(exc)}")
                continue
            report.seconds["export"] = round(time.perf_counter() - start, 3)
            report.exporter = method
            start = time.perf_counter()
            failure = _check(report, batches, built, lambda: torch.jit.load(str(path), map_location="cpu").eval())
            report.seconds["verify"] = round(time.perf_counter() - start, 3)
            if failure is None:
                break
            reasons.append(f"the torch.jit.{method} module {failure}")
        if report.exporter is None:
            node = guess_node(" ".join(reasons), built.node_types)
            raise ExportError("TorchScript export failed: " + "; ".join(reasons), node)
        if reasons:
            report.fallback = "; ".join(reasons) + (f"; used torch.jit.{report.exporter}" if report.ok else "")
            if not report.ok:
                report.failure = "; ".join(reasons)
        stage.commit()
    if report.ok:
        report.verified.insert(0, f"reloaded with torch.jit.load (made by torch.jit.{report.exporter})")
    return _finish(report, target)


def export_pt2(built: BuiltModel, target: Path, dynamic_batch: bool) -> ExportReport:
    report = built.new_report("pt2", target, dynamic_batch)
    report.exporter = "torch.export"
    args = built.example(dynamic_batch)
    shapes = None
    if dynamic_batch:
        batch = torch.export.Dim("batch", min=1)
        shapes = {name: {0: batch} for name in built.input_names}
    start = time.perf_counter()
    try:
        with quiet(report.notes):
            program = torch.export.export(built.module, args, dynamic_shapes=shapes)
    except Exception as exc:
        hint = "; try --static-batch" if dynamic_batch and "batch" in str(exc) else ""
        node = guess_node(str(exc), built.node_types)
        raise ExportError(f"torch.export failed: {short_reason(exc)}{hint}", node) from None
    with Staging(target.parent) as stage:
        path = stage.path(target.name)
        with quiet(report.notes):
            torch.export.save(program, str(path), extra_files=extra_files(built.embedded))
        report.seconds["export"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        failure = _check(report, built.batches(dynamic_batch), built, lambda: torch.export.load(str(path)).module())
        report.seconds["verify"] = round(time.perf_counter() - start, 3)
        report.failure = failure
        stage.commit()
    if report.ok:
        symbolic = " (batch dimension symbolic)" if dynamic_batch else ""
        report.verified.insert(0, f"reloaded with torch.export.load{symbolic}")
    return _finish(report, target)


def export_state_dict(built: BuiltModel, target: Path, dynamic_batch: bool) -> ExportReport:
    report = built.new_report("state_dict", target, dynamic_batch)
    state = built.module.state_dict()
    start = time.perf_counter()
    with Staging(target.parent) as stage:
        path = stage.path(target.name)
        torch.save(state, str(path))
        report.seconds["export"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        failure = _check_state_file(path, state)
        if failure is None:
            report.verified.append(f"reloaded with torch.load(weights_only=True): all {len(state)} tensors identical")

            def blank_then_loaded():
                model = built.blank_copy()
                apply_state_dict(model, torch.load(str(path), map_location="cpu", weights_only=True))
                return model

            what = "a copy of the model with every weight zeroed, then loaded with it,"
            failure = _check(report, built.batches(dynamic_batch), built, blank_then_loaded, what=what)
        report.failure = failure
        report.ok = failure is None
        report.seconds["verify"] = round(time.perf_counter() - start, 3)
        stage.commit()
    return _finish(report, target)


def _check_state_file(path: Path, state: dict) -> str | None:
    try:
        loaded = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        return f"torch.load(weights_only=True) cannot read it back: {short_reason(exc)}"
    if list(loaded) != list(state):
        return "the keys read back differ from the model's"
    for key, tensor in state.items():
        if not torch.equal(loaded[key], tensor):
            return f"tensor {key} reads back different"
    return None


def _check(report: ExportReport, batches, built: BuiltModel, load: Callable, what: str = "it") -> str | None:
    """Load the artifact, compare on `batches`; fills report.ok / max_abs_diff, returns a failure."""
    report.tolerance = verify.TOLERANCE
    report.batch_sizes = [b[0].shape[0] for b in batches]
    try:
        with quiet(report.notes):
            candidate = load()
    except Exception as exc:  # the artifact, or a WeightsError from apply_state_dict
        report.ok = False
        return f"cannot be loaded back: {short_reason(exc)}"

    def run(batch):
        with torch.no_grad():
            return as_tuple(candidate(*batch))

    try:
        diff = compare(built.module, run, batches)
    except Mismatch as exc:
        report.ok = False
        return f"gives different outputs {exc}"
    except Exception as exc:
        report.ok = False
        return f"fails on a batch: {short_reason(exc)}"
    report.max_abs_diff = diff
    if diff > verify.TOLERANCE:
        report.ok = False
        return f"differs from PyTorch by up to {diff:.3g}, above the tolerance {verify.TOLERANCE:g}"
    sizes = ", ".join(str(s) for s in report.batch_sizes)
    report.verified.append(f"{what} matches the model on {len(batches)} random batches (sizes {sizes})")
    report.ok = True
    return None


def _finish(report: ExportReport, target: Path) -> ExportReport:
    report.files = [str(target)]
    report.size_bytes = report.total_bytes = target.stat().st_size
    return report
