"""Honest failure states: a run that cannot write says which checkpoint really is on disk
(read back from the file) or that there is none; SIGTERM and SIGHUP stop `workbench train`
as Ctrl-C does, leaving state "stopped", final weights and a message in the run folder."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from tests.training.helpers import make_trainer
from workbench.cli import main
from workbench.core.project import load_project, save_project
from workbench.paths import EXAMPLES
from workbench.training import checkpoint, commands
from workbench.training.control import RunControl
from workbench.training.runs import read_run, resume_refusal

ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
REPO = Path(__file__).resolve().parents[2]


def fail_checkpoint_write(monkeypatch, name: str, at: int) -> list:
    """The `at`-th write of run file `name` (checkpoint.pt, final.pt...) finds the disk full."""
    real = checkpoint.atomic_write_bytes
    writes = []

    def writer(path, payload):
        if Path(path).name == name:
            writes.append(path)
            if len(writes) == at:
                raise OSError(ENOSPC.errno, ENOSPC.strerror)
        return real(path, payload)

    monkeypatch.setattr(checkpoint, "atomic_write_bytes", writer)
    return writes


def fit(tmp_path, epochs=3):
    trainer = make_trainer({"epochs": epochs}, run_dir=tmp_path / "run")
    result = trainer.fit()
    trainer.run.close()
    return result, read_run(tmp_path / "run")


def test_disk_full_at_the_second_checkpoint_names_epoch_1_as_read_back(tmp_path, monkeypatch):
    fail_checkpoint_write(monkeypatch, "checkpoint.pt", at=2)
    result, info = fit(tmp_path)
    assert result.state == "failed" and result.failure.kind == "checkpoint" and result.epochs_done == 2
    assert result.message == ("could not write checkpoint.pt: No space left on device; the previous checkpoint is "
                              "intact (checkpoint.pt holds epoch 1): free some disk space and resume the run")
    assert result.saved == (1, 0) and checkpoint.load(tmp_path / "run" / "checkpoint.pt")["epoch"] == 1
    assert (info.state, info.message) == ("failed", result.message)  # what the run folder says
    assert resume_refusal(info) == "" and not (tmp_path / "run" / "final.pt").exists()
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.endswith(".tmp")]


def test_disk_full_at_the_first_checkpoint_says_there_is_none(tmp_path, monkeypatch):
    fail_checkpoint_write(monkeypatch, "checkpoint.pt", at=1)
    result, info = fit(tmp_path)
    assert result.state == "failed" and result.saved is None
    assert result.message == ("could not write checkpoint.pt: No space left on device; no checkpoint was saved, so "
                              "the run cannot resume: free some disk space and train again")
    assert "intact" not in result.message and "epoch 1" not in result.message
    assert (info.state, info.message) == ("failed", result.message)
    assert not (tmp_path / "run" / "checkpoint.pt").exists()
    assert resume_refusal(info).startswith("no checkpoint was saved")


def test_a_corrupt_checkpoint_on_disk_counts_as_none(tmp_path, monkeypatch):
    """The message comes from the file, not from what the Trainer meant to write."""
    real = checkpoint.atomic_write_bytes

    def writer(path, payload):
        if Path(path).name == "checkpoint.pt" and Path(path).exists():
            Path(path).write_bytes(b"garbage")  # as if the disk mangled it
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(path, payload)

    monkeypatch.setattr(checkpoint, "atomic_write_bytes", writer)
    result, _ = fit(tmp_path)
    assert result.message == ("could not write checkpoint.pt: Input/output error; no checkpoint was saved, so the run "
                              "cannot resume: fix the cause and train again")


def test_final_weights_that_cannot_be_written_name_the_last_checkpoint(tmp_path, monkeypatch):
    fail_checkpoint_write(monkeypatch, "final.pt", at=1)
    result, info = fit(tmp_path, epochs=2)
    assert result.state == "failed" and info.state == "failed"
    assert result.message == ("could not write final.pt: No space left on device; the previous checkpoint is intact "
                              "(checkpoint.pt holds epoch 2): free some disk space and resume the run")


def test_metrics_that_cannot_be_written_end_the_run_naming_the_checkpoint(tmp_path):
    trainer = make_trainer({"epochs": 3}, run_dir=tmp_path / "run")
    real = trainer.run._metrics

    class FillsOnEpoch2:
        """metrics.jsonl's handle: the epoch-2 line finds the disk full, later lines get room."""

        closed = False

        def write(self, text):
            if '"event": "epoch"' in text and '"epoch": 2,' in text:
                raise OSError(ENOSPC.errno, ENOSPC.strerror)
            real.write(text)

        def flush(self):
            real.flush()

        def close(self):
            real.close()

    trainer.run._metrics = FillsOnEpoch2()
    result = trainer.fit()
    trainer.run.close()
    assert result.failure.kind == "write"
    assert result.message == ("could not write metrics.jsonl: No space left on device; the previous checkpoint is "
                              "intact (checkpoint.pt holds epoch 1): free some disk space and resume the run")
    info = read_run(tmp_path / "run")
    assert (info.state, info.epochs_done) == ("failed", 1)


