import json

import pytest

from workbench.cli import main
from workbench.core.project import load_project, save_project
from workbench.paths import EXAMPLES


def project_copy(tmp_path, example="tabular_mlp", **training):
    project = load_project(EXAMPLES / f"{example}.wbproj")
    project.training.update(training)
    return str(save_project(project, tmp_path / f"{example}.wbproj"))


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_train_json_events_then_runs_lists_it(tmp_path, capsys):
    runs = tmp_path / "runs"
    code = main(["train", project_copy(tmp_path), "--epochs", "2", "--runs-dir", str(runs), "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    events = json_lines(out)
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert {"train_loss", "val_loss", "val_accuracy"} <= set(epochs[-1]) and epochs[-1]["val_accuracy"] > 0.8
    assert events[-1]["event"] == "state" and events[-1]["state"] == "completed"
    (run,) = (runs / "tabular-mlp").iterdir()
    assert (run / "final.pt").is_file() and (run / "project.wbproj").is_file()
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["epoch"] == 2 and sum(map(sum, evaluation["matrix"])) == evaluation["samples"]

    assert main(["runs", str(runs)]) == 0
    listing = capsys.readouterr().out
    assert "tabular-mlp/" in listing and "completed" in listing and "2/2" in listing and "val_accuracy" in listing


def test_train_plain_lines_when_not_a_terminal_and_resume(tmp_path, capsys):
    runs = tmp_path / "runs"
    path = project_copy(tmp_path, epochs=1)
    assert main(["train", path, "--runs-dir", str(runs), "--batch-size", "50"]) == 0
    out = capsys.readouterr().out
    assert "training tabular-mlp on cpu" in out and "epoch 1/1  train_loss" in out and "\r" not in out
    (run,) = (runs / "tabular-mlp").iterdir()
    assert main(["train", path, "--resume", str(run), "--epochs", "2", "--json"]) == 0
    events = json_lines(capsys.readouterr().out)
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [2]
    assert [e["state"] for e in events if e["event"] == "state"] == ["starting", "resumed", "running", "completed"]
    assert len(list((runs / "tabular-mlp").iterdir())) == 1  # resumed in place


def test_failed_run_exits_3_with_the_message(tmp_path, capsys):
    path = project_copy(tmp_path, optimizer={"type": "SGD", "lr": 1e30})
    code = main(["train", path, "--epochs", "2", "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 3
    assert err.startswith("error: training failed: the loss became") and "at step" in err
    assert "first non-finite values in node" in err  # traced to the layer where it began
    assert "Traceback" not in err


@pytest.mark.parametrize("args, message", [
    (["train", "missing.wbproj"], "no such file"),
    (["train", "{p}", "--epochs", "0"], "--epochs: must be at least 1"),
    (["train", "{p}", "--resume", "{tmp}/nowhere"], "no such run folder"),
    (["train", "{bad}"], "training.optimizer.lr: must be a positive number"),
    (["train", "{p}", "--device", "tpu"], "argument --device: invalid choice"),
    (["runs", "{tmp}/nowhere"], "no such folder"),
])
def test_user_mistakes_exit_2_with_one_error_line(tmp_path, capsys, args, message):
    p = project_copy(tmp_path)
    bad = project_copy(tmp_path, "digits_cnn", optimizer={"type": "Adam", "lr": -1})
    args = [a.format(p=p, bad=bad, tmp=tmp_path) for a in args] + ["--runs-dir", str(tmp_path / "r")] * (args[0] == "train")
    code = run_cli(args)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").rglob("checkpoint.pt"))



def run_cli(args):
    try:
        return main(args)
    except SystemExit as exc:  # argparse's own errors exit from inside
        return exc.code


def test_progress_bar_on_a_terminal_redraws_one_line():
    import io

    from workbench.training.console import ConsolePrinter, format_duration

    stream = io.StringIO()
    printer = ConsolePrinter(stream, bar=True)
    printer.on_event(None, {"event": "fit_start", "project": "p", "device": "cpu", "amp": "off", "world_size": 1,
                            "parameters": 10, "train_samples": 100, "val_samples": 20, "batch_size": 10,
                            "epochs": 2, "run_dir": None})
    printer.on_event(None, {"event": "step", "epoch": 1, "batch": 5, "batches": 10, "loss": 0.5,
                            "samples_per_s": 1000.0, "eta_s": 75.0})
    printer.on_event(None, {"event": "epoch", "epoch": 1, "epochs": 2, "train_loss": 0.4, "val_loss": 0.3,
                            "val_accuracy": 0.9, "lr": 0.001, "seconds": 1.5, "eta_s": 1.5, "improved": True})
    text = stream.getvalue()
    bar = [part for part in text.split("\r") if "5/10" in part]
    assert bar and bar[0].startswith("epoch 1/2 ") and "loss 0.5 1,000 samples/s ETA 1:15" in bar[0]  # tqdm's bar
    assert "(* after a line: the monitored metric improved" in text
    assert text.endswith("epoch 1/2  train_loss 0.4  val_loss 0.3  val_accuracy 90.00%  lr 0.001  1.5s  ETA 0:02 *\n")
    assert format_duration(3725) == "1:02:05" and format_duration(None) == "?"


def test_runs_json_lists_each_run(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["train", project_copy(tmp_path, epochs=1), "--runs-dir", str(runs), "--json"]) == 0
    capsys.readouterr()
    assert main(["runs", str(runs), "--json"]) == 0
    (info,) = json_lines(capsys.readouterr().out)
    assert info["project"] == "tabular-mlp" and info["state"] == "completed" and info["epochs_done"] == 1
    assert info["metrics"]["val_accuracy"] > 0.5 and info["best"]["metric"] == "val_loss"


def test_default_runs_folder_is_beside_the_project_file(tmp_path, monkeypatch, capsys):
    path = project_copy(tmp_path, epochs=1)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")  # not the working directory: the project's own folder
    monkeypatch.delenv("WORKBENCH_RUNS_DIR", raising=False)
    assert main(["train", path]) == 0
    (run,) = (tmp_path / "tabular_mlp.runs").iterdir()
    assert list((tmp_path / "cwd").iterdir()) == []
    capsys.readouterr()
    assert main(["runs", path]) == 0 and run.name in capsys.readouterr().out
