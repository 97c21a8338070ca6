"""export() options and guarantees: opset, static batch, output names, the JSON report,
refusals before any work, and files that are either complete or untouched."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from workbench.export import ExportError, export
from workbench.export import verify as verify_module

from tests.export.helpers import chain, example


@pytest.fixture
def project():
    return example("tabular_mlp")


def test_the_report_says_what_was_exported_and_verified(project, tmp_path):
    report = export(project, "onnx", tmp_path)
    artifact = tmp_path / "tabular_mlp.onnx"
    assert Path(report.path) == artifact and Path(report.report_path) == tmp_path / "tabular_mlp.onnx.report.json"
    saved = json.loads(Path(report.report_path).read_text())
    assert saved["format"] == "onnx" and saved["ok"] is True and saved["failure"] is None
    assert saved["size_bytes"] == artifact.stat().st_size > 0
    assert saved["opset"] == 20 and saved["exporter"] == "torchscript"
    assert saved["inputs"] == [{"name": "features", "shape": ["batch", 2], "dtype": "float32"}]
    assert saved["outputs"] == [{"name": "out", "shape": ["batch", 2], "dtype": "float32"}]
    assert saved["tolerance"] == 1e-4 and 0 <= saved["max_abs_diff"] <= 1e-4
    assert any("onnxruntime (CPU) matches PyTorch on 3 random batches (sizes 2, 7, 1)" in v for v in saved["verified"])
    assert any("onnx.checker" in v for v in saved["verified"])
    assert saved["versions"]["onnxruntime"] and saved["versions"]["torch"]
    assert set(saved["seconds"]) == {"preflight", "export", "verify"}
    text = report.text()
    assert "inputs:  features [batch, 2] float32" in text and "result: OK, verified" in text


def test_opset_is_choosable_and_written(project, tmp_path):
    report = export(project, "onnx", tmp_path / "m.onnx", opset=17)
    model = onnx.load(report.path)
    assert report.ok and report.opset == 17
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [17]


@pytest.mark.parametrize("opset", [3, 99])
def test_an_unsupported_opset_is_refused_up_front(project, tmp_path, opset):
    with pytest.raises(ExportError, match=f"opset {opset} is not supported by the installed exporters; choose 7 to 23"):
        export(project, "onnx", tmp_path / "m.onnx", opset=opset)
    assert list(tmp_path.iterdir()) == []


def test_static_batch_fixes_the_batch_at_one(project, tmp_path):
    report = export(project, "onnx", tmp_path / "m.onnx", static_batch=True)
    assert report.ok and report.batch_sizes == [1, 1, 1]
    assert report.inputs[0].shape == [1, 2] and report.outputs[0].shape == [1, 2]
    dims = onnx.load(report.path).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [1, 2]
    pt2 = export(project, "pt2", tmp_path / "m.pt2", static_batch=True)
    assert pt2.ok and pt2.inputs[0].shape == [1, 2]


def test_several_outputs_keep_their_node_ids(tmp_path):
    project = chain([6], [("Linear", {"out_features": 4})])
    graph = project.graph
    graph.add_node("relu", "ReLU")
    graph.connect("linear0", "relu")
    graph.add_node("y2", "Output")
    graph.connect("relu", "y2")
    report = export(project, "onnx", tmp_path / "two.onnx")
    assert report.ok, report.text()
    assert [t.name for t in report.outputs] == ["y", "y2"]


def test_a_graph_with_errors_names_the_node(tmp_path):
    project = chain([3, 8, 8], [("LSTM", {"hidden_size": 2})])
    with pytest.raises(ExportError) as caught:
        export(project, "torchscript", tmp_path / "m.torchscript")
    assert caught.value.node_id == "lstm0" and "Flatten" in str(caught.value)


@pytest.mark.parametrize(
    "fmt, out, kwargs, message",
    [
        ("tflite", "m.tflite", {}, "unknown format 'tflite'"),
        ("torchscript", "m.ts", {"opset": 17}, "--opset applies to ONNX only"),
        ("python", "model.txt", {}, "standalone source needs a .py file name"),
        ("pt2", "model.pt", {}, "torch.export archives must end in .pt2"),
        ("onnx", "m.onnx", {"onnx_exporter": "tf2onnx"}, "unknown ONNX exporter 'tf2onnx'"),
    ],
)
def test_mistakes_are_refused_before_any_work(project, tmp_path, fmt, out, kwargs, message):
    with pytest.raises(ExportError, match=message):
        export(project, fmt, tmp_path / out, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_export_leaves_the_previous_file_untouched(project, tmp_path):
    target = tmp_path / "m.onnx"
    target.write_bytes(b"previous version")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"nonsense")
    with pytest.raises(ExportError):
        export(project, "onnx", target, weights=bad)
    assert target.read_bytes() == b"previous version"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pt", "m.onnx"]


def test_a_verification_failure_keeps_the_file_and_says_why(project, tmp_path, monkeypatch):
    monkeypatch.setattr(verify_module, "TOLERANCE", -1.0)  # nothing can pass
    for fmt, name in [("onnx", "m.onnx"), ("torchscript", "m.torchscript"), ("pt2", "m.pt2"), ("state_dict", "m.pt")]:
        report = export(project, fmt, tmp_path / name)
        assert not report.ok, fmt
        assert "above the tolerance -1" in report.failure, (fmt, report.failure)
        assert (tmp_path / name).is_file()
        assert json.loads(Path(report.report_path).read_text())["ok"] is False
        assert "VERIFICATION FAILED" in report.text()
