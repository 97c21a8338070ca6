"""`workbench train` under torchrun: two CPU processes with gloo, one run folder, whole-set metrics."""

import json
import os
import subprocess
import sys

import pytest
import torch.distributed as dist

from workbench.core.project import load_project, save_project
from workbench.paths import EXAMPLES, ROOT
from workbench.training.distributed import DistInfo, detect


def test_detect_reads_torchrun_environment():
    assert detect({}) == DistInfo()
    info = detect({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"})
    assert info == DistInfo(4, 3, 1, 2) and info.enabled and not info.is_main


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="needs torch.distributed with gloo")
def test_two_processes_with_gloo(tmp_path):
    project = load_project(EXAMPLES / "tabular_mlp.wbproj")
    path = save_project(project, tmp_path / "moons.wbproj")
    runs = tmp_path / "runs"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "workbench.cli", "train", str(path), "--epochs", "2", "--device", "cpu", "--runs-dir", str(runs),
         "--json"],
        capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    start = [e for e in events if e["event"] == "fit_start"]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert len(start) == 1 and start[0]["world_size"] == 2  # rank 0 alone prints
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert start[0]["steps_per_epoch"] == 25  # 1,600 samples / 2 ranks / 32 per batch
    assert epochs[-1]["val_samples"] == 400  # each rank saw half; the sums were all-reduced
    assert epochs[-1]["val_accuracy"] > 0.9
    (run,) = (runs / "tabular-mlp").iterdir()
    assert {p.name for p in run.iterdir()} >= {"metrics.jsonl", "checkpoint.pt", "final.pt", "project.wbproj"}
    assert len(list(runs.rglob("metrics.jsonl"))) == 1
