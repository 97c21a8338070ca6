"""Every export carries its project and the weights' origin; `workbench open` gets it back,
and a hostile embedded project can do no more than a hostile project file."""

from __future__ import annotations

import json
import zipfile

import onnx
import pytest
import torch

from tests.export.helpers import chain
from workbench.cli import main
from workbench.core.project import ProjectError, load_project
from workbench.export import export
from workbench.export.embedded_project import (BLOCK_END, BLOCK_START, PROJECT_KEY, WEIGHTS_KEY, NotEmbedded,
                                               read_embedded, source_block)
from workbench.export.open_command import recover_project
from workbench.export.weights import save_checkpoint


def _project():
    project = chain([6], [("Linear", {"out_features": 8}), ("ReLU", {}), ("Linear", {"out_features": 3})],
                    name="tiny 'quoted' \u00e9")
    project.training = {"epochs": 2, "seed": 5}
    return project


@pytest.mark.parametrize("fmt, name", [("onnx", "m.onnx"), ("torchscript", "m.pt"), ("pt2", "m.pt2"),
                                       ("python", "m.py")])
def test_each_format_carries_the_project_and_it_comes_back(tmp_path, fmt, name):
    project = _project()
    report = export(project, fmt, tmp_path / name)
    assert report.ok, report.text()
    embedded = read_embedded(tmp_path / name)
    assert embedded.project.to_dict() == project.to_dict()
    assert embedded.weights == {"source": "seed", "seed": 5}
    if fmt == "python":  # the block is comments at the very end: the source still compiles
        text = (tmp_path / name).read_text()
        assert text.rstrip().endswith(BLOCK_END) and BLOCK_START in text
        compile(text, name, "exec")
        assert max(len(line) for line in text.split(BLOCK_START)[1].splitlines()) <= 110
    out = tmp_path / "back.wbproj"
    assert main(["open", str(tmp_path / name), "-o", str(out)]) == 0
    assert load_project(out).to_dict()["graph"] == project.to_dict()["graph"]


def test_onnx_metadata_names_the_run_and_epoch(tmp_path):
    project = _project()
    run = tmp_path / "runs" / "tiny" / "20260101-000000"
    run.mkdir(parents=True)
    (run / "metrics.jsonl").write_text("")
    from workbench.export.model import build_model

    state = build_model(project).module.state_dict()
    save_checkpoint(run / "best.pt", state, epoch=7)
    export(project, "onnx", tmp_path / "m.onnx", weights=run / "best.pt")
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert json.loads(props[WEIGHTS_KEY]) == {"source": "run", "run": "20260101-000000", "file": "best.pt", "epoch": 7}
    assert json.loads(props[PROJECT_KEY])["name"] == project.name
    assert "epoch 7" in recover_project(tmp_path / "m.onnx").how


def _onnx_with(tmp_path, props):
    from onnx import helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)
    path = tmp_path / "h.onnx"
    onnx.save(model, str(path))
    return path


def test_hostile_embedded_projects_are_refused_like_project_files(tmp_path):
    deep = "[" * 5000 + "]" * 5000
    with pytest.raises(ProjectError, match="not valid JSON"):
        read_embedded(_onnx_with(tmp_path, {PROJECT_KEY: deep}))
    evil = {"format": "model-workbench-project", "version": 1, "name": "x",
            "graph": {"nodes": [{"id": "a", "type": "FxModule", "params": {
                "expr": {"call": "os:system", "args": ["touch /tmp/pwned"]}}}], "edges": []}}
    embedded = read_embedded(_onnx_with(tmp_path, {PROJECT_KEY: json.dumps(evil)}))
    from workbench.core.shapes import infer_shapes

    assert infer_shapes(embedded.project.graph).errors  # refused by the allow-list, as in a file
    with pytest.raises(ProjectError, match="newer"):
        read_embedded(_onnx_with(tmp_path, {PROJECT_KEY: json.dumps({**evil, "version": 99})}))
    archive = tmp_path / "big.pt"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("m/extra/model_workbench_project.json", "x")
        z.writestr("m/data.pkl", b"\x80")
    with pytest.raises(ProjectError, match="not valid JSON"):
        read_embedded(archive)


def test_a_file_without_a_project_falls_back_to_onnx_import(tmp_path):
    path = _onnx_with(tmp_path, {})
    with pytest.raises(NotEmbedded):
        read_embedded(path)
    recovered = recover_project(path)
    assert recovered.imported is not None and "imported it as ONNX" in recovered.how
    assert main(["open", str(path), "-o", str(tmp_path / "r.wbproj")]) == 0
    assert (tmp_path / "r.pt").is_file()
    (tmp_path / "w.pt").write_bytes(b"plain")
    assert main(["open", str(tmp_path / "w.pt"), "-o", str(tmp_path / "w.wbproj")]) == 2


def test_source_block_round_trips_any_text():
    texts = {PROJECT_KEY: json.dumps({"name": "a\nb # --- end"}, ensure_ascii=True) * 3}
    block = source_block(texts)
    assert all(line.startswith("#") for line in block.splitlines())
    torch.manual_seed(0)  # nothing random: the block is a pure function of the texts
    assert source_block(texts) == block
