"""Smoke test of benchmarks/lm_throughput.py: it runs end to end and its closing JSON line
holds every figure the README names, each a positive number."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # ~40 s here: a few training steps, an ONNX export, generation with both back ends
def test_lm_throughput_quick_prints_its_figures_as_one_json_line():
    # the cache and data folders are the test's own (conftest's environment, inherited)
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "lm_throughput.py"), "--quick", "--threads", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["name"] == "lm_throughput"
    assert figures["budget"] == 1.05
    lo, hi = figures["ratio_spread"]
    assert 0 < lo <= figures["ratio"] <= hi
    for key in ("tokens_per_s", "hand_tokens_per_s"):
        assert math.isfinite(figures[key]) and figures[key] > 0, key
    assert set(figures["gen_tokens_per_s"]) == {"pytorch", "onnxruntime"}
    assert all(rate > 0 for rate in figures["gen_tokens_per_s"].values())
    assert all(0 < n <= 20 for n in figures["gen_tokens"].values())
    assert figures["loss_diff"] < 1e-3, "the two loops must train the same model on the same windows"
    assert figures["parameters"] > 500_000 and figures["context"] == 128
    assert any(line.startswith("trainer ") for line in lines)  # the readable table came first
