"""Several processes on the CPU (gloo) under torchrun: FSDP (fully_shard) trains to the
metrics of one process on the same global batches and writes plain, full state dicts;
benchmarks/gpu_suite.py without CUDA says what it would run and exits 0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.gui.test_training_dashboard import moons

ROOT = Path(__file__).resolve().parents[2]


def _train(argv: list[str], timeout: int = 300) -> dict:
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if '"event": "epoch"' in line][-1]


@pytest.mark.slow
def test_fsdp_on_two_gloo_processes_matches_one_process_and_saves_full_weights(tmp_path):
    sharded, single = moons(epochs=2, batch_size=8), moons(epochs=2, batch_size=16)
    sharded["training"].update(strategy="fsdp", tensorboard=False)
    single["training"]["tensorboard"] = False
    (tmp_path / "fsdp.wbproj").write_text(json.dumps(sharded))
    (tmp_path / "one.wbproj").write_text(json.dumps(single))
    two = _train([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m",
                  "workbench.cli", "train", str(tmp_path / "fsdp.wbproj"), "--runs-dir", str(tmp_path / "a"), "--json"])
    one = _train([sys.executable, "-m", "workbench.cli", "train", str(tmp_path / "one.wbproj"), "--runs-dir",
                  str(tmp_path / "b"), "--json"])
    for key in ("train_loss", "val_loss", "val_accuracy"):
        assert two[key] == pytest.approx(one[key], rel=1e-4, abs=1e-6), key
    final = next((tmp_path / "a").rglob("final.pt"))
    state = torch.load(final, weights_only=True)["model"]
    assert {k: tuple(v.shape) for k, v in state.items()} == {
        "fc1.weight": (16, 2), "fc1.bias": (16,), "fc2.weight": (2, 16), "fc2.bias": (2,)}
    assert all(type(v) is torch.Tensor for v in state.values())  # gathered, not DTensor shards


@pytest.mark.skipif(torch.cuda.is_available(), reason="with CUDA the suite runs for minutes")
def test_the_gpu_suite_without_cuda_prints_its_plan_and_a_json_line():
    proc = subprocess.run([sys.executable, "benchmarks/gpu_suite.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert json.loads(lines[-1]) == {"name": "gpu_suite", "cuda": False}
    assert "throughput" in proc.stdout and "ddp" in proc.stdout and "telemetry_ratio" in proc.stdout
