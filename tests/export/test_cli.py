"""`workbench export`: exit 0 verified, 1 exported but not verified, 2 a mistake (one
`error:` line naming the node where there is one, never a traceback)."""

from __future__ import annotations

import json

import pytest

from workbench.cli import main
from workbench.export import verify as verify_module
from workbench.paths import EXAMPLES

TABULAR = str(EXAMPLES / "tabular_mlp.wbproj")


def run(capsys, *argv):
    code = main(["export", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_a_verified_export_exits_0_and_prints_its_report(capsys, tmp_path):
    code, out, err = run(capsys, TABULAR, "--format", "onnx", "-o", str(tmp_path / "m.onnx"))
    assert code == 0, err
    assert "exported tabular-mlp as ONNX" in out and "result: OK, verified" in out
    assert f"report: {tmp_path / 'm.onnx.report.json'}" in out
    assert json.loads((tmp_path / "m.onnx.report.json").read_text())["ok"] is True


def test_options_reach_the_export(capsys, tmp_path):
    code, out, _ = run(capsys, TABULAR, "--format", "onnx", "--opset", "18", "--static-batch", "-o", str(tmp_path))
    assert code == 0
    saved = json.loads((tmp_path / "tabular_mlp.onnx.report.json").read_text())
    assert saved["opset"] == 18 and saved["dynamic_batch"] is False and saved["inputs"][0]["shape"] == [1, 2]


def test_weights_from_a_run_folder(capsys, tmp_path):
    from workbench.export.model import build_model
    from workbench.export.weights import save_checkpoint
    from tests.export.helpers import example

    run_dir = tmp_path / "runs" / "tabular-mlp" / "20250101-000000"
    run_dir.mkdir(parents=True)
    save_checkpoint(run_dir / "final.pt", build_model(example("tabular_mlp")).module.state_dict(), epoch=3)
    argv = ["--format", "state_dict", "--weights", str(run_dir), "-o", str(tmp_path / "w.pt")]
    code, out, _ = run(capsys, TABULAR, *argv)
    assert code == 0
    assert f"weights: loaded from checkpoint {run_dir / 'final.pt'}, epoch 3" in out


def test_a_verification_failure_exits_1_and_keeps_the_file(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(verify_module, "TOLERANCE", -1.0)  # nothing can pass
    code, out, err = run(capsys, TABULAR, "--format", "onnx", "-o", str(tmp_path / "m.onnx"))
    assert code == 1
    assert "VERIFICATION FAILED" in out
    warning, failure = err.splitlines()  # no --weights: the initial weights are said to be so
    assert warning.startswith("warning: exported the initial weights")
    assert failure.startswith("verification failed: onnxruntime differs from PyTorch by up to")
    assert "above the tolerance -1" in failure
    assert (tmp_path / "m.onnx").is_file()
    assert json.loads((tmp_path / "m.onnx.report.json").read_text())["ok"] is False


def test_a_preflight_error_exits_2_naming_the_node(capsys, tmp_path):
    speech = str(EXAMPLES / "speech_mel_cnn.wbproj")
    code, out, err = run(capsys, speech, "--format", "onnx", "--opset", "16", "-o", str(tmp_path / "s.onnx"))
    assert code == 2 and out == ""
    assert err.startswith("error: mel: MelSpectrogram cannot be exported to ONNX opset 16: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--format", "onnx", "--weights", "{tmp}/missing.pt"], "error: {tmp}/missing.pt: no such file or folder"),
        (["--format", "onnx", "--weights", "{tmp}/junk.pt"], "error: {tmp}/junk.pt: not a PyTorch weights file"),
        (["--format", "pt2", "--opset", "17"], "error: --opset applies to ONNX only, not to pt2"),
        (["--format", "onnx", "--opset", "2"], "error: opset 2 is not supported"),
        (["--format", "keras"], "error: argument --format: invalid choice: 'keras'"),
        (["--format", "onnx", "--opset", "x"], "error: argument --opset: invalid int value: 'x'"),
    ],
)
def test_mistakes_exit_2_with_one_error_line(capsys, tmp_path, argv, message):
    (tmp_path / "junk.pt").write_text("not weights")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    with pytest.raises(SystemExit) if "argument" in message else _no_exit() as exited:
        code, out, err = run(capsys, TABULAR, *argv, "-o", str(tmp_path / "out.onnx"))
    if "argument" in message:
        assert exited.value.code == 2
        err = capsys.readouterr().err
    else:
        assert code == 2
    assert err.startswith(message.replace("{tmp}", str(tmp_path)))
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out.onnx").exists()


def test_a_missing_project_exits_2(capsys, tmp_path):
    code, _, err = run(capsys, str(tmp_path / "nope.wbproj"), "--format", "onnx", "-o", str(tmp_path / "m.onnx"))
    assert code == 2 and err.startswith("error: ") and "no such file" in err


class _no_exit:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_export_without_weights_warns_that_they_are_the_initial_ones(tmp_path, capsys):
    code = main(["export", TABULAR, "--format", "state_dict", "-o", str(tmp_path / "w.pt")])
    err = capsys.readouterr().err
    assert code == 0 and "warning: exported the initial weights" in err and "--weights" in err
