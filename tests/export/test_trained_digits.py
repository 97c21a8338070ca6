"""A trained model, exported from its run folder, predicts what PyTorch predicts.

Trains digits_cnn for a few epochs with `workbench train` (in a subprocess: training sets
the process's thread count and signal handlers), exports the run folder to ONNX, and
compares onnxruntime's predicted classes with PyTorch's on the whole validation set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from workbench.core.shapes import infer_shapes
from workbench.data.load import load_data
from workbench.export import export
from workbench.export.model import build_model
from workbench.paths import EXAMPLES

from tests.export.helpers import example


def test_trained_digits_onnx_predicts_the_same_classes_as_pytorch(tmp_path):
    runs = tmp_path / "runs"
    done = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "train", str(EXAMPLES / "digits_cnn.wbproj"), "--epochs", "3",
         "--device", "cpu", "--runs-dir", str(runs)],
        capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (run_dir,) = [p for p in runs.glob("*/*") if p.is_dir()]
    assert (run_dir / "best.pt").is_file()

    project = example("digits_cnn")
    report = export(project, "onnx", tmp_path / "digits.onnx", weights=run_dir)
    assert report.ok, report.text()
    assert report.weights.startswith(f"loaded from checkpoint {run_dir / 'best.pt'}")

    result = infer_shapes(project.graph)
    inputs = {n.id: result.outputs[n.id][0] for n in project.graph.nodes_of_type("Input")}
    bundle = load_data(project.data, inputs, project.training["seed"], Path(EXAMPLES))
    (images,), labels = bundle.val_tensors
    assert len(images) == len(bundle.val) > 300  # the whole validation set, in one batch

    model = build_model(project, run_dir).module
    with torch.no_grad():
        torch_classes = model(images).argmax(1).numpy()
    session = ort.InferenceSession(report.path, providers=["CPUExecutionProvider"])
    onnx_classes = session.run(None, {"image": images.numpy()})[0].argmax(1)
    np.testing.assert_array_equal(onnx_classes, torch_classes)
    assert (torch_classes == labels.numpy()).mean() > 0.3  # it did learn something: not a blank model
