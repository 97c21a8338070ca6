"""ONNX import: files exported here from torchvision models and from our own export, run
back through onnx2torch and the fx importer and held against onnxruntime and the original."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest
import torch
from onnx import helper, numpy_helper

from workbench.cli import main
from workbench.core.compile import compile_graph
from workbench.core.fx_trace import ImportFailure
from workbench.core.onnx_import import import_onnx
from workbench.core.project import load_project
from workbench.core.summary import summarize


def _randomise(model: torch.nn.Module) -> torch.nn.Module:
    """Non-zero everywhere (torchvision zero-initialises some heads, which would hide mistakes)."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.1)
    return model.eval()


def _export(model, path, shape=(3, 32, 32), opset=17):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, *shape),), str(path), input_names=["x"],
                          dynamic_axes={"x": {0: "N"}}, opset_version=opset, dynamo=False)
    return path


def _check_against_original(imported, model, shape=(3, 32, 32)):
    result = imported.result
    compiled = compile_graph(result.project.graph, result.project.name)
    compiled.load_state_dict(result.state_dict)
    compiled.eval()
    x = torch.randn(4, *shape)
    with torch.no_grad():
        expected, got = model(x), compiled(x)
    return float((expected - got).abs().max())


def _vit():
    from torchvision.models import VisionTransformer

    return _randomise(VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32,
                                        mlp_dim=64, num_classes=10))


def test_small_vit_imports_and_matches_onnxruntime(tmp_path):
    model = _vit()
    imported = import_onnx(_export(model, tmp_path / "vit.onnx"))
    assert imported.result.problems == []
    assert imported.max_diff is not None and imported.max_diff <= 1e-4, imported.text()
    assert imported.ok
    assert _check_against_original(imported, model) <= 1e-4
    assert "matches the file in onnxruntime" in imported.text()


@pytest.mark.slow
@pytest.mark.parametrize("factory", ["resnet18", "mobilenet_v3_small"])
def test_torchvision_models_import_with_their_weights(tmp_path, factory):
    import torchvision

    model = _randomise(getattr(torchvision.models, factory)())
    imported = import_onnx(_export(model, tmp_path / f"{factory}.onnx"))
    assert imported.ok, imported.text()
    assert imported.params == imported.file_params  # every initialiser became a weight, once
    assert _check_against_original(imported, model) <= 1e-4


def test_own_export_round_trip_same_outputs_and_parameters(tmp_path):
    from workbench.export import export
    from workbench.export.model import build_model
    from tests.export.helpers import chain

    project = chain([3, 12, 12], [("Conv2d", {"out_channels": 6, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
                                  ("MaxPool2d", {"kernel_size": 2}), ("Flatten", {}),
                                  ("Linear", {"out_features": 5})], name="roundtrip")
    report = export(project, "onnx", tmp_path / "rt.onnx")
    assert report.ok
    target = tmp_path / "rt.wbproj"
    assert main(["import", str(tmp_path / "rt.onnx"), "-o", str(target)]) == 0
    back = load_project(target)
    assert summarize(back.graph).total_params == summarize(project.graph).total_params
    assert back.extra["imported"]["weights"] == "rt.pt"
    original = build_model(project).module
    restored = build_model(back, tmp_path / "rt.pt").module
    x = torch.randn(3, 3, 12, 12)
    with torch.no_grad():
        assert torch.allclose(original(x), restored(x), atol=1e-5)


def _tiny_model(nodes, initialisers=(), opset=17, domain=""):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 4])],
                              initializer=list(initialisers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid(domain, opset)])


def test_unsupported_operators_are_all_named_in_one_error(tmp_path):
    model = _tiny_model([helper.make_node("Hardmax", ["x"], ["a"]), helper.make_node("Celu", ["a"], ["b"]),
                         helper.make_node("Shrink", ["b"], ["y"])], opset=13)
    onnx.save(model, tmp_path / "odd.onnx")
    with pytest.raises(ImportFailure) as caught:
        import_onnx(tmp_path / "odd.onnx")
    message = str(caught.value)
    assert "2 operator(s)" in message and "Hardmax (opset 13)" in message and "Shrink (opset" in message


def test_custom_domains_and_outside_external_data_are_refused(tmp_path):
    custom = _tiny_model([helper.make_node("Evil", ["x"], ["y"], domain="com.example")])
    custom.opset_import.append(helper.make_opsetid("com.example", 1))
    onnx.save(custom, tmp_path / "custom.onnx")
    with pytest.raises(ImportFailure, match="operator domain"):
        import_onnx(tmp_path / "custom.onnx")

    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(4, np.float32).tobytes())
    weight = numpy_helper.from_array(np.ones(4, np.float32), "w")
    model = _tiny_model([helper.make_node("Add", ["x", "w"], ["y"])], [weight])
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    for key, value in (("location", "../secret.bin"), ("length", "16")):
        tensor.external_data.add(key=key, value=value)
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "m.onnx").write_bytes(model.SerializeToString())
    with pytest.raises(ImportFailure, match="not a file beside the model"):
        import_onnx(folder / "m.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\xff" * 64)
    with pytest.raises(ImportFailure, match="not an ONNX model"):
        import_onnx(tmp_path / "junk.onnx")


def test_external_data_beside_the_model_is_read(tmp_path):
    weight = numpy_helper.from_array(np.arange(4, dtype=np.float32), "w")
    model = _tiny_model([helper.make_node("Add", ["x", "w"], ["y"])], [weight])
    onnx.save(model, tmp_path / "m.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
              location="m.data", size_threshold=0)
    imported = import_onnx(tmp_path / "m.onnx")
    assert imported.ok, imported.text()


def test_cli_import_onnx_mistake_is_one_error_line(tmp_path, capsys):
    (tmp_path / "bad.onnx").write_bytes(b"not protobuf at all")
    assert main(["import", str(tmp_path / "bad.onnx"), "-o", str(tmp_path / "x.wbproj")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1