def project_copy(tmp_path, example="digits_cnn", **training):
    project = load_project(EXAMPLES / f"{example}.wbproj")
    project.training.update(training)
    return str(save_project(project, tmp_path / f"{example}.wbproj"))


def test_the_cli_says_there_is_no_checkpoint_instead_of_inventing_one(tmp_path, monkeypatch, capsys):
    fail_checkpoint_write(monkeypatch, "checkpoint.pt", at=1)
    code = main(["train", project_copy(tmp_path, "tabular_mlp"), "--epochs", "2", "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    (run,) = (tmp_path / "runs" / "tabular-mlp").iterdir()
    assert code == commands.EXIT_FAILED
    assert err.splitlines() == [
        "error: training failed: could not write checkpoint.pt: No space left on device; no checkpoint was saved, "
        "so the run cannot resume: free some disk space and train again",
        f"run folder: {run} (no checkpoint on disk: the run cannot resume)",
    ]


def test_the_cli_names_the_checkpoint_read_back_from_disk(tmp_path, monkeypatch, capsys):
    fail_checkpoint_write(monkeypatch, "checkpoint.pt", at=2)
    code = main(["train", project_copy(tmp_path, "tabular_mlp"), "--epochs", "3", "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    (run,) = (tmp_path / "runs" / "tabular-mlp").iterdir()
    assert code == commands.EXIT_FAILED
    assert err.splitlines()[-1] == f"run folder: {run} (last checkpoint: epoch 1; resume it with --resume)"


def test_train_puts_the_signal_handlers_back(tmp_path):
    before = {s: signal.getsignal(s) for s in commands.STOP_SIGNALS}
    assert main(["train", project_copy(tmp_path, "tabular_mlp"), "--epochs", "1", "--runs-dir", str(tmp_path)]) == 0
    assert {s: signal.getsignal(s) for s in commands.STOP_SIGNALS} == before


def test_no_handlers_are_installed_off_the_main_thread():
    before = {s: signal.getsignal(s) for s in commands.STOP_SIGNALS}
    got = []
    thread = threading.Thread(target=lambda: got.append(commands._stop_on_signals(RunControl())))
    thread.start()
    thread.join()
    assert got == [{}] and {s: signal.getsignal(s) for s in commands.STOP_SIGNALS} == before


def events(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def wait_for_line(process, pattern: str, timeout: float) -> list[str]:
    """Lines of stdout up to the first that matches `pattern`."""
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if re.match(pattern, line):
            return lines
    raise AssertionError(f"no {pattern!r} within {timeout} s; got {lines}")


@pytest.mark.slow  # a fresh interpreter importing torch: ~40 s on a busy 2-core machine
@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)])
def test_a_signal_stops_workbench_train_like_ctrl_c(tmp_path, signum):
    runs = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "train", project_copy(tmp_path), "--epochs", "200",
         "--runs-dir", str(runs), "--device", "cpu"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    try:
        wait_for_line(process, r"epoch +1/200 ", timeout=120)  # the first epoch is logged
        process.send_signal(signum)
        sent, sent_at = time.monotonic(), time.time()
        out, err = process.communicate(timeout=30)
        waited = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    name = signal.Signals(signum).name
    assert process.returncode == commands.EXIT_STOPPED, err
    # the run stops at once; the process then exits as after a completed run (torch's teardown
    # alone took ~8 s on a 2-core machine at load 9, so the bound is loose)
    assert waited < 20
    assert f"{name}: stopping after this batch ({name} again to abort)" in err
    assert "resume with: workbench train" in out
    (run,) = (runs / "digits-cnn").iterdir()
    info = read_run(run)
    assert info.state == "stopped" and info.message.startswith(f"stopped by {name} after epoch ")
    stopped = [e for e in events(run) if e.get("event") == "state" and e.get("state") == "stopped"]
    assert len(stopped) == 1 and stopped[0]["time"] - sent_at < 5
    final = checkpoint.load(run / "final.pt")
    assert isinstance(final["model"], dict) and all(isinstance(v, torch.Tensor) for v in final["model"].values())
    assert checkpoint.saved_position(run / "checkpoint.pt")[0] >= 1
    assert resume_refusal(info) == ""
