"""The two ONNX exporters torch ships, called explicitly, quietly, and checked.

* `"torchscript"`: `torch.onnx.export(..., dynamo=False)`, the TorchScript-based exporter.
  Fast (well under a second for the small examples, a few seconds for a ResNet-18 on two
  CPU cores) and supports opsets 7..20, but it has no translation for some ops — notably
  `torch.stft` with complex output, so torchaudio spectrograms fail at every opset — and
  torch deprecates it.
* `"dynamo"`: `torch.onnx.export(..., dynamo=True)`, built on torch.export + onnxscript.
  Translates more (spectrograms included) and supports opsets 18..23 natively (lower ones
  by version conversion, which can fail: the model then stays at 18 and we treat that as
  a failure), but takes 4–30 s even for small models here.

`run_exporter` raises `ExporterFailed` with one readable line; it never prints. Exporter
chatter (warnings, logging, stdout) is captured and returned as notes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from workbench.export.errors import short_reason
from workbench.export.onnx_symbolics import register_symbolics
from workbench.export.quiet import native_output_silenced, quiet

__all__ = [
    "DEFAULT_OPSET",
    "EXPORTERS",
    "MAX_OPSET",
    "MIN_OPSET",
    "TORCHSCRIPT_MAX_OPSET",
    "ExporterFailed",
    "check_onnx_file",
    "exporter_limit",
    "run_exporter",
]

EXPORTERS = ("torchscript", "dynamo")

try:  # the exporter's own limits; private, hence the fallback values
    from torch.onnx import _constants as _c

    MIN_OPSET = int(_c.ONNX_MIN_OPSET)
    MAX_OPSET = int(_c.ONNX_MAX_OPSET)
    TORCHSCRIPT_MAX_OPSET = int(_c.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET)
    _DYNAMO_DEFAULT = int(_c.ONNX_DEFAULT_OPSET)
except (ImportError, AttributeError):  # pragma: no cover - depends on the torch version
    MIN_OPSET, MAX_OPSET, TORCHSCRIPT_MAX_OPSET, _DYNAMO_DEFAULT = 7, 18, 17, 18

# The newest opset both exporters produce natively (20 with torch 2.14): what neither
# exporter has to convert to, and what onnxruntime has long supported.
DEFAULT_OPSET = min(TORCHSCRIPT_MAX_OPSET, _DYNAMO_DEFAULT)
DYNAMO_NATIVE_MIN_OPSET = 18

class ExporterFailed(Exception):
    """One exporter could not produce a valid model; the message is one line."""


def exporter_limit(exporter: str, opset: int) -> str | None:
    """Why `exporter` cannot target `opset` at all, or None."""
    if exporter == "torchscript" and opset > TORCHSCRIPT_MAX_OPSET:
        return f"the TorchScript-based exporter supports opsets up to {TORCHSCRIPT_MAX_OPSET}"
    return None


def run_exporter(
    exporter: str,
    module: nn.Module,
    args: tuple[torch.Tensor, ...],
    path: Path,
    opset: int,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_batch: bool,
) -> list[str]:
    """Export `module` (already in eval mode) to `path`; returns notes (exporter warnings)."""
    limit = exporter_limit(exporter, opset)
    if limit:
        raise ExporterFailed(limit)
    notes: list[str] = []
    try:
        with quiet(notes):
            if exporter == "torchscript":
                with native_output_silenced():
                    _torchscript(module, args, path, opset, input_names, output_names, dynamic_batch)
            elif exporter == "dynamo":
                _dynamo(module, args, path, opset, input_names, output_names, dynamic_batch)
            else:
                raise ValueError(f"unknown exporter {exporter!r}")
    except ExporterFailed:
        raise
    except Exception as exc:
        raise ExporterFailed(short_reason(exc)) from exc
    if not path.exists():
        raise ExporterFailed("the exporter finished without writing a file")
    check_onnx_file(path, opset)
    return notes


def _torchscript(module, args, path, opset, input_names, output_names, dynamic_batch) -> None:
    register_symbolics()
    axes = None
    if dynamic_batch:
        axes = {name: {0: "batch"} for name in [*input_names, *output_names]}
    torch.onnx.export(
        module,
        args,
        str(path),
        dynamo=False,
        opset_version=opset,
        input_names=list(input_names),
        output_names=list(output_names),
        dynamic_axes=axes,
        do_constant_folding=True,
    )


def _dynamo(module, args, path, opset, input_names, output_names, dynamic_batch) -> None:
    shapes = None
    if dynamic_batch:
        batch = torch.export.Dim("batch", min=1)
        shapes = tuple({0: batch} for _ in args)
    large = sum(p.numel() * p.element_size() for p in module.state_dict().values()) > 1_800_000_000
    program = torch.onnx.export(
        module,
        args,
        dynamo=True,
        opset_version=opset,
        input_names=list(input_names),
        output_names=list(output_names),
        dynamic_shapes=shapes,
        external_data=large,  # protobuf caps a single file at 2 GB
        optimize=True,
        verbose=False,
    )
    if program is None:
        raise ExporterFailed("the dynamo exporter returned no program")
    program.save(str(path), external_data=large)


def check_onnx_file(path: Path, opset: int) -> None:
    """onnx.checker (full check, with shape inference) and the opset actually written."""
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as exc:
        raise ExporterFailed(f"onnx.checker rejected the model: {short_reason(exc)}") from exc
    written = written_opset(path)
    if written != opset:
        raise ExporterFailed(f"asked for opset {opset} but the exporter wrote opset {written} (conversion failed)")


def written_opset(path: Path) -> int | None:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    return None
