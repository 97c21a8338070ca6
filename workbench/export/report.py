"""What an export produced and what was verified: printed, and saved as JSON beside it.

The JSON file is `<artifact name>.report.json` (e.g. `model.onnx.report.json`), so
several formats exported into one folder keep separate reports.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workbench.core.project import atomic_write_text

__all__ = ["ExportReport", "TensorSpec", "FORMAT_TITLES", "library_versions", "report_path"]

FORMAT_TITLES = {
    "onnx": "ONNX",
    "torchscript": "TorchScript",
    "pt2": "torch.export (.pt2)",
    "state_dict": "state dict",
    "python": "standalone PyTorch source",
}

EXPORTER_TITLES = {
    "torchscript": "TorchScript-based exporter (dynamo=False)",
    "dynamo": "torch.export-based exporter (dynamo=True)",
    "trace": "torch.jit.trace",
    "script": "torch.jit.script",
    "torch.export": "torch.export.export",
}


@dataclass
class TensorSpec:
    name: str
    shape: list  # ints, or "batch" for a dynamic batch dimension
    dtype: str

    def __str__(self) -> str:
        return f"{self.name} [{', '.join(str(d) for d in self.shape)}] {self.dtype}"


@dataclass
class ExportReport:
    format: str
    path: str  # the main artifact
    project: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    dynamic_batch: bool
    weights: str  # where the weights came from, in words
    files: list[str] = field(default_factory=list)  # every file written (the artifact first)
    size_bytes: int = 0  # of the main artifact
    total_bytes: int = 0  # of every file written
    opset: int | None = None
    exporter: str | None = None  # key of EXPORTER_TITLES
    fallback: str | None = None  # why the preferred exporter or method was not used
    preflight: str | None = None  # what the pre-flight checked (ONNX)
    verified: list[str] = field(default_factory=list)  # each check that passed, in words
    batch_sizes: list[int] = field(default_factory=list)  # of the verification batches
    max_abs_diff: float | None = None
    tolerance: float | None = None
    ok: bool = False
    failure: str | None = None  # why verification failed (ok is False)
    seconds: dict[str, float] = field(default_factory=dict)  # export, verify, preflight
    notes: list[str] = field(default_factory=list)  # exporter warnings worth knowing
    versions: dict[str, str] = field(default_factory=dict)
    report_path: str | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        if self.max_abs_diff is not None and not math.isfinite(self.max_abs_diff):
            data["max_abs_diff"] = str(self.max_abs_diff)  # JSON has no inf / nan
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def write(self) -> Path:
        """Save the JSON beside the artifact (atomically) and remember where."""
        target = report_path(Path(self.path))
        self.report_path = str(target)
        atomic_write_text(target, self.to_json() + "\n")
        return target

    def text(self) -> str:
        """A few readable lines for the terminal."""
        title = FORMAT_TITLES.get(self.format, self.format)
        facts = [_size(self.size_bytes)]
        if self.opset is not None:
            facts.append(f"opset {self.opset}")
        if self.exporter:
            facts.append(EXPORTER_TITLES.get(self.exporter, self.exporter))
        lines = [f"exported {self.project} as {title}: {self.path} ({', '.join(facts)})"]
        for extra in self.files[1:]:
            lines.append(f"  also wrote: {extra}")
        lines.append("  inputs:  " + "; ".join(str(t) for t in self.inputs))
        lines.append("  outputs: " + "; ".join(str(t) for t in self.outputs))
        lines.append(f"  weights: {self.weights}")
        if self.preflight:
            lines.append(f"  pre-flight: {self.preflight}")
        if self.fallback:
            lines.append(f"  fallback: {self.fallback}")
        for check in self.verified:
            lines.append(f"  verified: {check}")
        if self.max_abs_diff is not None:
            lines.append(f"  max abs difference vs PyTorch: {self.max_abs_diff:.3g} (tolerance {self.tolerance:g})")
        for note in self.notes:
            lines.append(f"  note: {note}")
        timing = ", ".join(f"{k} {v:.2f} s" for k, v in self.seconds.items())
        status = "OK, verified" if self.ok else f"VERIFICATION FAILED: {self.failure}"
        lines.append(f"  result: {status} ({timing})")
        if self.report_path:
            lines.append(f"  report: {self.report_path}")
        return "\n".join(lines)


def report_path(artifact: Path) -> Path:
    return artifact.with_name(artifact.name + ".report.json")


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} bytes"


def library_versions() -> dict[str, str]:
    """Versions of torch and of whatever else this export actually loaded."""
    versions = {}
    for name in ("torch", "onnx", "onnxruntime", "onnxscript", "torchaudio", "torchvision"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "__version__"):
            versions[name] = str(module.__version__)
    return versions
