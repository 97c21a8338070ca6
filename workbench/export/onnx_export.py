"""ONNX: pre-flight, export with the chosen exporter (falling back to the other), verify.

Verification: onnx.checker (full check) and the opset written, input/output names equal to
the graph's Input/Output node ids, a symbolic batch dimension (unless static), and
onnxruntime's CPU provider run on several random batches against the PyTorch model; the
max absolute difference must stay within verify.TOLERANCE (1e-4 for float32).
"""

from __future__ import annotations

import time
from pathlib import Path

from workbench.export import verify
from workbench.export.errors import ExportError, guess_node, short_reason
from workbench.export.model import BuiltModel
from workbench.export.embedded_project import embed_in_onnx
from workbench.export.onnx_exporters import DEFAULT_OPSET, EXPORTERS, MAX_OPSET, MIN_OPSET, ExporterFailed, run_exporter
from workbench.export.preflight import diagnose, preflight
from workbench.export.report import EXPORTER_TITLES, ExportReport, TensorSpec
from workbench.export.staging import Staging
from workbench.export.verify import Mismatch, batch_sizes, compare

__all__ = ["export_onnx", "check_opset", "exporter_order"]

_ORT_TYPES = {"tensor(float)": "float32", "tensor(int64)": "int64", "tensor(double)": "float64"}


def check_opset(opset: int | None) -> int:
    if opset is None:
        return DEFAULT_OPSET
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ExportError(
            f"opset {opset} is not supported by the installed exporters; choose {MIN_OPSET} to {MAX_OPSET}"
        )
    return opset


def exporter_order(prefer: str) -> list[str]:
    if prefer not in EXPORTERS:
        raise ExportError(f"unknown ONNX exporter {prefer!r}; choose {' or '.join(EXPORTERS)}")
    return [prefer, *(e for e in EXPORTERS if e != prefer)]


def export_onnx(built: BuiltModel, target: Path, opset: int, dynamic_batch: bool, prefer: str) -> ExportReport:
    report = built.new_report("onnx", target, dynamic_batch)
    report.opset = opset
    report.tolerance = verify.TOLERANCE
    checked = preflight(built.plan, built.node_types, opset, dynamic_batch)
    report.preflight = checked.describe()
    report.seconds["preflight"] = round(checked.seconds, 3)

    reasons = []
    order = []
    for exporter in exporter_order(prefer):
        if exporter in checked.capable:
            order.append(exporter)
        elif order == []:  # the preferred one is ruled out: say why
            reasons.append(checked.reason_against(exporter) or f"the {EXPORTER_TITLES[exporter]} cannot be used")
    args = built.example(dynamic_batch)
    with Staging(target.parent) as stage:
        path = stage.path(target.name)
        start = time.perf_counter()
        for exporter in order:
            try:
                report.notes = run_exporter(
                    exporter, built.module, args, path, opset, built.input_names, built.output_names, dynamic_batch
                )
            except ExporterFailed as exc:
                reasons.append(f"the {EXPORTER_TITLES[exporter]} failed: {exc}")
                for leftover in path.parent.iterdir():
                    leftover.unlink()
                continue
            report.exporter = exporter
            break
        report.seconds["export"] = round(time.perf_counter() - start, 3)
        if report.exporter is None:
            if checked.deferred:  # trace the failure to its node now
                named = diagnose(built.plan, built.node_types, opset, dynamic_batch, order[-1])
                if named is not None:
                    raise named
            node = guess_node(" ".join(reasons), built.node_types)
            raise ExportError("ONNX export failed: " + "; ".join(reasons), node_id=node)
        if reasons:
            report.fallback = "; ".join(reasons) + f"; used the {EXPORTER_TITLES[report.exporter]}"
        embed_in_onnx(path, built.embedded)  # the project travels inside (embedded_project.py)
        start = time.perf_counter()
        _verify(built, path, dynamic_batch, report)
        report.seconds["verify"] = round(time.perf_counter() - start, 3)
        files = stage.commit()
    report.files = [str(f) for f in [target, *(f for f in files if f != target)]]
    report.size_bytes = target.stat().st_size
    report.total_bytes = sum(Path(f).stat().st_size for f in report.files)
    return report


def _verify(built: BuiltModel, path: Path, dynamic_batch: bool, report: ExportReport) -> None:
    import onnxruntime as ort

    report.verified.append(f"onnx.checker.check_model (full check) passed; the file declares opset {report.opset}")
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:
        report.failure = f"onnxruntime cannot load the model: {short_reason(exc)}"
        return
    inputs, outputs = session.get_inputs(), session.get_outputs()
    report.inputs = [_spec(t) for t in inputs]
    report.outputs = [_spec(t) for t in outputs]
    problems = []
    if [t.name for t in inputs] != list(built.input_names) or [t.name for t in outputs] != list(built.output_names):
        problems.append(
            f"names differ from the graph: inputs {[t.name for t in inputs]} (expected {list(built.input_names)}), "
            f"outputs {[t.name for t in outputs]} (expected {list(built.output_names)})"
        )
    else:
        report.verified.append("input and output names are the graph's Input and Output node ids")
    fixed = [t.name for t in [*inputs, *outputs] if t.shape and isinstance(t.shape[0], int) == dynamic_batch]
    if fixed:
        problems.append(f"batch dimension is {'fixed' if dynamic_batch else 'dynamic'} in {', '.join(fixed)}")
    else:
        kind = "dynamic" if dynamic_batch else "fixed"
        report.verified.append(f"batch dimension is {kind} in every input and output")

    names = [t.name for t in inputs]
    batches = built.batches(dynamic_batch)
    report.batch_sizes = batch_sizes(dynamic_batch)
    try:
        diff = compare(built.module, lambda b: session.run(None, {n: t.numpy() for n, t in zip(names, b)}), batches)
    except Mismatch as exc:
        problems.append(f"onnxruntime output differs in structure {exc}")
        diff = None
    except Exception as exc:
        problems.append(f"onnxruntime failed to run the model: {short_reason(exc)}")
        diff = None
    if diff is not None:
        report.max_abs_diff = diff
        sizes = ", ".join(str(s) for s in report.batch_sizes)
        if diff <= verify.TOLERANCE:
            report.verified.append(
                f"onnxruntime (CPU) matches PyTorch on {len(batches)} random batches (sizes {sizes})"
            )
        else:
            problems.append(
                f"onnxruntime differs from PyTorch by up to {diff:.3g}, above the tolerance {verify.TOLERANCE:g}"
            )
    report.failure = "; ".join(problems) or None
    report.ok = not problems


def _spec(t) -> TensorSpec:
    shape = [d if isinstance(d, int) else "batch" if i == 0 else str(d) for i, d in enumerate(t.shape)]
    return TensorSpec(t.name, shape, _ORT_TYPES.get(t.type, t.type))
