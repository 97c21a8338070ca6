"""`workbench predict` on image files: the digits CNN, PyTorch vs ONNX vs pt2, saliency, bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from tests.inference.predict_runs import example, train
from tests.training.run_projects import moons_project, train_run
from workbench.cli import main
from workbench.data.sources.digits import read_digits
from workbench.export import export as export_model
from workbench.inference.predict import PredictError, Predictor


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A 1-epoch digits run, and the first 24 digits written as PNG files (0..16 -> 0..255)."""
    tmp = tmp_path_factory.mktemp("digits")
    project = example(tmp, "digits_cnn", epochs=1)
    run, bundle = train(project, tmp / "runs")
    images, labels = read_digits()
    files = []
    for i in range(24):
        path = tmp / f"digit{i}_{labels[i]}.png"
        Image.fromarray((images[i].astype(np.float64) * 255 / 16).round().astype(np.uint8)).save(path)
        files.append(path)
    return project, run, bundle, files, images


def test_png_is_preprocessed_as_the_digits_source_does(digits):
    project, run, bundle, files, images = digits
    predictor = Predictor.open(project, run)
    assert (run / "preprocess.json").is_file() and predictor.note == ""
    assert predictor.modality == "image" and predictor.classes == [str(d) for d in range(10)]
    mean, std = bundle.extra["mean"][0], bundle.extra["std"][0]
    predictions = predictor.predict_files(files)
    for i, p in enumerate(predictions):
        expected = (torch.from_numpy(images[i].astype(np.float32) / 16.0) - mean) / std
        # the PNG rounds each 0..16 value to 0..255: at most half a grey level off
        assert torch.allclose(p.model_input[0], expected, atol=0.51 / 255 / std + 1e-6)
    direct = predictor.predict_tensors(torch.stack([p.model_input for p in predictions]))
    assert [p.top[0][0] for p in predictions] == [p.top[0][0] for p in direct]
    # a drawing pad's HxW float array in [0, 1] takes the same path
    drawn = predictor.predict_image_array(images[3].astype(np.float64) / 16.0)
    assert drawn.source == "drawing" and torch.allclose(drawn.model_input, predictions[3].model_input, atol=1e-5)


def test_cli_prints_top_k_with_class_names(digits, capsys):
    project, run, _, files, _ = digits
    assert main(["predict", str(project.path), "--weights", str(run), *map(str, files[:3]), "--top-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].startswith(files[0].name + ": ")
    assert len(lines[0].split(": ", 1)[1].split(", ")) == 3
    assert main(["predict", str(project.path), "--weights", str(run), str(files[0]), "--json", "--top-k", "10"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["kind"] == "classes" and sorted(t["class"] for t in row["top"]) == [str(d) for d in range(10)]
    assert abs(sum(t["probability"] for t in row["top"]) - 1) < 1e-6


def test_pytorch_onnx_pt2_and_torchscript_agree_on_top1(digits, tmp_path):
    project, run, _, files, _ = digits
    onnx, pt2, script = tmp_path / "m.onnx", tmp_path / "m.pt2", tmp_path / "m.pt"
    assert export_model(project, "onnx", onnx, weights=run).ok
    assert export_model(project, "pt2", pt2, weights=run).ok
    assert export_model(project, "torchscript", script, weights=run, static_batch=True).ok
    torch_top = [p.top[0] for p in Predictor.open(project, run).predict_files(files)]
    for path, kind in ((onnx, None), (pt2, "pt2"), (script, "torchscript")):
        predictor = Predictor.open(project, run, path, kind)
        assert str(path) in predictor.artifact_description
        tops = [p.top[0] for p in predictor.predict_files(files)]
        assert [t[0] for t in tops] == [t[0] for t in torch_top]
        assert np.allclose([t[1] for t in tops], [t[1] for t in torch_top], atol=1e-4)


def test_code_bearing_files_are_never_opened_by_guess(digits, tmp_path):
    project, run, _, _, _ = digits
    pt2 = tmp_path / "m.pt2"
    assert export_model(project, "pt2", pt2, weights=run).ok
    with pytest.raises(PredictError, match="never opened by guess"):
        Predictor.open(project, run, pt2)


def test_saliency_is_a_grad_cam_map_over_the_image(digits):
    project, run, _, files, _ = digits
    predictor = Predictor.open(project, run)
    p = predictor.predict_files(files[:1])[0]
    cam = predictor.saliency(p)
    assert cam.shape == (8, 8) and cam.min() >= 0 and cam.max() == pytest.approx(1.0)
    other = predictor.saliency(p.model_input, class_index=(int(p.top[0][0]) + 1) % 10)
    assert not np.allclose(cam, other)
    with pytest.raises(PredictError, match="class index"):
        predictor.saliency(p, class_index=10)


def test_bad_inputs_are_one_error_line(digits, tmp_path, capsys):
    project, run, _, files, _ = digits
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    moons = moons_project(tmp_path)
    moons_run = train_run(moons, tmp_path / "runs")
    moons_onnx = tmp_path / "moons.onnx"
    assert export_model(moons, "onnx", moons_onnx).ok
    cases = [
        (["--weights", str(run), str(text)], "notes.png: not an image file"),
        (["--weights", str(run), str(tmp_path / "missing.png")], "missing.png: no such file"),
        (["--weights", str(run), str(tmp_path)], "is a folder"),
        (["--weights", str(moons_run), str(files[0])], "the weights do not fit this model"),
        (["--weights", str(run), "--onnx", str(moons_onnx), str(files[0])], "moons.onnx: its input"),
        (["--weights", str(run), "--onnx", str(files[0]), str(files[0])], "not a model onnxruntime can load"),
        (["--weights", str(run), "-", ], "not standard input"),
        (["--weights", str(run), str(fifo)], "FIFO"),
        (["--weights", str(tmp_path / "no-run"), str(files[0])], "no-run: no such file or folder"),
    ]
    for args, message in cases:
        assert main(["predict", str(project.path), *args]) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], (args, err)
        assert "Traceback" not in err[0]
