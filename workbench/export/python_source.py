"""Standalone PyTorch source: `model.py` (the core's codegen plus a loader) and `model.pt`.

`model.py` defines the network as a plain nn.Module and a `load()` function that builds
it and loads the state dict saved beside it under the same stem (`model.pt`), so

    from model import load
    net = load()          # eval mode, exported weights

works in any environment that has torch (and torchaudio/torchvision where the model uses
them) — without this project. Verification proves exactly that: the pair is run in a
fresh interpreter started with `-I` (no PYTHONPATH, no user site, no current folder on
the path), from a folder outside the project, with `workbench` made unimportable, and
its outputs are compared with the model's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from workbench.core.codegen import doc_text, generate
from workbench.core.compile import CompileError
from workbench.export import verify
from workbench.export.embedded_project import source_block
from workbench.export.errors import ExportError
from workbench.export.model import BuiltModel
from workbench.export.report import ExportReport
from workbench.export.staging import Staging
from workbench.export.verify import Mismatch, max_abs_diff

__all__ = ["export_python", "loader_source", "run_isolated"]

_MAIN = 'if __name__ == "__main__":'
_TIMEOUT = 300  # seconds for the clean-interpreter check

# Runs in the clean interpreter: argv = model.py, inputs file, outputs file.
_RUNNER = r"""
import importlib.util, sys
sys.dont_write_bytecode = True  # leave nothing beside the exported files
sys.modules["workbench"] = None  # this project must not be needed: importing it now fails
import torch
path, inputs_file, outputs_file = sys.argv[1:4]
spec = importlib.util.spec_from_file_location("exported_model", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
model = module.load()
batches = torch.load(inputs_file, weights_only=True)
results = []
with torch.no_grad():
    for batch in batches:
        out = model(*batch)
        results.append((out,) if isinstance(out, torch.Tensor) else tuple(out))
torch.save(results, outputs_file)
"""


def loader_source(cls: str, weights_name: str) -> str:
    """`load()` for class `cls`; the weights file name (the user's choice) appears only escaped or as a literal."""
    return f'''def load(weights=None, map_location="cpu"):
    """Build {cls} with the weights exported beside this file ({doc_text(weights_name)}), in eval mode."""
    import os

    if weights is None:
        weights = os.path.join(os.path.dirname(os.path.abspath(__file__)), {weights_name!r})
    model = {cls}()
    model.load_state_dict(torch.load(weights, map_location=map_location, weights_only=True))
    return model.eval()
'''


def model_source(built: BuiltModel, weights_name: str) -> str:
    """The codegen file with `load()` added before its `__main__` block, which then uses it."""
    try:
        generated = generate(built.graph, built.project_name, built.result)
    except CompileError as exc:
        raise ExportError(exc.reason, node_id=exc.node_id) from None
    source, cls = generated.source, generated.class_name
    stub = loader_source(cls, weights_name)
    at = source.rfind(_MAIN)
    if at < 0:
        return source.rstrip() + "\n\n\n" + stub
    head, main = source[:at], source[at:]
    main = main.replace(f"model = {cls}().eval()", "model = load()", 1)
    return head.rstrip() + "\n\n\n" + stub + "\n\n" + main


def export_python(built: BuiltModel, target: Path, dynamic_batch: bool) -> ExportReport:
    report = built.new_report("python", target, dynamic_batch)
    report.tolerance = verify.TOLERANCE
    weights_name = target.with_suffix(".pt").name
    if weights_name == target.name:
        raise ExportError(f"{target}: the source file needs a .py name, so the weights can be saved beside it as .pt")
    start = time.perf_counter()
    source = model_source(built, weights_name) + "\n\n" + source_block(built.embedded)
    with Staging(target.parent) as stage:
        stage.path(target.name).write_text(source, encoding="utf-8")
        torch.save(built.module.state_dict(), str(stage.path(weights_name)))
        report.seconds["export"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        _verify(built, stage.path(target.name), dynamic_batch, report)
        report.seconds["verify"] = round(time.perf_counter() - start, 3)
        stage.commit()
    weights_path = target.with_name(weights_name)
    report.files = [str(target), str(weights_path)]
    report.size_bytes = target.stat().st_size
    report.total_bytes = report.size_bytes + weights_path.stat().st_size
    return report


def run_isolated(model_file: Path, batches) -> list[tuple[torch.Tensor, ...]]:
    """Run model_file's load() on `batches` in a clean interpreter; raises RuntimeError."""
    with tempfile.TemporaryDirectory(prefix="wb-clean-") as folder:
        inputs, outputs = Path(folder) / "inputs.pt", Path(folder) / "outputs.pt"
        torch.save([tuple(b) for b in batches], inputs)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        done = subprocess.run(
            [sys.executable, "-I", "-c", _RUNNER, str(model_file.resolve()), str(inputs), str(outputs)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
        )
        if done.returncode != 0:
            lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
            raise RuntimeError(lines[-1] if lines else f"exit status {done.returncode}")
        return torch.load(outputs, weights_only=True)


def _verify(built: BuiltModel, model_file: Path, dynamic_batch: bool, report: ExportReport) -> None:
    batches = built.batches(dynamic_batch)
    report.batch_sizes = [b[0].shape[0] for b in batches]
    try:
        results = run_isolated(model_file, batches)
    except subprocess.TimeoutExpired:
        report.failure = f"the exported files did not finish running within {_TIMEOUT} s in a clean interpreter"
        return
    except RuntimeError as exc:
        report.failure = f"the exported files fail in a clean interpreter: {exc}"
        return
    worst = 0.0
    try:
        for batch, got in zip(batches, results):
            with torch.no_grad():
                out = built.module(*batch)
            worst = max(worst, max_abs_diff((out,) if isinstance(out, torch.Tensor) else tuple(out), got))
    except Mismatch as exc:
        report.failure = f"the exported model gives different outputs: {exc}"
        return
    report.max_abs_diff = worst
    if worst > verify.TOLERANCE:
        report.failure = (
            f"the exported model differs from the project's by up to {worst:.3g}, above {verify.TOLERANCE:g}"
        )
        return
    report.ok = True
    sizes = ", ".join(str(s) for s in report.batch_sizes)
    report.verified.append(
        f"{model_file.name} + {model_file.with_suffix('.pt').name} run in a clean interpreter (python -I, this project "
        f"not importable, another working folder): outputs match on {len(batches)} random batches (sizes {sizes})"
    )
